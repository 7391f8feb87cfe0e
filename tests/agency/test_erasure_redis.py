"""A participant's erasure and a host's deletion with Redis as the store (AOF on): afterwards no Redis key
and no file of the Redis directory (the append-only files, rewritten) holds the planted statement or
nickname, and no export does. Each scan first finds the planted words."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from facilitation.tools.client import MeetingClient
from tests.agency.test_erasure import FORMATS, PLANTED, _wait_for, exports, run_a_meeting
from tests.redis.support import redis_or_skip
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.asyncio

READ = {"string": ("GET",), "list": ("LRANGE", "0", "-1"), "hash": ("HGETALL",), "zset": ("ZRANGE", "0", "-1"),
        "set": ("SMEMBERS",), "stream": ("XRANGE", "-", "+")}


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          timeout=scaled(30)).stdout


def keys_holding(port: int) -> list[str]:
    """Every key read whole (by its type) and searched, its name too."""
    hits = []
    for key in _cli(port, "--scan").split():
        kind = _cli(port, "TYPE", key).strip()
        value = _cli(port, "--raw", READ[kind][0], key, *READ[kind][1:]) if kind in READ else ""
        if kind not in READ:
            hits.append(f"{key}: unexpected type {kind}")
        hits += [f"{key}: {n.decode()}" for n in PLANTED if n.decode() in value + key]
    return hits


def files_holding(folder: Path) -> list[str]:
    return [f"{p.relative_to(folder)}: {n.decode()}" for p in sorted(folder.rglob("*")) if p.is_file()
            for n in PLANTED if n in p.read_bytes()]


async def test_erasure_and_deletion_leave_nothing_in_redis_keys_or_files() -> None:
    """AOF on: after a phone's erasure and after a host's deletion, no Redis key, no file of the Redis
    directory and no export holds the planted statement or nickname (the scans see them first)."""
    redis = redis_or_skip()
    server = ServerProcess(redis.url, redis=redis.url).start()
    folder = Path(redis.dir)
    try:
        assert _cli(redis.port, "CONFIG", "SET", "rdbcompression", "no").strip() == "OK"
        created, planted, others = await run_a_meeting(server.url)
        code, key = created["code"], created["host_key"]
        token = {"x-participant-token": planted.token or ""}
        await _wait_for(lambda: _on_map(server.url, code, planted.participant), 60, "the phone on the map")
        assert keys_holding(redis.port) and files_holding(folder), "the scans must see the planted words first"
        erased = httpx.post(f"{server.url}/api/meetings/{code}/erase", headers=token, timeout=scaled(120))
        assert erased.status_code == 200, erased.text
        await _wait_for(lambda: _on_map(server.url, code, None), 60, "the map to run again without the phone")
        after = exports(server.url, code, key)
        assert {f: [n.decode() for n in PLANTED if n.decode() in t] for f, t in after.items()} == \
            {f: [] for f in FORMATS}
        assert keys_holding(redis.port) == []
        assert files_holding(folder) == []

        # a second meeting, deleted by its host: its keys go and the rewritten files hold nothing of it
        second, phone, rest = await run_a_meeting(server.url)
        assert keys_holding(redis.port)
        deleted = httpx.delete(f"{server.url}/api/meetings/{second['code']}",
                               headers={"x-host-key": second["host_key"]}, timeout=scaled(120))
        assert deleted.status_code == 200, deleted.text
        assert [k for k in _cli(redis.port, "--scan").split() if second["code"] in k] == []
        assert keys_holding(redis.port) == [] and files_holding(folder) == []
        for client in (planted, *others, phone, *rest):
            await client.close()
    finally:
        server.stop()
        redis.kill()
        redis.stop()


async def _on_map(url: str, code: str, participant: int | None) -> bool:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/api/meetings/{code}/analysis", timeout=scaled(10))
    if response.status_code != 200:
        return False
    points = response.json()["points"]["participants"]
    return participant in points if participant is not None else len(points) == 5



async def test_with_two_workers_every_worker_drops_the_erased_participant() -> None:
    """Two server processes share one Redis: the erasure is refused (503, retry) by the worker that does not
    own the meeting and done by the one that does; afterwards both workers serve the meeting without the
    participant (their rooms were dropped and replayed from the redacted log), and phones on both were told
    to reload."""
    from tests.redis.support import worker

    redis = redis_or_skip()
    first, second = worker(redis).start(), worker(redis).start()
    try:
        created, planted, others = await run_a_meeting(first.url)
        code = created["code"]
        watcher = MeetingClient(second.url, code, "participant", nickname="另一台的手機")
        await watcher.connect(timeout=scaled(10))
        token = {"x-participant-token": planted.token or ""}
        for url in (first.url, second.url):
            before = httpx.get(f"{url}/api/meetings/{code}", timeout=scaled(10)).json()["counters"]
            assert before["votes"] == 4 * 6 + 5 + 1  # seeds by everyone, theirs by the others and its author
        answers = []
        for url in (second.url, first.url, second.url, first.url):
            response = httpx.post(f"{url}/api/meetings/{code}/erase", headers=token, timeout=scaled(120))
            answers.append(response.status_code)
            if response.status_code == 200:
                break
        assert answers[-1] == 200 and set(answers[:-1]) <= {503}, answers
        await _wait_for(lambda: _closed(watcher), 10, "the phone on the other worker told to reload")
        assert watcher.close_code == 4010
        for url in (first.url, second.url):
            after = httpx.get(f"{url}/api/meetings/{code}", timeout=scaled(10)).json()["counters"]
            assert after["votes"] == 4 * 5, (url, after)
        assert keys_holding(redis.port) == [] and files_holding(Path(redis.dir)) == []
        for client in (planted, *others, watcher):
            await client.close()
    finally:
        first.stop()
        second.stop()
        redis.kill()
        redis.stop()


async def _closed(client: MeetingClient) -> bool:
    return client.closed.is_set()


async def test_with_two_workers_a_deleted_meeting_is_gone_from_both() -> None:
    """Two server processes share one Redis: the host's DELETE is refused (503, retry) by the worker that
    does not own the meeting and done by the one that does; phones on both workers are closed with 4004,
    both then answer 404 for the code, and no Redis key or file holds the planted words."""
    from tests.redis.support import worker

    redis = redis_or_skip()
    first, second = worker(redis).start(), worker(redis).start()
    try:
        created, planted, others = await run_a_meeting(first.url)
        code = created["code"]
        watcher = MeetingClient(second.url, code, "participant", nickname="另一台的手機")
        await watcher.connect(timeout=scaled(10))
        assert keys_holding(redis.port), "the scan must see the planted words before the deletion"
        answers = []
        for url in (second.url, first.url, second.url, first.url):
            response = httpx.delete(f"{url}/api/meetings/{code}", headers={"x-host-key": created["host_key"]},
                                    timeout=scaled(120))
            answers.append(response.status_code)
            if response.status_code == 200:
                break
        assert answers[-1] == 200 and set(answers[:-1]) <= {503}, answers
        await _wait_for(lambda: _closed(watcher), 10, "the phone on the other worker closed")
        await _wait_for(lambda: _closed(planted), 10, "the phone on the owner closed")
        assert watcher.close_code == 4004 and planted.close_code == 4004
        for url in (first.url, second.url):
            assert httpx.get(f"{url}/api/meetings/{code}", timeout=scaled(10)).status_code == 404, url
        assert [k for k in _cli(redis.port, "--scan").split() if code in k] == []
        assert keys_holding(redis.port) == [] and files_holding(Path(redis.dir)) == []
        for client in (planted, *others, watcher):
            await client.close()
    finally:
        first.stop()
        second.stop()
        redis.kill()
        redis.stop()
