"""The one error shape every client sees, over HTTP and over the WebSocket.

Every error a client can cause is a :class:`ClientError` (or a subclass defined next to the code that
raises it). It carries a stable machine ``code``, a human ``message`` and the HTTP status it maps to.
Both transports serialise it with :meth:`ClientError.to_dict`, so a script handles errors one way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClientError", "ProtocolError", "error_body"]


class ClientError(Exception):
    """A refusal caused by the client: bad input, wrong phase, wrong key, too fast."""

    status: int = 400
    op: str = ""
    """The refused command's operation id, set by the boundary as soon as the frame parsed far enough to read
    a valid one: the refusal then reaches the client waiting for that op instead of leaving it hanging."""

    def __init__(self, code: str, message: str, *, status: int | None = None, op: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        if op:
            self.op = op

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ProtocolError(ClientError):
    """A message that is not valid protocol: not JSON, unknown type, missing or mistyped field."""


def error_body(code: str, message: str) -> dict[str, Any]:
    """The JSON body of an HTTP error: ``{"error": {"code": ..., "message": ...}}``."""
    return {"error": {"code": code, "message": message}}
