"""Every WebSocket close code the server uses, in one table (docs/protocol.md lists them for clients).

After a refusal the server sends the error shape first, then closes with one of these; a client decides from
the code whether to reconnect at once (4008, 4010, 1011, 1012), after a while (4429, 4003) or not at all (4004).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CloseCode"]


class CloseCode(IntEnum):
    IDLE = 4000
    """Nothing heard for the idle timeout (or no hello within the hello timeout)."""
    FORBIDDEN = 4003
    """Wrong host key, or too many failed attempts from this address."""
    UNKNOWN_MEETING = 4004
    """No meeting with that code."""
    TOO_SLOW = 4008
    """The client did not read fast enough; reconnect with ``since`` to resync."""
    RELOAD = 4010
    """The meeting's record changed under it (a participant's data was erased): reconnect at once, without
    ``since``, for a fresh snapshot."""
    FLOOD = 4029
    """Kept sending faster than the rate limit after being warned."""
    BAD_HELLO = 4400
    """The first message is not a valid hello, or the room refused the join."""
    TOO_MANY = 4429
    """Too many live connections, or too many new participants, from this address."""
    INTERNAL = 1011
    """WebSocket's "internal error": the server failed to write to this client; reconnect."""
    INVALID_UTF8 = 1007
    """A text frame that is not UTF-8 (closed by the server's WebSocket layer)."""
    TOO_BIG = 1009
    """A frame over 1 MiB (closed by the server's WebSocket layer)."""
