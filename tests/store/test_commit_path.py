"""The commit path's shortcuts (facilitation/live/writer.py, fanout.py) keep their rules: a writer folds the
durable events it did not apply and only those, the fan-out publishes a redelivered event once, and the
embedded writer's acks stay durable and in order under a burst."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, Vote, hash_secret
from facilitation.live.fanout import Fanout
from facilitation.live.writer import EMBEDDED, LogWriter
from facilitation.storage import EventLog, open_event_log

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def event_log(tmp_path: Path) -> AsyncIterator[EventLog]:
    log = open_event_log(f"sqlite:///{tmp_path / 'store.db'}")
    await log.start()
    try:
        yield log
    finally:
        await log.close()


async def _meeting(event_log: EventLog, phones: int) -> tuple[LogWriter, list[int], list[Event]]:
    """A stored meeting in the collecting phase with ``phones`` participants, and every event it holds."""
    code = uuid.uuid4().hex[:8].upper()
    meeting, events = Meeting.create(code, MeetingSettings(title="c"), hash_secret("k"), 1.0, ["one", "two"])
    writer = LogWriter(meeting, event_log)
    await writer.create(events)
    await writer.submit(SetPhase("collecting", op="open"))
    ids = []
    for _ in range(phones):
        joined = await writer.submit(Join(hash_secret(uuid.uuid4().hex)))
        ids.append(int(joined.result["participant"]))
    return writer, ids, await event_log.load(code) or []


async def test_the_embedded_authority_decides_here() -> None:
    """The embedded authority says "apply here" without being awaited (the writer's fast path)."""
    assert EMBEDDED.decides_here() and EMBEDDED.is_owner()


async def test_a_writer_folds_what_it_did_not_apply_and_only_that(event_log: EventLog) -> None:
    """Events of another writer (ahead of the replica) are folded; its own events heard back are not folded
    twice (the tallies would count each vote twice)."""
    writer, (alice, bob), _ = await _meeting(event_log, 2)
    replica = LogWriter(Meeting.replay(await event_log.load(writer.code) or []), event_log)
    before = replica.meeting.seq
    first = await writer.submit(Vote(alice, 0, "agree", "a1"))
    second = await writer.submit(Vote(bob, 0, "disagree", "b1"))
    heard = [*first.events, *second.events]
    replica.observe(heard)
    assert replica.meeting.seq == before + 2 == replica.durable_seq
    assert replica.meeting.votes[alice][0] == "agree" and replica.meeting.votes[bob][0] == "disagree"
    writer.observe(heard)  # its own events, heard back from the bus
    for meeting in (writer.meeting, replica.meeting):
        assert meeting.statements[0].tally == {"agree": 1, "disagree": 1}
        assert meeting.vote_count == 2


async def test_a_partly_redelivered_batch_is_folded_from_where_the_replica_is(event_log: EventLog) -> None:
    """A batch that starts behind the replica and ends ahead of it: only the events ahead are folded."""
    writer, (alice,), _ = await _meeting(event_log, 1)
    replica = LogWriter(Meeting.replay(await event_log.load(writer.code) or []), event_log)
    first = await writer.submit(Vote(alice, 0, "agree", "a1"))
    replica.observe(first.events)
    second = await writer.submit(Vote(alice, 0, "disagree", "a2"))
    replica.observe([*first.events, *second.events])
    assert replica.meeting.statements[0].tally == writer.meeting.statements[0].tally
    assert replica.meeting.vote_count == writer.meeting.vote_count


async def test_the_fanout_publishes_a_redelivered_event_once(event_log: EventLog) -> None:
    """Events already published here are dropped from a redelivery; a batch all new is published whole."""
    writer, (alice,), _ = await _meeting(event_log, 1)
    fanout = Fanout(writer.code, writer, event_log)
    first = (await writer.submit(Vote(alice, 0, "agree", "a1"))).events
    second = (await writer.submit(Vote(alice, 1, "agree", "a2"))).events
    assert list(fanout.unseen(first)) == first
    fanout.publish(first)
    assert list(fanout.unseen([*first, *second])) == second
    assert list(fanout.unseen(first)) == []
    fanout.publish([*first, *second])
    assert fanout.delivered_seq == second[-1].seq


async def test_a_burst_of_votes_is_acked_durable_and_in_order(event_log: EventLog) -> None:
    """Votes submitted in one turn share a group commit: each ack names its own event's seq, every acked seq
    is in the log, and seqs follow submission order."""
    writer, phones, _ = await _meeting(event_log, 20)
    committed = await asyncio.gather(*(writer.submit(Vote(p, 1, "agree", f"v{p}")) for p in phones))
    seqs = [c.seq for c in committed]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [c.events[-1].seq for c in committed] == seqs
    stored = {e.seq for e in await event_log.load(writer.code) or []}
    assert set(seqs) <= stored and writer.durable_seq >= seqs[-1]
