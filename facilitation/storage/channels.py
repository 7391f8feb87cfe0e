"""Pub/sub channels that survive reconnects and failovers, on one Redis node or on a Redis Cluster.

On a cluster the channels are sharded (``SSUBSCRIBE``/``SPUBLISH``): a channel lives on the shard of its
hash tag, so ``{m:CODE}:feed`` and ``{m:CODE}:cmds`` sit with the meeting's keys, and a publish reaches the
subscribers of that shard, counted exactly. On one node, classic pub/sub behaves the same.

This process holds one subscriber connection per node that carries one of its channels, each read by its
own task. Pub/sub loses messages only while a connection is down, so every (re)connection calls the
channel's ``on_connect``: the bus then reads what it missed from the durable log, and nothing depends on a
message arriving. When a connection fails on a cluster, the slot map is read again and each channel moves
to the node that now serves its slot (a replica promoted by a failover).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from facilitation.storage import redis_keys as keys

__all__ = ["Channels", "Handler"]

log = logging.getLogger(__name__)

Handler = Callable[[str], None]
"""Called with each message's data, in order, on the event loop; must not block."""
BACKOFF_MIN, BACKOFF_MAX = 0.05, 0.25
"""Reconnect delays in seconds, doubling: a node back (or a replica promoted) is heard within a quarter of a
second (each attempt on a node that is gone costs a refused connection and one read of the slot map)."""
READ_TIMEOUT = 1.0
"""Seconds one read waits for a message before the connection is checked again."""
SUBSCRIBE_WAIT = 2.0
"""Seconds :meth:`Channels.subscribe` waits for the node's confirmation before returning anyway."""


class _Subscription:
    __slots__ = ("handler", "on_connect")

    def __init__(self, handler: Handler, on_connect: Callable[[], None] | None) -> None:
        self.handler = handler
        self.on_connect = on_connect


class _Node:
    """One subscriber connection to one node and the channels it carries, read by one task."""

    def __init__(self, owner: Channels, name: str, url: str) -> None:
        self.owner = owner
        self.name = name
        self.url = url
        self.channels: set[str] = set()
        self.waiting: dict[str, asyncio.Future[None]] = {}
        """Subscriptions asked for and not yet confirmed by the node."""
        self.pubsub: Any = None
        self.connected = False
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"channels-{name}")

    async def _run(self) -> None:
        backoff = BACKOFF_MIN
        while True:
            try:
                await self._connect()
                backoff = BACKOFF_MIN
                while self.channels:
                    message = await self.pubsub.get_message(timeout=READ_TIMEOUT)
                    kind = message.get("type") if message is not None else None
                    if kind in ("message", "smessage"):
                        self.owner.dispatch(message["channel"], message["data"])
                    elif kind == "sunsubscribe" and message["channel"] in self.channels:
                        # Not ours: the node gave the slot away (a manual failover, a resharding).
                        raise RedisError(f"{message['channel']} was unsubscribed by the node")
                await self._close()
                return  # no channel left here: the node's connection goes away
            except asyncio.CancelledError:
                await self._close()
                raise
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("pub/sub on %s lost (%s); reconnecting", self.name, exc)
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                if await self.owner.rehome(self):
                    return  # the channels moved to the nodes that serve their slots now
            except Exception:
                log.exception("pub/sub on %s failed; reconnecting", self.name)
                await self._close()
                await asyncio.sleep(backoff)

    async def _connect(self) -> None:
        client = aioredis.Redis.from_url(self.url, decode_responses=True,
                                         socket_connect_timeout=keys.CONNECT_TIMEOUT, socket_timeout=None)
        self.pubsub = client.pubsub()
        channels = sorted(self.channels)
        if channels:
            await self._send(True, channels)
        self.connected = True
        for channel in channels:
            self._confirmed(channel)

    async def _send(self, on: bool, channels: list[str]) -> None:
        if self.owner.sharded:
            await (self.pubsub.ssubscribe if on else self.pubsub.sunsubscribe)(*channels)
        else:
            await (self.pubsub.subscribe if on else self.pubsub.unsubscribe)(*channels)

    def _confirmed(self, channel: str) -> None:
        waiting = self.waiting.pop(channel, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)
        self.owner.connected(channel)

    async def add(self, channel: str) -> asyncio.Future[None]:
        """Subscribe; the future completes once the node confirmed it (at the next connection if down)."""
        self.channels.add(channel)
        confirmed = self.waiting[channel] = asyncio.get_running_loop().create_future()
        if self.connected:
            with contextlib.suppress(RedisError, OSError):  # a failure here fails the read too: it reconnects
                await self._send(True, [channel])
                self._confirmed(channel)
        return confirmed

    async def remove(self, channel: str) -> None:
        self.channels.discard(channel)
        if self.connected:
            with contextlib.suppress(RedisError, OSError):
                await self._send(False, [channel])

    async def _close(self) -> None:
        self.connected = False
        if self.pubsub is not None:
            pubsub, self.pubsub = self.pubsub, None
            with contextlib.suppress(Exception):
                await pubsub.aclose()


