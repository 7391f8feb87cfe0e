"""The scale-out store: a meeting's log in Redis, shared by every worker on every machine.

Each meeting has a log list (the whole history, never trimmed: ``load`` and deep resumes read it) and a
live stream (capped: the feed every worker XREADs, see :mod:`facilitation.bus.redis`). One Lua script
appends a batch to both, so a worker can never see an event on the stream that the log lacks.

The script refuses the batch unless
- its first sequence number is exactly the log's length + 1 (no gap, no second writer for that seq), and
- when the append carries a fencing token (the owner's writer passes it, see
  :mod:`facilitation.live.ownership`), the owner lock still holds exactly that token. A worker that stalled past
  its lock's expiry and woke up can therefore never write, even though it still believes it owns the meeting.

Durability: Redis answers a write after appending it to its AOF; with ``appendfsync always`` that append is
fsynced before the answer, so an acknowledged vote survives a Redis crash (docs/scaling.md has the
``everysec`` trade-off). Nothing here retries a failed write on its own: a write whose answer was lost may
have been applied, so the caller reloads the log and the client resends with the same op id.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from facilitation import metrics
from facilitation import redis_keys as keys
from facilitation.core.codec import StoreRefused, decode, encode
from facilitation.core.events import Event
from facilitation.store.base import HEALTH_TIMEOUT, MeetingExists, StoreUnavailable

__all__ = ["Fenced", "RedisStore"]

log = logging.getLogger(__name__)

LOAD_CHUNK = 10_000
"""Log entries read per LRANGE when loading, so one huge meeting does not stall Redis for everyone."""

_APPEND = """
-- KEYS: log, events stream, owner lock. ARGV: fence token ('' = none), maxlen, first seq, events as JSON
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return redis.error_reply('FENCED the meeting has another owner now')
end
local n = redis.call('LLEN', KEYS[1])
local first = tonumber(ARGV[3])
if first ~= n + 1 then
  return redis.error_reply('CONFLICT the log is at seq ' .. n .. ', not ' .. (first - 1))
end
for i = 4, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], (first + i - 4) .. '-0', 'e', ARGV[i])
end
return n + #ARGV - 3
"""

_CREATE = """
-- KEYS: log, events stream. ARGV: maxlen, events as JSON (seq 1..n)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('EXISTS')
end
for i = 2, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], (i - 1) .. '-0', 'e', ARGV[i])
end
return #ARGV - 1
"""

_SAVE_ANALYSIS = """
-- KEYS: runs, analysis, owner lock. ARGV: fence token, run, metadata JSON, payload JSON
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return redis.error_reply('FENCED the meeting has another owner now')
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return 1
"""


MAX_BATCH = 2_000
"""Appends per pipeline at most, so one burst does not hold every waiting ack back."""


class Fenced(StoreUnavailable):
    """This process lost the meeting's ownership: another worker writes its log now."""


class _Write(NamedTuple):
    code: str
    fence: str
    first: int
    encoded: list[str]
    future: asyncio.Future[None]


def _append_error(exc: BaseException) -> StoreUnavailable:
    if isinstance(exc, ResponseError) and str(exc).startswith("FENCED"):
        return Fenced("store_unavailable", "this server no longer owns the meeting; resend")
    return StoreUnavailable("store_unavailable", f"the write was not stored: {exc}")


