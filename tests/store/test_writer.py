"""The one commit path (facilitation/live/writer.py) on both backends: a bad item fails only its own command,
the replica never runs ahead of the durable log, and an ack's seq is durable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from facilitation.bus import open_bus
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, Vote, hash_secret
from facilitation.eventlog.port import EventLog, open_event_log
from facilitation.live.writer import LogWriter
from facilitation.store import Store, StoreRefused, open_store
from tests.support.cluster import RedisClusterServer
from tests.support.servers import RedisServer

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["sqlite", "redis", "cluster"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}", None
    name = "redis_server" if request.param == "redis" else "redis_cluster"
    server: RedisServer | RedisClusterServer = request.getfixturevalue(name)
    return server.url, server.url


@pytest_asyncio.fixture
async def backend(urls: tuple[str, str | None]) -> AsyncIterator[tuple[Store, EventLog]]:
    store = open_store(urls[0])
    bus = open_bus(urls[1], backfill=store.events_since)
    await store.start()
    await bus.start()
    try:
        yield store, open_event_log(store, bus)
    finally:
        await bus.close()
        await store.close()


async def _writer(store: Store, event_log: EventLog) -> tuple[LogWriter, int]:
    """A stored meeting in the collecting phase with one participant; returns its writer and that id."""
    code = uuid.uuid4().hex[:8].upper()
    meeting, events = Meeting.create(code, MeetingSettings(title="w"), hash_secret("k"), 1.0, ["one", "two"])
    await store.create_meeting(code, events)
    writer = LogWriter(meeting, event_log)
    await writer.submit(SetPhase("collecting", op="open"))
    joined = await writer.submit(Join(hash_secret(uuid.uuid4().hex)))
    return writer, int(joined.result["participant"])


async def test_an_unstorable_command_fails_alone_and_another_meeting_keeps_acking(
        backend: tuple[Store, EventLog]) -> None:
    """A vote whose op holds a lone surrogate reaches the store: only it fails (store_refused); the replica
    is rebuilt from the log, the same meeting's next vote and another meeting's votes are durable."""
    store, event_log = backend
    bad_meeting, alice = await _writer(store, event_log)
    other, bob = await _writer(store, event_log)
    before = bad_meeting.meeting.seq
    results = await asyncio.gather(
        bad_meeting.submit(Vote(alice, 1, "agree", "\ud800")),
        *(other.submit(Vote(bob, s, "agree", f"ok-{s}")) for s in other.meeting.statements),
        return_exceptions=True)
    assert isinstance(results[0], StoreRefused) and results[0].code == "store_refused", results
    assert [r.seq for r in results[1:] if not isinstance(r, BaseException)] == [other.meeting.seq - 1,
                                                                               other.meeting.seq], results
    assert bad_meeting.meeting.seq == before == await store.last_seq(bad_meeting.code)
    assert alice not in bad_meeting.meeting.votes or 1 not in bad_meeting.meeting.votes[alice]
    committed = await bad_meeting.submit(Vote(alice, 1, "agree", "fine"))
    assert committed.seq == before + 1 == await store.last_seq(bad_meeting.code)
    assert await store.healthy()


async def test_ack_seq_is_durable_while_other_commands_are_in_flight(backend: tuple[Store, EventLog]) -> None:
    """Each command's seq is its own durable event, never a later one still in flight."""
    store, event_log = backend
    writer, alice = await _writer(store, event_log)
    first, second = list(writer.meeting.statements)[:2]
    commits = await asyncio.gather(*(writer.submit(Vote(alice, (first, second)[s % 2],
                                                        "agree" if s % 3 else "disagree", f"op-{s}"))
                                     for s in range(40)))
    seqs = [c.seq for c in commits]
    assert seqs == sorted(seqs) and len(set(seqs)) == 40
    durable = await store.last_seq(writer.code)
    assert max(seqs) == durable == writer.durable_seq
    repeat = await writer.submit(Vote(alice, second, "disagree", "op-39"))  # the same command again
    assert repeat.duplicate and repeat.seq <= durable
