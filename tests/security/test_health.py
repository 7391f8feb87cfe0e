"""/healthz tells the truth about the ability to write: 503 within seconds when the store cannot take a
write (SQLite file made unwritable, Redis stopped), on every worker, and 200 again once it can.

How the SQLite file is made unwritable for root: ``chmod`` does not stop root, so the test sets the
immutable attribute (``chattr +i``) on the database file and its WAL. The kernel then refuses every write
to them, through file descriptors already open too, for root as for anyone, and ``chattr -i`` undoes it.
The ``-shm`` file is left alone: SQLite maps it into memory, and an immutable mapped file would make the
server crash with SIGBUS instead of failing its writes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facilitation.tools.client import MeetingClient, ServerError
from tests.redis.support import redis_or_skip, worker
from tests.security.wire import http_json, new_meeting, server_env
from tests.support.servers import RedisServer, ServerProcess, scaled


def _health(server: ServerProcess) -> int:
    try:
        return http_json("GET", server.url + "/healthz")[0]
    except OSError:
        return 0


def _wait_health(servers: list[ServerProcess], status: int, within: float) -> float:
    """Seconds until every server's /healthz answered ``status``; fails after ``within`` seconds."""
    started = time.monotonic()
    deadline = started + scaled(within)
    while time.monotonic() < deadline:
        if all(_health(s) == status for s in servers):
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"/healthz did not answer {status} within {within} s: "
                         f"{[http_json('GET', s.url + '/healthz') for s in servers]}")


def _immutable(paths: list[Path], on: bool) -> None:
    for path in paths:
        if path.exists():
            subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True, capture_output=True)


@pytest.fixture
def chattr_dir(tmp_path: Path) -> Path:
    """A directory on a filesystem where ``chattr +i`` works for this user (ext4 as root); else skip/fail."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    result = subprocess.run(["chattr", "+i", str(probe)], capture_output=True) if shutil.which("chattr") else None
    if result is None or result.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("chattr +i is not available here and CI=true")
        pytest.skip("chattr +i is not available (needs root on ext4/xfs)")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    return tmp_path


@pytest.mark.asyncio
async def test_sqlite_unwritable_makes_healthz_503_and_votes_fail_then_both_recover(chattr_dir: Path) -> None:
    """With the database immutable, /healthz turns 503 within seconds and a vote is refused with
    store_unavailable (not left hanging); once writable again, /healthz is 200 and votes are acked."""
    db = chattr_dir / "health.db"
    server = ServerProcess(f"sqlite:///{db}", env=server_env(FACILITATION_ANALYSIS="0")).start()
    files = [db, Path(f"{db}-wal")]
    phone: MeetingClient | None = None
    try:
        meeting = new_meeting(server, seeds=["one", "two"])
        host = MeetingClient(server.url, meeting["code"], "host", host_key=meeting["host_key"])
        await host.connect()
        await host.command("phase", phase="collecting")
        await host.close()
        phone = MeetingClient(server.url, meeting["code"])
        await phone.connect()
        await phone.vote(0, "agree", op="before")
        _immutable(files, True)
        took = await asyncio.to_thread(_wait_health, [server], 503, 5)
        print(f"\nhealthz 503 after {took:.2f} s")
        with pytest.raises(ServerError) as refused:
            await phone.vote(1, "agree", op="while-immutable")
        assert refused.value.code == "store_unavailable"
        _immutable(files, False)
        took = await asyncio.to_thread(_wait_health, [server], 200, 10)
        print(f"healthz 200 again after {took:.2f} s")
        ack = await phone.vote(1, "agree", op="after")
        assert ack["type"] == "ack" and int(ack["seq"]) > 0
        assert server.proc is not None and server.proc.poll() is None, "the server must not have crashed"
    finally:
        _immutable(files, False)
        if phone is not None:
            await phone.close()
        server.stop()


@pytest.fixture
def redis_pair() -> Iterator[tuple[RedisServer, list[ServerProcess]]]:
    redis = redis_or_skip()
    workers = [worker(redis).start(), worker(redis).start()]
    try:
        yield redis, workers
    finally:
        for w in workers:
            w.stop()
        redis.kill()
        redis.stop()


@pytest.mark.redis
@pytest.mark.asyncio
async def test_redis_stopped_makes_every_worker_503_then_recovers(
        redis_pair: tuple[RedisServer, list[ServerProcess]]) -> None:
    """Redis killed: both workers answer 503 within seconds (PING-only checks said 200 here before);
    Redis back on the same port and data: both answer 200 again."""
    redis, workers = redis_pair
    new_meeting(workers[0])
    _wait_health(workers, 200, 5)
    redis.kill()
    took = await asyncio.to_thread(_wait_health, workers, 503, 5)
    print(f"\nboth workers 503 after {took:.2f} s")
    redis.start()
    took = await asyncio.to_thread(_wait_health, workers, 200, 5)  # issue 26: ready within 5 s of Redis
    print(f"both workers 200 again after {took:.2f} s")
