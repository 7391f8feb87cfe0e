"""The scale-out store: a meeting's log in Redis (one node or a Redis Cluster), shared by every worker.

Each meeting has a log list (the whole history, never trimmed) under its hash tag, so on a cluster all of a
meeting lives on one shard. One Lua script appends a batch, refusing it unless
- its first sequence number is exactly the log's length + 1 (no gap, no second writer for that seq), and
- when the append carries a fencing token (the owner's writer passes it, see
  :mod:`facilitation.live.ownership`), the owner lock still holds exactly that token. A worker that stalled past
  its lock's expiry and woke up can therefore never write once another worker took the meeting, even though
  it still believes it owns it. If the lock merely expired (nobody took it, nobody appended), the append
  sets it again to its token: a stall past the ttl slows acks instead of refusing them.

**Group commit, per shard.** Everything queued goes out together: one pipeline per shard, sent to the
shards at once, so a shard that is failing over fails only its own meetings' writes. In each pipeline the
appends are followed by ``WAIT 1`` when the shard's master has a replica in sync, then by one feed script
per meeting that publishes what the log now holds (``{m:CODE}:feed``, see :mod:`facilitation.storage.redis_bus`).
So an ack, and what other workers hear, come after the write reached a replica.

**Durability, per configuration** (docs/scaling.md, "What an ack guarantees"):
- one node, ``appendfsync always``: Redis answers after the AOF write is fsynced; an acknowledged vote
  survives a crash or a kill -9 of Redis.
- with replicas (a cluster, or one master with a replica): also ``WAIT`` for one replica, so a failover to
  that replica keeps every acknowledged vote. A replica missing or more than :data:`REPLICA_WAIT_MS` behind
  does not turn writes into refusals: the ack then rests on the master's fsynced AOF alone, and
  ``facilitation_store_unreplicated_acks_total`` counts it.

Nothing here retries a failed append on its own: a write whose answer was lost may have been applied, so
the caller reloads the log and the client resends with the same op id.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError, ResponseError

from facilitation import metrics
from facilitation.core.codec import StoreRefused, decode, encode
from facilitation.core.events import Event
from facilitation.storage import redis_keys as keys
from facilitation.storage.redis_erasure import RedisErasure
from facilitation.storage.store import HEALTH_TIMEOUT, MeetingExists, StoreUnavailable

__all__ = ["Fenced", "RedisStore"]

log = logging.getLogger(__name__)

LOCK_TTL_MS = int(keys.LOCK_TTL * 1000)
"""The expiry the append gives an owner lock it takes back for its last holder (the owner's campaign
renews it from then on)."""
LOAD_CHUNK = 10_000
"""Log entries read per LRANGE when loading, so one huge meeting does not stall Redis for everyone."""

_APPEND = """
-- KEYS: log, owner lock. ARGV: fence token ('' = none), first seq, lock ttl ms, events as JSON
local n = redis.call('LLEN', KEYS[1])
local first = tonumber(ARGV[2])
if ARGV[1] ~= '' then
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= ARGV[1] then
    return redis.error_reply('FENCED the meeting has another owner now')
  end
  if not holder and first == n + 1 then
    -- expired, nobody took it, nobody appended: the last holder (stalled past the ttl) takes it back
    redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  end
end
if first ~= n + 1 then
  return redis.error_reply('CONFLICT the log is at seq ' .. n .. ', not ' .. (first - 1))
end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 4))
return n + #ARGV - 3
"""

_CREATE = """
-- KEYS: log. ARGV: events as JSON (seq 1..n)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('EXISTS')
end
redis.call('RPUSH', KEYS[1], unpack(ARGV))
return #ARGV
"""

FEED = """
-- KEYS: log, feed channel. ARGV: first seq, last seq, publish command (SPUBLISH on a cluster, else PUBLISH).
-- Publishes what the log holds at those positions: whatever happened to the append, never an event the
-- log lacks.
local entries = redis.call('LRANGE', KEYS[1], tonumber(ARGV[1]) - 1, tonumber(ARGV[2]) - 1)
if #entries > 0 then
  redis.call(ARGV[3], KEYS[2], '[' .. table.concat(entries, ',') .. ']')
end
return #entries
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
REPLICA_WAIT_MS = 500
"""How long an append waits for a replica (``WAIT 1``) before its ack rests on the master's AOF alone. On
one LAN a replica answers within a millisecond; more than this means it is lagging or gone."""
REPLICAS_EVERY = 1.0
"""Seconds between reads of each master's in-sync replicas (``INFO replication``): who ``WAIT`` waits for."""
BATCH_DEADLINE = 20.0
"""Seconds a batch may take before its writes are failed (resend): a shard that neither answers nor
closes the connection must not hold acks forever."""