class RedisStore:
    """:class:`~facilitation.store.base.Store` on Redis (AOF on; ``appendfsync always`` for no loss)."""

    def __init__(self, url: str, *, stream_maxlen: int = keys.STREAM_MAXLEN) -> None:
        self.url = url
        self.stream_maxlen = stream_maxlen
        self._redis: Redis | None = None
        self._queue: list[_Write] = []
        self._holding: list[_Write] = []
        """The batch the write task is sending (to fail it if the task ends mid-batch)."""
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"RedisStore({self.url.rpartition('@')[2]!r})"

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise StoreUnavailable("store_unavailable", "the store is not started")
        return self._redis

    async def start(self) -> None:
        self._redis = keys.connect(self.url)
        self._append = self._redis.register_script(_APPEND)
        self._create = self._redis.register_script(_CREATE)
        self._save = self._redis.register_script(_SAVE_ANALYSIS)
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="redis-store-writer")
        try:
            config = await self._redis.config_get("append*")
        except RedisError:
            return  # managed Redis often forbids CONFIG; durability is then the operator's promise
        if config.get("appendonly") != "yes":
            log.warning("Redis runs without AOF (appendonly no): acknowledged votes can be lost in a crash")
        elif config.get("appendfsync") != "always":
            log.warning("Redis appendfsync is %r: up to ~1 s of acknowledged votes can be lost if the "
                        "machine crashes (docs/scaling.md)", config.get("appendfsync"))

    async def close(self) -> None:
        if self._writer is not None:
            deadline = asyncio.get_running_loop().time() + 5.0
            while self._queue and not self._writer.done() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)  # let queued writes finish: they are someone's pending acks
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    # ------------------------------------------------------------ writes

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        try:
            args: list[str | int] = [self.stream_maxlen, *(encode(e) for e in events)]
            await keys.retrying(lambda: self._create(keys=[keys.log(code), keys.events(code)], args=args))
        except ResponseError as exc:
            if str(exc).startswith("EXISTS"):
                raise MeetingExists("meeting_exists", "a meeting with that code already exists") from None
            raise StoreUnavailable("store_unavailable", f"the meeting was not stored: {exc}") from exc
        except RedisError as exc:
            raise StoreUnavailable("store_unavailable", f"the meeting was not stored: {exc}") from exc
        try:
            await self.redis.zadd(keys.MEETINGS, {code: events[0].at})
        except RedisError as exc:  # the meeting exists; only the listing misses it until the next create
            log.warning("meeting %s stored but not indexed: %s", code, exc)

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Queue the batch for the next group commit. Events are encoded here, in the caller's task, so
        an unstorable one is refused alone (:class:`StoreRefused`) and never reaches the shared writer."""
        if not events:
            return
        encoded = [encode(e) for e in events]
        self._ensure_writer()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(code, fence, events[0].seq, encoded, future))
        self._wake.set()
        await future

    def _ensure_writer(self) -> None:
        """The write task ended although nobody closed the store: say so, fail what it held, restart."""
        if self._redis is None or self._writer is None:
            raise StoreUnavailable("store_unavailable", "the store is not started")
        if not self._writer.done():
            return
        log.error("the Redis store's write task ended unexpectedly; failing its pending writes and restarting it")
        metrics.STORE_WRITER_RESTARTS.inc()
        lost, self._queue = self._holding + self._queue, []
        self._holding = []
        error = StoreUnavailable("store_unavailable", "the store's writer restarted; resend")
        for write in lost:
            if not write.future.done():
                write.future.set_exception(error)
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="redis-store-writer")

    async def _write_loop(self) -> None:
        """Group commit: everything queued goes out in one pipeline on one connection, so writes land in the
        order they were submitted and one round trip (and, with appendfsync always, one fsync) covers
        them all. Consecutive appends to one meeting merge into one script call.

        Never raises out of a batch: an unexpected error fails that batch's writes and the loop goes on."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            if self._queue:
                self._wake.set()
            self._holding = batch
            groups: list[list[_Write]] = []
            for write in batch:
                if (groups and groups[-1][0].code == write.code and groups[-1][0].fence == write.fence
                        and groups[-1][-1].first + len(groups[-1][-1].encoded) == write.first):
                    groups[-1].append(write)
                else:
                    groups.append([write])
            results: list[Any]
            try:
                results = await keys.retrying(functools.partial(self._send, groups))
            except (RedisError, OSError) as exc:
                results = [exc] * len(groups)
            except Exception as exc:
                log.exception("Redis store: a batch of %d writes failed", len(batch))
                results = [exc] * len(groups)
            self._holding = []
            for group, result in zip(groups, results, strict=True):
                error = _append_error(result) if isinstance(result, BaseException) else None
                for write in group:
                    if write.future.done():
                        continue
                    if error is None:
                        write.future.set_result(None)
                    else:
                        write.future.set_exception(error)

    async def _send(self, groups: list[list[_Write]]) -> list[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for group in groups:
            code = group[0].code
            args: list[Any] = [group[0].fence, self.stream_maxlen, group[0].first]
            for write in group:
                args += write.encoded
            await self._append(keys=[keys.log(code), keys.events(code), keys.owner(code)], args=args, client=pipe)
        return list(await pipe.execute(raise_on_error=False))

    async def save_analysis(self, code: str, run: int, seq: int, at: float, payload: dict[str, Any] | str,
                            fence: str = "") -> None:
        meta = json.dumps({"run": run, "seq": seq, "at": at})
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        try:
            if not data.isascii():
                data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StoreRefused("store_refused", f"the analysis cannot be stored: {exc.reason}") from None
        try:
            await self._save(keys=[keys.runs(code), keys.analysis(code), keys.owner(code)],
                             args=[fence, run, meta, data])
        except ResponseError as exc:
            if str(exc).startswith("FENCED"):
                raise Fenced("store_unavailable", "this server no longer owns the meeting") from None
            raise StoreUnavailable("store_unavailable", f"the analysis was not stored: {exc}") from None
        except RedisError as exc:
            raise StoreUnavailable("store_unavailable", f"the analysis was not stored: {exc}") from exc

    # ------------------------------------------------------------ reads

    async def load(self, code: str) -> list[Event] | None:
        events: list[Event] = []
        start = 0
        try:
            while True:
                read = functools.partial(self.redis.lrange, keys.log(code), start, start + LOAD_CHUNK - 1)
                chunk: list[str] = await keys.retrying(read)  # type: ignore[arg-type]
                events.extend(decode(raw) for raw in chunk)
                if len(chunk) < LOAD_CHUNK:
                    break
                start += LOAD_CHUNK
        except RedisError as exc:
            raise StoreUnavailable("store_unavailable", f"the meeting could not be read: {exc}") from exc
        return events or None

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        if limit <= 0:
            return []
        try:
            first = max(seq, 0)
            raw: Any = await keys.retrying(lambda: self.redis.lrange(keys.log(code), first, first + limit - 1))
        except RedisError as exc:
            raise StoreUnavailable("store_unavailable", f"the log could not be read: {exc}") from exc
        return [decode(r) for r in raw]

    async def last_seq(self, code: str) -> int:
        """The sequence number of the last durable event (0 for an unknown meeting)."""
        try:
            return int(await keys.retrying(lambda: self.redis.llen(keys.log(code))))
        except RedisError as exc:
            raise StoreUnavailable("store_unavailable", f"the log could not be read: {exc}") from exc

    async def meeting_codes(self) -> list[str]:
        codes: list[str] = await self.redis.zrange(keys.MEETINGS, 0, -1)  # type: ignore[assignment]
        return codes

    async def load_analysis(self, code: str, run: int | None = None) -> dict[str, Any] | None:
        if run is None:
            runs = [int(r) for r in await self.redis.hkeys(keys.runs(code))]
            if not runs:
                return None
            run = max(runs)
        meta, payload = await self.redis.hmget(keys.runs(code), [str(run)]), await self.redis.hget(
            keys.analysis(code), str(run))
        if meta[0] is None or payload is None:
            return None
        return {**json.loads(meta[0]), "result": json.loads(payload)}

    async def analysis_runs(self, code: str) -> list[dict[str, Any]]:
        stored = await self.redis.hgetall(keys.runs(code))
        return sorted((json.loads(v) for v in stored.values()), key=lambda r: int(r["run"]))

    async def healthy(self) -> bool:
        """A real write (a key with a short expiry) must be acknowledged: a PING succeeds on a Redis that
        refuses writes (read-only replica, ``MISCONF`` after a failed save, out of memory)."""
        if self._redis is None:
            return False
        try:
            self._ensure_writer()
            redis = self._redis
            await asyncio.wait_for(redis.set(keys.HEALTH, repr(time.time()), px=10_000), HEALTH_TIMEOUT)
        except (RedisError, OSError, TimeoutError, StoreUnavailable):
            return False
        return True
