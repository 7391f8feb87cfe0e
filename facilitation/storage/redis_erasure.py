"""Erasure and retention on Redis: replace events in a meeting's log, drop its analyses, delete it, keep
its documents, and rewrite the append-only files so that what was removed is gone from disk too.

Rare operations (a participant's erasure, a purge, a transcript import), so they go to Redis directly with
``EVAL`` instead of through the store's group-commit pipeline. The fenced ones check the owner lock in the
same script as the write, as the append script does.

**On disk.** Redis holds the data in memory; the disk holds its append-only file (AOF: a base file and
incremental files of every write ever made since the last rewrite) and, when snapshots are on, ``dump.rdb``.
A replaced log entry is still in the incremental AOF as the write that first stored it, until the AOF is
rewritten from memory (``BGREWRITEAOF``), after which Redis deletes the old files. :meth:`compact` rewrites
on every node that holds data (a cluster's primaries and replicas; one node's connected replicas) and waits
until each has finished; with snapshots on it also saves a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

from facilitation.core.codec import StoreRefused, encode
from facilitation.core.events import Event
from facilitation.storage import redis_keys as keys
from facilitation.storage.store import StoreUnavailable

if TYPE_CHECKING:
    from facilitation.storage.redis_keys import Client

__all__ = ["COMPACT_TIMEOUT", "RedisErasure"]

COMPACT_TIMEOUT = 120.0
"""Seconds a node may take to rewrite its append-only file before :meth:`RedisErasure.compact` gives up."""
POLL = 0.05

_REDACT = """
-- KEYS: log, owner lock. ARGV: fence token ('' = none), then seq, event JSON pairs
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('FENCED the meeting has another owner now')
end
local n = redis.call('LLEN', KEYS[1])
for i = 2, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if seq < 1 or seq > n then
    return redis.error_reply('MISSING no event ' .. seq .. ' in a log of ' .. n)
  end
end
for i = 2, #ARGV, 2 do
  redis.call('LSET', KEYS[1], tonumber(ARGV[i]) - 1, ARGV[i + 1])