class Fenced(StoreUnavailable):
    """This process lost the meeting's ownership: another worker writes its log now."""


class _Write(NamedTuple):
    code: str
    fence: str
    first: int
    encoded: list[str]
    future: asyncio.Future[None]


STOP_WAIT = REPLICAS_EVERY + 2.0
"""Seconds :meth:`RedisStore.close` waits for a background task it cancelled."""


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait for it, for at most :data:`STOP_WAIT` seconds.

    Why bounded: a cancellation that lands inside the cluster client's topology refresh can be absorbed there
    (the task is left "cancelling" and carries on), and an unbounded ``await task`` then hung ``close()``
    forever (seen once in a full CI run, in the cluster erasure test). The loops also check the store's
    closing flag, so such a task still ends at its next turn."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=STOP_WAIT)
    if not done:
        log.warning("the Redis store's task %s did not stop within %.0f s of close()", task.get_name(), STOP_WAIT)
    elif not task.cancelled() and task.exception() is not None:
        log.debug("the Redis store's task %s ended with %r", task.get_name(), task.exception())


def _append_error(exc: BaseException) -> StoreUnavailable:
    if isinstance(exc, ResponseError) and str(exc).startswith("FENCED"):
        return Fenced("store_unavailable", "this server no longer owns the meeting; resend")
    return StoreUnavailable("store_unavailable", f"the write was not stored: {exc}")


