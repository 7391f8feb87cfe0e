"""The one commit path (facilitation/live/writer.py) on both backends: a bad item fails only its own command,
the replica never runs ahead of the durable log, and an ack's seq is durable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio

from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, Vote, hash_secret
from facilitation.live.writer import LogWriter
from facilitation.storage import EventLog, MeetingExists, Store, StoreRefused, open_event_log
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
    """The backend the URL chooses, and its store (to read what is durable behind the writer's back)."""
    event_log = open_event_log(urls[0])
    await event_log.start()
    try:
        yield event_log.store, event_log  # type: ignore[attr-defined]
    finally:
        await event_log.close()


async def _writer(store: Store, event_log: EventLog) -> tuple[LogWriter, int]:
    """A stored meeting in the collecting phase with one participant; returns its writer and that id."""
    code = uuid.uuid4().hex[:8].upper()
    meeting, events = Meeting.create(code, MeetingSettings(title="w"), hash_secret("k"), 1.0, ["one", "two"])
    writer = LogWriter(meeting, event_log)
    await writer.create(events)
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


async def test_creation_and_analysis_saves_go_through_the_writer(backend: tuple[Store, EventLog]) -> None:
    """The writer stores a new meeting (a taken code is refused) and its published analyses, and the port
    reads back exactly what it wrote."""
    store, event_log = backend
    writer, _ = await _writer(store, event_log)
    again = LogWriter(writer.meeting, event_log)
    with pytest.raises(MeetingExists):
        await again.create((await store.load(writer.code) or [])[:2])
    await writer.save_analysis(1, writer.durable_seq, 5.0, {"groups": [[0, 1]], "text": "共識"})
    saved = await event_log.load_analysis(writer.code)
    assert saved == {"run": 1, "seq": writer.durable_seq, "at": 5.0, "result": {"groups": [[0, 1]], "text": "共識"}}
    assert [r["run"] for r in await event_log.analysis_runs(writer.code)] == [1]


async def test_the_backend_is_chosen_by_the_url_scheme_alone(tmp_path: Path) -> None:
    """sqlite:// opens the embedded backend, redis:// the Redis one (no connection made yet); anything else
    is refused with the schemes that work."""
    assert type(open_event_log(f"sqlite:///{tmp_path / 'x.db'}")).__name__ == "EmbeddedLog"
    assert type(open_event_log("redis://127.0.0.1:1/0")).__name__ == "RedisLog"
    with pytest.raises(ValueError, match="sqlite:///path or redis://"):
        open_event_log("postgres://db/meetings")


class _CountingLog:
    """The real backend, with its appends counted (what the writer sends it, nothing replaced)."""

    def __init__(self, inner: EventLog) -> None:
        self.inner = inner
        self.appends: list[int] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        self.appends.append(len(events))
        await self.inner.append(code, events, fence)


async def test_commands_decided_in_one_turn_are_one_append_and_each_ack_is_durable(
        backend: tuple[Store, EventLog]) -> None:
    """Group commit: 40 votes submitted in one turn of the loop reach the log as one append, and every
    command returns only once its own event is durable."""
    store, event_log = backend
    counting = _CountingLog(event_log)
    writer, alice = await _writer(store, counting)  # type: ignore[arg-type]
    statements = list(writer.meeting.statements)
    counting.appends.clear()
    durable_at_return: list[int] = []

    async def vote(s: int) -> int:
        committed = await writer.submit(Vote(alice, statements[s % 2], ("agree", "disagree")[s % 2 ^ (s // 2) % 2],
                                             f"g-{s}"))
        durable_at_return.append(await store.last_seq(writer.code))
        return committed.seq

    seqs = await asyncio.gather(*(vote(s) for s in range(40)))
    assert counting.appends == [40], counting.appends
    assert all(durable >= seq for durable, seq in zip(durable_at_return, seqs, strict=True))


async def test_an_unstorable_command_in_a_group_fails_alone(backend: tuple[Store, EventLog]) -> None:
    """In one turn: two good votes, one whose op cannot be stored, one more. The two before it are durable
    and acknowledged, it alone is store_refused, the one after it is told to resend (store_unavailable), and
    resent it is durable."""
    store, event_log = backend
    writer, alice = await _writer(store, event_log)
    first, second = list(writer.meeting.statements)[:2]
    before = writer.meeting.seq
    results = await asyncio.gather(
        writer.submit(Vote(alice, first, "agree", "a")),
        writer.submit(Vote(alice, second, "agree", "b")),
        writer.submit(Vote(alice, first, "disagree", "\ud800")),
        writer.submit(Vote(alice, second, "disagree", "d")),
        return_exceptions=True)
    assert [getattr(r, "seq", None) for r in results[:2]] == [before + 1, before + 2], results
    assert isinstance(results[2], StoreRefused) and results[2].code == "store_refused", results
    assert isinstance(results[3], ClientError) and results[3].code == "store_unavailable", results
    assert await store.last_seq(writer.code) == before + 2
    resent = await writer.submit(Vote(alice, second, "disagree", "d"))
    assert resent.seq == before + 3 == await store.last_seq(writer.code)
