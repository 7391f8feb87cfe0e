"""The scale-out bus: one Redis stream per meeting, read by every worker from its last id.

Why streams rather than pub/sub: a pub/sub message sent while a worker is reconnecting is gone, and the
worker would serve a replica with a hole in it without knowing. A stream entry stays; the reader asks for
"everything after ``<last seq>-0``" on every read, so after a blip or a Redis restart it simply continues
where it stopped. Entry ids are ``<seq>-0``, so the stream position and the meeting's sequence number are
the same thing.

One reader task per process holds one dedicated connection and XREADs every subscribed meeting's stream
(BLOCK :data:`BLOCK_MS`; a newly subscribed meeting joins the next read). If the stream was trimmed past
a reader's position (it was away longer than the stream's cap), the reader sees a gap in sequence numbers
and fills it from the log through the ``backfill`` reader given at construction before delivering
anything later: listeners always receive every event, in order, exactly once. The bus writes no stream in
Redis mode (the store's append script does, see :mod:`facilitation.eventlog.port`); :meth:`RedisBus.publish`
serves a non-Redis store.

While the reader cannot reach Redis, :meth:`healthy` is False (``/healthz`` answers 503, so a load balancer
stops sending new phones here), and it reconnects with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from facilitation import redis_keys as keys
from facilitation.bus.base import Backfill, Listener, Unsubscribe
from facilitation.core.codec import decode, encode
from facilitation.core.events import Event

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)

BLOCK_MS = 200
"""How long one XREAD waits for news; also how late a newly subscribed meeting joins the read."""
READ_COUNT = 2_000
"""Entries per stream per read at most."""
BACKOFF_MIN, BACKOFF_MAX = 0.05, 2.0
"""Reconnect delays in seconds: doubling from the first to the second."""


_PUBLISH = """
-- KEYS: events stream. ARGV: maxlen, then seq, event JSON pairs. Skips what the stream already has.
local top = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then top = tonumber(string.match(last[1][1], '^(%d+)')) end
local added = 0
for i = 2, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if seq > top then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'e', ARGV[i + 1])
    top = seq
    added = added + 1
  end
end
return added
"""


class _Feed:
    """One meeting's subscription in this process: its listeners and the last seq they received."""

    __slots__ = ("last", "listeners")

    def __init__(self, last: int | None) -> None:
        self.last = last
        self.listeners: list[Listener] = []


class RedisBus:
    """:class:`~facilitation.bus.base.Bus` over per-meeting Redis streams."""

    def __init__(self, url: str, *, backfill: Backfill | None = None,
                 stream_maxlen: int = keys.STREAM_MAXLEN) -> None:
        self.url = url
        self.stream_maxlen = stream_maxlen
        self.backfill = backfill
        """Reads missed events (``store.events_since``) when the stream was trimmed past a reader."""
        self._feeds: dict[str, _Feed] = {}
        self._redis: Redis | None = None
        self._reader: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._last_read = 0.0

    def __repr__(self) -> str:
        return f"RedisBus({self.url.rpartition('@')[2]!r})"

    async def start(self) -> None:
        self._redis = keys.connect(self.url)
        self._reader = keys.connect(self.url, blocking=True)
        self._publish = self._redis.register_script(_PUBLISH)
        self._task = asyncio.get_running_loop().create_task(self._read_loop(), name="redis-bus-reader")

    async def close(self) -> None:
        self._feeds.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for client in (self._reader, self._redis):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._reader = self._redis = None

    async def publish(self, code: str, events: Sequence[Event]) -> None:
        """Add events to the meeting's stream (skipping ones it has: a Redis store already wrote them)."""
        if not events or self._redis is None:
            return
        args: list[str | int] = [self.stream_maxlen]
        for event in events:
            args += [event.seq, encode(event)]
        await keys.retrying(lambda: self._publish(keys=[keys.events(code)], args=args))

    def subscribe(self, code: str, listener: Listener, since: int | None = None) -> Unsubscribe:
        """Deliver the meeting's events after seq ``since`` (None: from the stream's end when first read)."""
        feed = self._feeds.get(code)
        if feed is None:
            feed = self._feeds[code] = _Feed(since)
        feed.listeners.append(listener)

        def unsubscribe() -> None:
            current = self._feeds.get(code)
            if current is not None and listener in current.listeners:
                current.listeners.remove(listener)
                if not current.listeners:
                    del self._feeds[code]

        return unsubscribe

    def announce(self, code: str, events: Sequence[Event]) -> None:
        """Hand events this process just made durable to its own listeners now, without the Redis round
        trip; the reader skips them when the stream brings them back."""
        feed = self._feeds.get(code)
        if feed is not None:
            self._deliver(feed, [e for e in events if feed.last is None or e.seq > feed.last])

    async def healthy(self) -> bool:
        """False while the reader is disconnected or has not completed a read for several block periods."""
        if self._task is None or self._task.done():
            return False
        stale = time.monotonic() - self._last_read > max(2.0, 10 * BLOCK_MS / 1000)
        return self._connected and not stale

    # ------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        backoff = BACKOFF_MIN
        while True:
            try:
                await self._read_once()
                if not self._connected:
                    log.info("bus reader connected to Redis")
                self._connected = True
                self._last_read = time.monotonic()
                backoff = BACKOFF_MIN
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._connected:
                    log.warning("bus reader lost Redis (%s); reconnecting, will resume from the last ids", exc)
                self._connected = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            except Exception:
                log.exception("bus reader failed; continuing")
                await asyncio.sleep(backoff)

    async def _read_once(self) -> None:
        assert self._reader is not None and self._redis is not None
        if not self._feeds:
            await self._reader.ping()
            await asyncio.sleep(BLOCK_MS / 1000)
            return
        await self._resolve_tails()
        streams = {keys.events(code): f"{feed.last}-0" for code, feed in self._feeds.items()
                   if feed.last is not None}
        reply: Any = await self._reader.xread(streams, count=READ_COUNT, block=BLOCK_MS)  # type: ignore[arg-type]
        for stream, entries in reply or []:
            code = stream.partition("}")[0].removeprefix("{m:")
            feed = self._feeds.get(code)
            if feed is None or feed.last is None:
                continue  # unsubscribed while reading
            batch = [decode(fields["e"]) for _, fields in entries]
            fresh = [e for e in batch if e.seq > feed.last]
            if fresh and fresh[0].seq > feed.last + 1 and self.backfill is not None:
                missed = await self.backfill(code, feed.last, fresh[0].seq - feed.last - 1)
                fresh = [e for e in missed if e.seq > feed.last] + fresh
            self._deliver(feed, fresh)

    async def _resolve_tails(self) -> None:
        """Subscriptions without a start position begin at their stream's current end."""
        assert self._redis is not None
        for code, feed in list(self._feeds.items()):
            if feed.last is None:
                last: Any = await self._redis.xrevrange(keys.events(code), count=1)
                if feed.last is None:
                    feed.last = int(last[0][0].split("-")[0]) if last else 0

    def _deliver(self, feed: _Feed, events: list[Event]) -> None:
        if not events:
            return
        feed.last = events[-1].seq
        for listener in list(feed.listeners):
            try:
                listener(events)
            except Exception:
                log.exception("bus listener failed")
