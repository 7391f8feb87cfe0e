"""The store's erasure and retention methods behave the same on SQLite, one Redis node and a Redis Cluster:
replace events in place, drop analyses, delete a meeting, keep documents, compact."""

from __future__ import annotations

import uuid

import pytest

from facilitation.core.events import Event, MeetingCreated, StatementPosted, VoteCast
from facilitation.storage import Store, StoreRefused

pytestmark = pytest.mark.asyncio


def _code() -> str:
    return uuid.uuid4().hex[:8].upper()


def _meeting(code: str) -> list[Event]:
    return [
        MeetingCreated(1, 1000.0, code, {"title": "t"}, "hash"),
        StatementPosted(2, 1000.0, 0, "公園要有樹蔭", None, True, "accepted", "seed-0"),
        VoteCast(3, 1001.0, 0, 0, "agree", "v0"),
        VoteCast(4, 1002.0, 1, 0, "disagree", "v1"),
    ]


async def test_redact_replaces_events_in_place(store: Store) -> None:
    """Redacted events come back under their own seq, the others untouched, and the log goes on."""
    code = _code()
    await store.create_meeting(code, _meeting(code))
    await store.redact(code, [StatementPosted(2, 1000.0, 0, "", None, True, "hidden", ""),
                              VoteCast(4, 1002.0, 1, 0, "pass", "")])
    events = await store.load(code)
    assert events is not None and [e.seq for e in events] == [1, 2, 3, 4]
    assert isinstance(events[1], StatementPosted) and events[1].text == "" and events[1].state == "hidden"
    assert isinstance(events[3], VoteCast) and events[3].value == "pass"
    assert events[2] == _meeting(code)[2]
    assert await store.last_seq(code) == 4
    await store.append(code, [VoteCast(5, 1003.0, 2, 0, "agree", "v2")])
    assert await store.last_seq(code) == 5


async def test_redact_of_an_event_not_stored_is_refused_and_changes_nothing(store: Store) -> None:
    """A seq beyond the log (or of an unknown meeting) refuses the whole redaction: nothing replaced."""
    code = _code()
    await store.create_meeting(code, _meeting(code))
    with pytest.raises(StoreRefused):
        await store.redact(code, [VoteCast(3, 1001.0, 0, 0, "pass", ""), VoteCast(9, 1.0, 0, 0, "pass", "")])
    assert await store.load(code) == _meeting(code)


async def test_drop_analyses_removes_every_run(store: Store) -> None:
    """After drop_analyses no run is listed or loadable; a new run can be saved."""
    code = _code()
    await store.create_meeting(code, _meeting(code))
    for run in (1, 2):
        await store.save_analysis(code, run, 4, 1005.0 + run, {"positions": {"0": [0.1, 0.2]}})
    await store.drop_analyses(code)
    assert await store.analysis_runs(code) == [] and await store.load_analysis(code) is None
    await store.save_analysis(code, 3, 4, 1010.0, {"positions": {}})
    assert [r["run"] for r in await store.analysis_runs(code)] == [3]


async def test_documents_round_trip_and_are_replaced(store: Store) -> None:
    """A document saved under a name loads back; saving again replaces it; an unknown one is None."""
    code = _code()
    await store.create_meeting(code, _meeting(code))
    assert await store.load_document(code, "transcript") is None
    await store.save_document(code, "transcript", "### 主持人：\n\n大家好。")
    await store.save_document(code, "transcript", "### 主持人：\n\n大家好，開始吧。")
    assert await store.load_document(code, "transcript") == "### 主持人：\n\n大家好，開始吧。"


async def test_delete_meeting_leaves_nothing_and_frees_the_code(store: Store) -> None:
    """Deleting removes the log, analyses, documents and the listing; a second delete finds nothing; the
    code can be used for a new meeting."""
    code = _code()
    await store.create_meeting(code, _meeting(code))
    await store.save_analysis(code, 1, 4, 1005.0, {"positions": {}})
    await store.save_document(code, "transcript", "### 甲：\n\n話。")
    assert await store.delete_meeting(code) is True
    assert await store.load(code) is None and await store.last_seq(code) == 0
    assert await store.analysis_runs(code) == [] and await store.load_document(code, "transcript") is None
    assert code not in await store.meeting_codes()
    assert await store.delete_meeting(code) is False
    await store.create_meeting(code, _meeting(code)[:1])
    await store.append(code, [StatementPosted(2, 2000.0, 0, "新的", None, True, "accepted", "s")])
    assert await store.last_seq(code) == 2


async def test_compact_keeps_what_is_stored(store: Store) -> None:
    """Compaction changes nothing a reader sees, and the store keeps taking writes afterwards."""
    code = _code()
    await store.create_meeting(code, _meeting(code))
    await store.compact()
    assert await store.load(code) == _meeting(code)
    await store.append(code, [VoteCast(5, 1003.0, 2, 0, "agree", "v2")])
    assert await store.last_seq(code) == 5
