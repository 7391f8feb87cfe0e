"""Nothing left behind on disk: after events are replaced (an erasure) or a meeting is deleted (a purge) and
the store compacts, a planted statement text and nickname are in no byte of the SQLite file and its WAL,
in no Redis key, and in no file of any Redis node's directory (append-only files, replicas included).
Each test first finds the planted text on disk, so the scan is shown to see what it looks for."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest

from facilitation.core.events import Event, MeetingCreated, ParticipantJoined, StatementPosted, VoteCast
from facilitation.storage import Store, open_store
from tests.support.cluster import RedisClusterServer
from tests.support.servers import RedisServer, scaled

pytestmark = pytest.mark.asyncio

TEXT = "種在資料庫裡的秘密意見：公園東側應設置夜間照明"
NICKNAME = "陳秘密暱稱"
PLANTED = (TEXT.encode(), NICKNAME.encode())


def planted_meeting(code: str) -> list[Event]:
    return [
        MeetingCreated(1, 1000.0, code, {"title": "公聽會"}, "hash"),
        ParticipantJoined(2, 1001.0, 0, "a" * 64, NICKNAME, ""),
        StatementPosted(3, 1002.0, 0, TEXT, 0, False, "accepted", "p1"),
        VoteCast(4, 1003.0, 0, 0, "agree", "v1"),
    ]


def scrubbed(code: str) -> list[Event]:
    """What an erasure leaves of the planted events: the same seqs, without the words or the nickname."""
    return [ParticipantJoined(2, 1001.0, 0, "erased", "", ""),
            StatementPosted(3, 1002.0, 0, "", None, False, "hidden", ""),
            VoteCast(4, 1003.0, 0, 0, "pass", "")]


def found_in_files(folder: Path) -> list[str]:
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [f"{path.relative_to(folder)}: {needle.decode()}" for needle in PLANTED if needle in data]
    return hits


async def fill(store: Store, code: str) -> None:
    await store.create_meeting(code, planted_meeting(code))
    await store.save_analysis(code, 1, 4, 1004.0, {"statements": {"0": TEXT}, "people": {"0": NICKNAME}})
    for i in range(200):  # enough writes that the planted rows sit among others
        await store.append(code, [VoteCast(5 + i, 1005.0 + i, 1 + i, 0, "agree", f"x{i}")])


async def erase_and_compact(store: Store, code: str, other: str) -> None:
    await store.redact(code, scrubbed(code))
    await store.drop_analyses(code)
    assert await store.delete_meeting(other)
    await store.compact()


async def test_sqlite_file_holds_nothing_after_erasure_and_purge(tmp_path: Path) -> None:
    """SQLite (secure_delete, checkpoint, VACUUM): neither the erased meeting's words nor a deleted
    meeting's are in the database file or its WAL."""
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    await store.start()
    try:
        await fill(store, "ERASED")
        await fill(store, "PURGED")
        assert found_in_files(tmp_path), "the scan must see the planted text before erasure"
        await erase_and_compact(store, "ERASED", "PURGED")
        assert found_in_files(tmp_path) == []
        events = await store.load("ERASED")
        assert events is not None and len(events) == 204 and await store.load("PURGED") is None
    finally:
        await store.close()
    assert found_in_files(tmp_path) == []


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          timeout=scaled(30)).stdout


READ = {"string": ("GET",), "list": ("LRANGE", "0", "-1"), "hash": ("HGETALL",), "zset": ("ZRANGE", "0", "-1"),
        "set": ("SMEMBERS",)}


def keys_holding_the_planted_text(ports: list[int]) -> list[str]:
    """Every key of every master read whole (by its type) and searched, its name too."""
    hits = []
    for port in ports:
        if not _cli(port, "ROLE").startswith("master"):
            continue  # a replica holds its master's keys
        for key in _cli(port, "--scan").split():
            kind = _cli(port, "TYPE", key).strip()
            value = _cli(port, "--raw", READ[kind][0], key, *READ[kind][1:]) if kind in READ else ""
            if kind not in READ:
                hits.append(f"{port} {key}: unexpected type {kind}")
            hits += [f"{port} {key}" for needle in PLANTED if needle.decode() in value + key]
    return hits


async def redis_case(url: str, ports: list[int], folder: Path) -> None:
    for port in ports:  # strings stored uncompressed in rewritten files, so a leftover could not hide
        assert _cli(port, "CONFIG", "SET", "rdbcompression", "no").strip() == "OK"
    store = open_store(url)
    await store.start()
    erased, purged = f"E{uuid.uuid4().hex[:7].upper()}", f"P{uuid.uuid4().hex[:7].upper()}"
    try:
        await fill(store, erased)
        await fill(store, purged)
        await asyncio.sleep(scaled(0.5))  # replicas copy the writes
        assert found_in_files(folder), "the scan must see the planted text before erasure"
        await erase_and_compact(store, erased, purged)
        assert keys_holding_the_planted_text(ports) == []
        assert found_in_files(folder) == []
        events = await store.load(erased)
        assert events is not None and len(events) == 204 and await store.load(purged) is None
    finally:
        await store.close()


async def test_redis_node_and_its_files_hold_nothing_after_erasure_and_purge(tmp_path: Path) -> None:
    """One Redis node (AOF on): no key and no file of its directory holds the words after the rewrite."""
    from tests.redis.support import redis_or_skip

    server: RedisServer = redis_or_skip()
    try:
        await redis_case(server.url, [server.port], Path(server.dir))
    finally:
        server.kill()
        server.stop()


async def test_redis_cluster_and_every_nodes_files_hold_nothing(redis_cluster: RedisClusterServer) -> None:
    """A Redis Cluster: the shard's master and its replica both rewrite; no node's directory keeps the
    words."""
    await redis_case(redis_cluster.url, redis_cluster.ports, redis_cluster.dir)