class Channels:
    """Subscriptions (with a handler and an ``on_connect`` per channel) and publishing, for one process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: keys.Client | None = None
        self.sharded = False
        self._subscriptions: dict[str, _Subscription] = {}
        self._nodes: dict[str, _Node] = {}
        self._where: dict[str, str] = {}
        self._changes: asyncio.Lock | None = None

    async def start(self, client: keys.Client) -> None:
        self.client = client
        self.sharded = isinstance(client, RedisCluster)
        self._changes = asyncio.Lock()

    async def close(self) -> None:
        for node in list(self._nodes.values()):
            node.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await node.task
        self._nodes.clear()
        self._where.clear()
        self._subscriptions.clear()

    async def publish(self, channel: str, message: str) -> int:
        """Publish; returns how many subscribers (of the channel's shard, on a cluster) received it."""
        assert self.client is not None
        if self.sharded:
            return int(await self.client.execute_command("SPUBLISH", channel, message))
        return int(await self.client.publish(channel, message))

    def publish_command(self) -> str:
        """The publish command for this deployment, for Lua scripts that publish."""
        return "SPUBLISH" if self.sharded else "PUBLISH"

    async def subscribe(self, channel: str, handler: Handler, on_connect: Callable[[], None] | None = None) -> None:
        """Deliver the channel's messages to ``handler``; ``on_connect`` runs each time the subscription is
        (re)established, the first time included (read there what may have been missed)."""
        self._subscriptions[channel] = _Subscription(handler, on_connect)
        assert self._changes is not None
        async with self._changes:
            if channel in self._where:
                return
            confirmed = await self._place(channel)
        with contextlib.suppress(TimeoutError):  # Redis away: it subscribes (and catches up) when back
            await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_WAIT)

    async def unsubscribe(self, channel: str) -> None:
        self._subscriptions.pop(channel, None)
        assert self._changes is not None
        async with self._changes:
            name = self._where.pop(channel, None)
            node = self._nodes.get(name or "")
            if node is not None:
                await node.remove(channel)
                if not node.channels:
                    del self._nodes[node.name]

    def healthy(self) -> bool:
        """Every node that carries one of our channels is connected now."""
        return all(node.connected and not node.task.done() for node in self._nodes.values())

    # ------------------------------------------------------------ internals

    def dispatch(self, channel: str, data: str) -> None:
        subscription = self._subscriptions.get(channel)
        if subscription is None:
            return
        try:
            subscription.handler(data)
        except Exception:
            log.exception("handler of %s failed", channel)

    def connected(self, channel: str) -> None:
        subscription = self._subscriptions.get(channel)
        if subscription is not None and subscription.on_connect is not None:
            try:
                subscription.on_connect()
            except Exception:
                log.exception("on_connect of %s failed", channel)

    def _node_of(self, channel: str) -> tuple[str, str]:
        """(name, url) of the node that serves the channel now."""
        if isinstance(self.client, RedisCluster):
            node = keys.node_of(self.client, channel)
            return node.name, keys.node_url(self.url, node.host, node.port)
        return "main", self.url

    async def _place(self, channel: str) -> asyncio.Future[None]:
        name, url = self._node_of(channel)
        node = self._nodes.get(name)
        if node is None or node.task.done():
            node = self._nodes[name] = _Node(self, name, url)
        self._where[channel] = name
        return await node.add(channel)

    async def rehome(self, failed: _Node) -> bool:
        """After ``failed`` lost its connection on a cluster: read the slot map again and move every
        channel whose slot another node serves now. True when ``failed`` carries nothing any more."""
        if not isinstance(self.client, RedisCluster):
            return False
        await keys.refresh_slots(self.client)
        assert self._changes is not None
        async with self._changes:
            for channel in sorted(failed.channels):
                if self._node_of(channel)[0] != failed.name:
                    failed.channels.discard(channel)
                    await self._place(channel)
            if failed.channels:
                return False
            if self._nodes.get(failed.name) is failed:
                del self._nodes[failed.name]
            return True