class RedisStore(RedisErasure):
    """:class:`~facilitation.storage.store.Store` on Redis or a Redis Cluster (AOF, ``appendfsync always``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis: keys.Client | None = None
        self._queue: list[_Write] = []
        self._holding: list[_Write] = []
        """The batch the write task is sending (to fail it if the task ends mid-batch)."""
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._replicas: dict[str, int] = {}
        """In-sync replicas per master (by node name; ``main`` on one node), read every second."""
        self._health_keys: dict[str, str] = {}
        self._shas: dict[str, str] = {}
        self._shard_clients: dict[str, aioredis.Redis] = {}
        """Per cluster master (by node name): the plain client its write pipelines go out on."""

    def __repr__(self) -> str:
        return f"RedisStore({self.url.rpartition('@')[2]!r})"

    @property
    def redis(self) -> keys.Client:
        if self._redis is None:
            raise StoreUnavailable("store_unavailable", "the store is not started")
        return self._redis

    @property
    def cluster(self) -> bool:
        return isinstance(self._redis, RedisCluster)

    async def start(self) -> None:
        self._redis = await keys.connect(self.url)
        self._shas = {name: hashlib.sha1(source.encode()).hexdigest()
                      for name, source in (("append", _APPEND), ("create", _CREATE), ("feed", FEED),
                                           ("save", _SAVE_ANALYSIS))}
        with contextlib.suppress(RedisError, OSError):
            await self._load_scripts()
            await self._read_replicas()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="redis-store-writer")
        self._watcher = asyncio.get_running_loop().create_task(self._watch_replicas(), name="redis-replicas")
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
        self._closing = True
        if self._watcher is not None:
            await _stop(self._watcher)
            self._watcher = None
        if self._writer is not None:
            deadline = asyncio.get_running_loop().time() + 5.0
            while self._queue and not self._writer.done() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)  # let queued writes finish: they are someone's pending acks
            await _stop(self._writer)
            self._writer = None
        for client in self._shard_clients.values():
            with contextlib.suppress(RedisError, OSError):
                await client.aclose(close_connection_pool=True)
        self._shard_clients = {}
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _load_scripts(self) -> None:
        """Load the scripts on every master (a promoted replica starts with an empty script cache)."""
        for source in (_APPEND, _CREATE, FEED, _SAVE_ANALYSIS):
            if isinstance(self._redis, RedisCluster):
                await self._redis.execute_command("SCRIPT LOAD", source, target_nodes=RedisCluster.PRIMARIES)
            else:
                await self.redis.script_load(source)

    async def _script(self, name: str, keys_: list[str], args: list[Any], client: Any = None) -> Any:
        """EVALSHA, loading the scripts once more if the node lost them (a promoted replica)."""
        target = client if client is not None else self.redis
        sha = self._shas[name]
        if client is not None:  # a pipeline: NOSCRIPT comes back as that command's result, handled there
            return target.evalsha(sha, len(keys_), *keys_, *args)
        try:
            return await target.evalsha(sha, len(keys_), *keys_, *args)
        except NoScriptError:
            await self._load_scripts()
            return await target.evalsha(sha, len(keys_), *keys_, *args)

    # ------------------------------------------------------------ writes

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        try:
            args = [encode(e) for e in events]
            await keys.retrying(lambda: self._script("create", [keys.log(code)], args))
        except ResponseError as exc:
            if str(exc).startswith("EXISTS"):
                raise MeetingExists("meeting_exists", "a meeting with that code already exists") from None
            raise StoreUnavailable("store_unavailable", f"the meeting was not stored: {exc}") from exc
        except (RedisError, OSError) as exc:
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
        """Group commit: everything queued goes out at once, one pipeline per shard on one connection, so a
        meeting's writes land in the order they were submitted and one round trip (one fsync, one WAIT)
        covers them all. Consecutive appends to one meeting merge into one script call.

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
            began = time.perf_counter()
            try:
                # asyncio.timeout, not wait_for: no task of its own, so no extra turn of a busy event loop
                # between Redis's answer and the acks (each turn costs milliseconds under load).
                async with asyncio.timeout(BATCH_DEADLINE):
                    results = await self._send(groups)
            except (RedisError, OSError, TimeoutError) as exc:
                results = [exc] * len(groups)
            except Exception as exc:
                log.exception("Redis store: a batch of %d writes failed", len(batch))
                results = [exc] * len(groups)
            self._holding = []
            metrics.STORE_COMMIT_SECONDS.observe(time.perf_counter() - began)
            for group, result in zip(groups, results, strict=True):
                error = _append_error(result) if isinstance(result, BaseException) else None
                for write in group:
                    if write.future.done():
                        continue
                    if error is None:
                        write.future.set_result(None)
                    else:
                        write.future.set_exception(error)

    def _node(self, key: str) -> ClusterNode | None:
        return keys.node_of(self._redis, key) if isinstance(self._redis, RedisCluster) else None

    async def _send(self, groups: list[list[_Write]]) -> list[Any]:
        """One pipeline per shard, all at once; a shard that fails fails only its own groups."""
        shards: dict[str, list[int]] = {}
        nodes: dict[str, ClusterNode | None] = {}
        for index, group in enumerate(groups):
            node = self._node(keys.log(group[0].code))
            name = node.name if node is not None else "main"
            shards.setdefault(name, []).append(index)
            nodes[name] = node
        results: list[Any] = [None] * len(groups)

        async def send(name: str, indexes: list[int]) -> None:
            try:
                answers = await self._send_shard(nodes[name], name, [groups[i] for i in indexes])
            except (RedisError, OSError) as exc:
                answers = [exc] * len(indexes)
                await keys.refresh_slots(self.redis)
            for index, answer in zip(indexes, answers, strict=True):
                results[index] = answer

        if len(shards) == 1:  # the common case (one meeting, or one shard): no task per shard
            name, indexes = next(iter(shards.items()))
            await send(name, indexes)
        else:
            await asyncio.gather(*(send(name, indexes) for name, indexes in shards.items()))
        return results

    async def _send_shard(self, node: ClusterNode | None, name: str, groups: list[list[_Write]]) -> list[Any]:
        answers = await self._pipeline(node, name, groups)
        if any(isinstance(a, NoScriptError) for a in answers):  # a promoted replica: nothing was applied
            await self._load_scripts()
            answers = await self._pipeline(node, name, groups)
        return answers

    def _shard_client(self, node: ClusterNode | None) -> Any:
        """The client a shard's write pipeline goes out on: on a cluster, a plain client of that master
        (kept per node), because the cluster client's pipeline routes every command again and runs each
        node's part in a task of its own: one more turn of the event loop per commit. The appends, ``WAIT``
        and the feed scripts then share one connection, as ``WAIT`` requires. A slot that moved (failover)
        fails the batch with ``MOVED`` or a closed connection, like any failed append: the slot map is read
        again and the phones resend."""
        if node is None:
            return self.redis
        client = self._shard_clients.get(node.name)
        if client is None:
            options = {**node.connection_kwargs, "retry": Retry(NoBackoff(), 0)}  # never resend a write
            pool = aioredis.ConnectionPool(connection_class=node.connection_class, **options)
            client = self._shard_clients[node.name] = aioredis.Redis(connection_pool=pool)
        return client

    async def _pipeline(self, node: ClusterNode | None, name: str, groups: list[list[_Write]]) -> list[Any]:
        pipe = self._shard_client(node).pipeline(transaction=False)
        for group in groups:
            code = group[0].code
            args: list[Any] = [group[0].fence, group[0].first, LOCK_TTL_MS]
            for write in group:
                args += write.encoded
            await self._script("append", [keys.log(code), keys.owner(code)], args, client=pipe)
        replicas = self._replicas.get(name, 0)
        if replicas:
            pipe.execute_command("WAIT", 1, REPLICA_WAIT_MS)
        publish = "SPUBLISH" if node is not None else "PUBLISH"
        for group in groups:
            code = group[0].code
            last = group[-1].first + len(group[-1].encoded) - 1
            await self._script("feed", [keys.log(code), keys.feed(code)], [group[0].first, last, publish], client=pipe)
        answers = list(await pipe.execute(raise_on_error=False))
        if replicas and not isinstance(answers[len(groups)], BaseException) and int(answers[len(groups)]) < 1:
            metrics.STORE_UNREPLICATED.inc(sum(len(g) for g in groups))
            log.warning("Redis %s: no replica confirmed %d appends within %d ms; acknowledged on the master's "
                        "AOF alone", name, sum(len(g) for g in groups), REPLICA_WAIT_MS)
        return answers[:len(groups)]

    async def _read_replicas(self) -> None:
        """How many replicas of each master are online now: ``WAIT`` asks for one where there is one."""
        found: dict[str, int] = {}
        if isinstance(self._redis, RedisCluster):
            for node in self._redis.get_primaries():
                info = await self._redis.execute_command("INFO", "replication", target_nodes=node)
                found[node.name] = _online_replicas(info)
        elif self._redis is not None:
            found["main"] = _online_replicas(await self._redis.info("replication"))
        self._replicas = found

    async def _watch_replicas(self) -> None:
        while not self._closing:  # the flag, not only the cancellation, ends it (see _stop)
            await asyncio.sleep(REPLICAS_EVERY)
            try:
                await self._read_replicas()
            except (RedisError, OSError) as exc:
                log.debug("could not read the replicas: %s", exc)
                await keys.refresh_slots(self.redis)

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
            await self._script("save", [keys.runs(code), keys.analysis(code), keys.owner(code)],
                               [fence, run, meta, data])
        except ResponseError as exc:
            if str(exc).startswith("FENCED"):
                raise Fenced("store_unavailable", "this server no longer owns the meeting") from None
            raise StoreUnavailable("store_unavailable", f"the analysis was not stored: {exc}") from None
        except (RedisError, OSError) as exc:
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
        except (RedisError, OSError) as exc:
            raise StoreUnavailable("store_unavailable", f"the meeting could not be read: {exc}") from exc
        return events or None

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        if limit <= 0:
            return []
        try:
            first = max(seq, 0)
            raw: Any = await keys.retrying(lambda: self.redis.lrange(keys.log(code), first, first + limit - 1))
        except (RedisError, OSError) as exc:
            raise StoreUnavailable("store_unavailable", f"the log could not be read: {exc}") from exc
        return [decode(r) for r in raw]

    async def last_seq(self, code: str) -> int:
        """The sequence number of the last durable event (0 for an unknown meeting)."""
        try:
            return int(await keys.retrying(lambda: self.redis.llen(keys.log(code))))
        except (RedisError, OSError) as exc:
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
        """A real write on every shard must be acknowledged: a PING succeeds on a Redis that refuses writes
        (read-only replica, ``MISCONF`` after a failed save, out of memory), and on a cluster one shard can
        be down while the others answer."""
        if self._redis is None:
            return False
        try:
            self._ensure_writer()
            probes = [self._redis.set(key, repr(time.time()), px=10_000) for key in self._probe_keys()]
            await asyncio.wait_for(asyncio.gather(*probes), HEALTH_TIMEOUT)
        except (RedisError, OSError, TimeoutError, StoreUnavailable):
            await keys.refresh_slots(self._redis)
            return False
        return True

    def _probe_keys(self) -> list[str]:
        """One key per master: hash tags tried in turn until every master has one (remembered)."""
        if not isinstance(self._redis, RedisCluster):
            return [keys.health(0)]
        primaries = {node.name for node in self._redis.get_primaries()}
        if set(self._health_keys) != primaries:
            self._health_keys = {}
            for tag in range(100_000):
                self._health_keys.setdefault(keys.node_of(self._redis, keys.health(tag)).name, keys.health(tag))
                if len(self._health_keys) == len(primaries):
                    break
        return list(self._health_keys.values())


def _online_replicas(info: dict[str, Any]) -> int:
    return sum(1 for name, value in info.items()
               if name.startswith("slave") and isinstance(value, dict) and value.get("state") == "online")