end
return (#ARGV - 1) / 2
"""

_DROP_ANALYSES = """
-- KEYS: runs, analysis, owner lock. ARGV: fence token
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return redis.error_reply('FENCED the meeting has another owner now')
end
return redis.call('DEL', KEYS[1], KEYS[2])
"""


def _refused(exc: ResponseError, what: str) -> Exception:
    message = str(exc)
    if message.startswith("FENCED"):
        from facilitation.storage.redis_store import Fenced

        return Fenced("store_unavailable", "this server no longer owns the meeting; resend")
    if message.startswith("MISSING"):
        return StoreRefused("store_refused", f"{what}: {message.removeprefix('MISSING ')}")
    return StoreUnavailable("store_unavailable", f"{what}: {message}")


class RedisErasure:
    """The store's erasure and retention methods (see :class:`~facilitation.storage.store.Store`); mixed
    into :class:`~facilitation.storage.redis_store.RedisStore`, whose client and URL they use."""

    url: str

    @property
    def redis(self) -> Client:  # provided by RedisStore
        raise NotImplementedError

    async def redact(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        if not events:
            return
        args: list[Any] = [fence]
        for event in events:
            args += [event.seq, encode(event)]
        try:
            await self.redis.eval(_REDACT, 2, keys.log(code), keys.owner(code), *args)
        except ResponseError as exc:
            raise _refused(exc, "the events were not replaced") from None
        except (RedisError, OSError) as exc:
            raise StoreUnavailable("store_unavailable", f"the events were not replaced: {exc}") from exc

    async def drop_analyses(self, code: str, fence: str = "") -> None:
        try:
            await self.redis.eval(_DROP_ANALYSES, 3, keys.runs(code), keys.analysis(code),
                                  keys.owner(code), fence)
        except ResponseError as exc:
            raise _refused(exc, "the analyses were not deleted") from None
        except (RedisError, OSError) as exc:
            raise StoreUnavailable("store_unavailable", f"the analyses were not deleted: {exc}") from exc

    async def delete_meeting(self, code: str) -> bool:
        meeting_keys = [keys.log(code), keys.owner(code), keys.epoch(code), keys.runs(code), keys.analysis(code),
                        keys.documents(code)]
        try:
            deleted = int(await self.redis.delete(*meeting_keys))  # one hash tag: one slot, one command
            deleted += int(await self.redis.zrem(keys.MEETINGS, code))
        except (RedisError, OSError) as exc:
            raise StoreUnavailable("store_unavailable", f"the meeting was not deleted: {exc}") from exc
        return deleted > 0

    async def save_document(self, code: str, name: str, text: str) -> None:
        try:
            if not text.isascii():
                text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StoreRefused("store_refused", f"the document cannot be stored: {exc.reason}") from None
        try:
            await self.redis.hset(keys.documents(code), name, text)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable("store_unavailable", f"the document was not stored: {exc}") from exc

    async def load_document(self, code: str, name: str) -> str | None:
        try:
            text = await self.redis.hget(keys.documents(code), name)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable("store_unavailable", f"the document could not be read: {exc}") from exc
        return None if text is None else str(text)

    async def compact(self) -> None:
        try:
            clients = await self._data_nodes()
            try:
                await asyncio.gather(*(_rewrite(client) for client in clients))
            finally:
                for client in clients:
                    if client is not self.redis:
                        await client.aclose()
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreUnavailable("store_unavailable", f"the append-only files were not rewritten: {exc}") from exc

    async def _data_nodes(self) -> list[Any]:
        """A single-node client for every node that keeps the data on disk: a cluster's primaries and
        replicas, or this node and its connected replicas."""
        if isinstance(self.redis, RedisCluster):
            # the client knows the primaries only; CLUSTER NODES lists the replicas too (skipping those
            # marked failed or without an address: a dead node's files are the operator's to wipe)
            listed = await self.redis.cluster_nodes()
            targets = [address.rpartition(":") for address, node in listed.items()
                       if node.get("connected") and "fail" not in str(node.get("flags", "")).replace("pfail", "")]
            return [_node_client(keys.node_url(self.url, host, port)) for host, _, port in targets]
        clients: list[Any] = [self.redis]
        info = await self.redis.info("replication")
        for name, value in info.items():
            if name.startswith("slave") and isinstance(value, dict) and value.get("state") == "online":
                clients.append(_node_client(keys.node_url(self.url, value["ip"], value["port"])))
        return clients


def _node_client(url: str) -> Any:
    """A plain client of one node (a cluster client would route by key; these commands have none)."""
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=keys.CONNECT_TIMEOUT,
                                   socket_timeout=COMPACT_TIMEOUT)


async def _rewrite(client: Any) -> None:
    """Rewrite one node's append-only file (and save a snapshot when it takes snapshots), started after
    the call: a rewrite already running forked before the erasure and still holds the old data, so it is
    waited out and ours started after it."""
    deadline = time.monotonic() + COMPACT_TIMEOUT
    if int((await client.info("persistence")).get("aof_enabled", 0)):
        await _run(client, "BGREWRITEAOF", deadline)
    if str((await client.config_get("save")).get("save", "")).strip():
        await _run(client, "BGSAVE", deadline)


async def _run(client: Any, command: str, deadline: float) -> None:
    started = False
    while time.monotonic() < deadline:
        persistence = await client.info("persistence")
        busy = any(int(persistence.get(flag, 0)) for flag in (
            "aof_rewrite_in_progress", "aof_rewrite_scheduled", "rdb_bgsave_in_progress"))
        if started and not busy:
            status = persistence.get("aof_last_bgrewrite_status" if command == "BGREWRITEAOF"
                                     else "rdb_last_bgsave_status", "ok")
            if status != "ok":
                raise RedisError(f"{command} failed on a node ({status})")
            return
        if not started:
            try:
                await client.execute_command(command)
                started = True  # started, or scheduled after a save that forks later: either way after us
            except ResponseError as exc:
                if "in progress" not in str(exc):
                    raise  # another rewrite is running: it forked before us; wait it out, then start ours
        await asyncio.sleep(POLL)
    raise TimeoutError(f"a node did not finish {command} within {COMPACT_TIMEOUT:.0f} s")
