"""Who may reach a meeting, and how fast: the admission policy of HTTP and the WebSocket alike, without I/O.

Guessing a meeting code or a host key means many failures from one address; after :data:`MAX_FAILURES`
failures within :data:`WINDOW` seconds an address is refused until the window passes, except for requests
that prove a secret of the meeting (its host key, a returning phone's token): a venue's Wi-Fi puts hundreds
of phones behind one address, and one guesser there must not lock out the host or the phones already in the
meeting (docs/security.md). :class:`CodeGate` is that policy, once, for ``/api/meetings/{code}...`` and for
``/ws/{code}``; :func:`host_key_refusal` is the wrong-key rule both share.

Every table here is bounded (oldest keys forgotten first), so a spray of addresses cannot grow memory; every
limiter takes its clock, so tests move time by hand.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from facilitation.core.codes import normalize_code
from facilitation.core.errors import ClientError

__all__ = [
    "MAX_FAILURES",
    "WINDOW",
    "AddressCounter",
    "AttemptLimiter",
    "CodeGate",
    "CommandLimiter",
    "JoinLimiter",
    "RateLimiter",
    "TokenBucket",
    "host_key_refusal",
]

MAX_FAILURES = 20
WINDOW = 60.0
MAX_ADDRESSES = 100_000
PARTICIPANT_RATE = 20.0
PARTICIPANT_BURST = 60.0
"""A phone may send 20 commands a second, and 60 at once when its offline queue replays."""

Clock = Callable[[], float]


class TokenBucket:
    """``rate`` actions per second on average with bursts of ``burst``: an offline queue may replay."""

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def take(self) -> bool:
        now = self._clock()
        tokens = self._tokens + (now - self._stamp) * self.rate
        if tokens > self.burst:  # not min(): every frame and every command takes a token
            tokens = self.burst
        self._stamp = now
        if tokens >= 1:
            self._tokens = tokens - 1
            return True
        self._tokens = tokens
        return False


class AttemptLimiter:
    """Counts failures (unknown code, wrong host key) per address in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW, clock: Clock = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def allowed(self, address: str) -> bool:
        stamps = self._failures.get(address)
        if not stamps:
            return True
        cutoff = self._clock() - self.window
        while stamps and stamps[0] < cutoff:
            stamps.pop(0)
        return len(stamps) < self.max_failures

    def failed(self, address: str) -> None:
        stamps = self._failures.setdefault(address, [])
        self._failures.move_to_end(address)
        stamps.append(self._clock())
        del stamps[: -self.max_failures]
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)


