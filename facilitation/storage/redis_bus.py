"""The scale-out bus: each meeting's durable batches reach every worker on the meeting's feed channel.

Why pub/sub carries the feed, and why nothing depends on it: a pub/sub message sent while a worker is
reconnecting is gone. So a message is only a fast path: the store's write pipeline publishes on
``{m:CODE}:feed`` (sharded on a cluster, so it stays on the meeting's shard) what the log holds at the
batch's positions, after the batch reached a replica. A reader delivers a batch that continues exactly
where its listeners are; anything else — a gap, the first connection, a reconnection, a failover to a
replica — makes it read the missing events from the durable log (``backfill``: the store's
``events_since``) before it delivers anything later. Listeners therefore receive every event, in order,
exactly once. A publish lost after its append (the connection died between them) is caught by a check of
every subscribed meeting's log each :data:`CHECK_EVERY` seconds.

Why not streams any more: one ``XREAD`` over every meeting's stream is refused on a cluster (the streams
live in different slots), and one blocking read per meeting costs a connection per meeting; the feed
needs one subscriber connection per shard, and the log it backfills from is the one ``load`` reads.

While a shard's subscription is down, :meth:`healthy` is False (``/readyz`` answers 503), and it
reconnects within a second, to the promoted replica after a failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

import orjson
from redis.exceptions import RedisError

from facilitation.core.codec import encode, event_from_dict
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.storage import redis_keys as keys
from facilitation.storage.bus import Backfill, Listener, Unsubscribe
from facilitation.storage.channels import Channels

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)

CATCH_UP = 2_000
"""Events read from the log per backfill read."""
CHECK_EVERY = 1.0
"""Seconds between checks of every subscribed meeting's log for events no message brought."""


class _Feed:
    """One meeting's subscription in this process: its listeners, the last seq they received, and whether a
    read of the log is running (deliveries then wait for it)."""

    __slots__ = ("behind", "catching", "last", "listeners")

    def __init__(self, last: int | None) -> None:
        self.last = last
        self.listeners: list[Listener] = []
        self.catching = False
        self.behind = False


class RedisBus:
    """:class:`~facilitation.storage.bus.Bus` over per-meeting feed channels, backfilled from the log."""

    def __init__(self, url: str, *, backfill: Backfill | None = None) -> None:
        self.url = url
        self.backfill = backfill
        """Reads durable events (``store.events_since``): gaps, (re)connections, the periodic check."""
        self._feeds: dict[str, _Feed] = {}
        self._channels = Channels(url)
        self._client: keys.Client | None = None
        self._checker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscribing: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"RedisBus({self.url.rpartition('@')[2]!r})"

    async def start(self) -> None:
        self._client = await keys.connect(self.url)
        await self._channels.start(self._client)
        self._checker = asyncio.get_running_loop().create_task(self._check_loop(), name="redis-bus-check")

    async def close(self) -> None:
        self._feeds.clear()
        for task in [self._checker, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._checker = None
        await self._channels.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None

    async def publish(self, code: str, events: Sequence[Event]) -> None:
        """Publish durable events a non-Redis store wrote (the Redis store publishes its own appends)."""
        if self._subscribing:  # this process's own new subscribers hear it: their subscription is in place
            await asyncio.gather(*self._subscribing, return_exceptions=True)
        if events and self._client is not None:
            payload = "[" + ",".join(encode(e) for e in events) + "]"
            with contextlib.suppress(RedisError, OSError):  # a lost message is read from the log instead
                await self._channels.publish(keys.feed(code), payload)

    def subscribe(self, code: str, listener: Listener, since: int | None = None) -> Unsubscribe:
        """Deliver the meeting's events after seq ``since`` (None: from the first batch heard on)."""
        feed = self._feeds.get(code)
        if feed is None:
            feed = self._feeds[code] = _Feed(since)
            task = self._spawn(self._channels.subscribe(keys.feed(code), lambda data: self._heard(code, data),
                                                        on_connect=lambda: self._catch_up(code)))
            self._subscribing.add(task)
            task.add_done_callback(self._subscribing.discard)
        feed.listeners.append(listener)

        def unsubscribe() -> None:
            current = self._feeds.get(code)
            if current is not None and listener in current.listeners:
                current.listeners.remove(listener)
                if not current.listeners:
                    del self._feeds[code]
                    self._spawn(self._channels.unsubscribe(keys.feed(code)))

        return unsubscribe

    def announce(self, code: str, events: Sequence[Event]) -> None:
        """Hand events this process just made durable to its own listeners now, without the Redis round
        trip; the feed's copy is skipped when it comes back. Part of the Redis backend
        (:class:`~facilitation.storage.redis.RedisLog` calls it), not of the Bus protocol."""
        feed = self._feeds.get(code)
        if feed is not None and not feed.catching:
            self._deliver(feed, list(events))

    async def healthy(self) -> bool:
        """False while a shard's subscription is down (or the log check stopped)."""
        if self._checker is None or self._checker.done():
            return False
        return self._channels.healthy()

    # ------------------------------------------------------------ delivery

    def _heard(self, code: str, data: str) -> None:
        feed = self._feeds.get(code)
        if feed is None:
            return
        events = [event_from_dict(e) for e in orjson.loads(data)]
        if feed.catching:
            feed.behind = True  # the running read of the log will reach these too
            return
        self._deliver(feed, events)
        if events and feed.last is not None and events[-1].seq > feed.last:
            self._catch_up(code)  # a gap: read the log from where the listeners are

    def _deliver(self, feed: _Feed, events: list[Event]) -> None:
        """Deliver the events that continue exactly after ``feed.last``; the others wait for the log."""
        if feed.last is None and events:
            feed.last = events[0].seq - 1
        fresh = [e for e in events if feed.last is not None and e.seq > feed.last]
        if not fresh or fresh[0].seq != (feed.last or 0) + 1:
            return
        for expected, event in enumerate(fresh, start=fresh[0].seq):
            if event.seq != expected:
                fresh = fresh[: expected - fresh[0].seq]
                break
        feed.last = fresh[-1].seq
        for listener in list(feed.listeners):
            try:
                listener(fresh)
            except Exception:
                log.exception("bus listener failed")

    def _catch_up(self, code: str) -> None:
        feed = self._feeds.get(code)
        if feed is None or self.backfill is None:
            return
        if feed.catching:
            feed.behind = True
            return
        feed.catching = True
        self._spawn(self._read_log(code, feed))

    async def _read_log(self, code: str, feed: _Feed) -> None:
        """Deliver everything the log holds after ``feed.last``, until a read comes back short."""
        assert self.backfill is not None
        try:
            while self._feeds.get(code) is feed and feed.last is not None:
                feed.behind = False
                events = await self.backfill(code, feed.last, CATCH_UP)
                feed.catching = False
                self._deliver(feed, events)
                feed.catching = True
                if len(events) < CATCH_UP and not feed.behind:
                    break
        except (ClientError, RedisError, OSError) as exc:
            log.warning("meeting %s: reading the log to catch up failed (%s); the next check retries", code, exc)
        finally:
            feed.catching = False

    async def _check_loop(self) -> None:
        """Every subscribed meeting's log, read again every :data:`CHECK_EVERY` s: nothing waits for a
        message that was never published (an append whose publish was lost with its connection)."""
        while True:
            await asyncio.sleep(CHECK_EVERY)
            for code in list(self._feeds):
                self._catch_up(code)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