class RateLimiter:
    """At most ``limit`` actions per address in any ``window`` seconds (a sliding window); ``limit`` 0 means
    no limit. Used for meeting creation: cheap for a venue (a host creates a few meetings), a wall for a
    script creating hundreds a second. Bounded like :class:`AttemptLimiter`."""

    def __init__(self, limit: int, window: float = WINDOW, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._stamps: OrderedDict[str, deque[float]] = OrderedDict()

    def allowed(self, address: str) -> bool:
        """Whether ``address`` is within the limit now (nothing counted: see :meth:`take`)."""
        if self.limit <= 0:
            return True
        stamps = self._recent(address)
        return stamps is None or len(stamps) < self.limit

    def take(self, address: str) -> bool:
        """Count one action for ``address`` if it is within the limit; False (nothing counted) if not."""
        if not self.allowed(address):
            return False
        if self.limit > 0:
            stamps = self._stamps.get(address)
            if stamps is None:
                stamps = self._stamps[address] = deque()
            self._stamps.move_to_end(address)
            stamps.append(self._clock())
            while len(self._stamps) > MAX_ADDRESSES:
                self._stamps.popitem(last=False)
        return True

    def _recent(self, address: str) -> deque[float] | None:
        stamps = self._stamps.get(address)
        if stamps is not None:
            cutoff = self._clock() - self.window
            while stamps and stamps[0] <= cutoff:
                stamps.popleft()
        return stamps


class AddressCounter:
    """Open live connections per client address, capped (a venue's phones share one address)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, address: str) -> bool:
        count = self._open.get(address, 0)
        if count >= self.limit:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)

    def count(self, address: str) -> int:
        return self._open.get(address, 0)


class JoinLimiter:
    """New participants per meeting per address: a token bucket each (bounded table, oldest forgotten)."""

    MAX_KEYS = 100_000

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def allow(self, code: str, address: str) -> bool:
        key = (code, address)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_KEYS:
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
        return bucket.take()


class CommandLimiter:
    """Commands per participant of a meeting, whatever connection they come from: a token bucket each (bounded
    table, oldest forgotten: a forgotten participant starts again with a full burst). One flooding phone is
    refused, everyone else is unaffected."""

    MAX_KEYS = 200_000

    def __init__(self, rate: float = PARTICIPANT_RATE, burst: float = PARTICIPANT_BURST,
                 clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[tuple[str, int], TokenBucket] = {}

    def allow(self, code: str, participant: int) -> bool:
        return self.bucket(code, participant).take()

    def bucket(self, code: str, participant: int) -> TokenBucket:
        """The participant's bucket, which every connection of theirs takes from: a connection may keep it
        (one lookup per connection, not per command). Kept after the table forgot it, it still limits that
        connection, and the participant's other connections start a new one with a full burst, as any
        forgotten participant does."""
        key = (code, participant)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_KEYS:
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
        return bucket


class CodeGate:
    """The admission of one request (or connection) naming a meeting code, from one address.

    Used in three steps, whatever the transport: :meth:`look_up` (the code to find, or the refusal), then
    :meth:`unknown` when no meeting has that code, or :meth:`found` with whether the request proved a secret
    of the meeting. A blocked address is refused alike whether the code exists or not, unless it proves a
    secret, so it learns nothing about codes; an unknown code counts as a failed attempt."""

    def __init__(self, attempts: AttemptLimiter, address: str, raw_code: str) -> None:
        self._attempts = attempts
        self.address = address
        self.raw_code = raw_code
        self.blocked = not attempts.allowed(address)
        """Too many failures from this address: only a request proving a secret gets in."""

    def look_up(self, has_secret: bool) -> str:
        """The normalised code to find; raises the refusal (the address is blocked and brings no secret, or
        the code cannot be a meeting's)."""
        code = normalize_code(self.raw_code)
        if self.blocked and (not has_secret or code is None):
            raise self._blocked()
        if code is None:
            raise self.unknown()
        return code

    def unknown(self) -> ClientError:
        """No meeting has the code: the refusal to send (counted as a failure unless already blocked)."""
        if self.blocked:
            return self._blocked()
        self._attempts.failed(self.address)
        return ClientError("unknown_meeting", f"no meeting with code {self.raw_code[:12]!r}", status=404)

    def found(self, proven: bool) -> ClientError | None:
        """The meeting exists: None when the request may go on, else the refusal (blocked, no secret proven)."""
        return self._blocked() if self.blocked and not proven else None

    @staticmethod
    def _blocked() -> ClientError:
        return ClientError("too_many_attempts", "too many failed attempts from this address: wait a minute",
                           status=429)


def host_key_refusal(attempts: AttemptLimiter, address: str, correct: bool) -> ClientError | None:
    """The host-key rule: the right key always gets in (a neighbour behind the venue's shared address must not
    lock the host out, and a 192-bit key cannot be guessed whether or not wrong guesses are throttled); a wrong
    one is refused and counted, and once the address is blocked refused as too many attempts."""
    if correct:
        return None
    if not attempts.allowed(address):
        return ClientError("too_many_attempts", "too many wrong host keys: wait a minute", status=429)
    attempts.failed(address)
    return ClientError("forbidden", "wrong or missing host key for this meeting", status=403)
