"""The Store contract: the SQLite and Redis stores behave the same (one test suite, both backends)."""

from __future__ import annotations

import json
import uuid

import pytest

from facilitation.core.events import Event, MeetingCreated, StatementPosted, VoteCast
from facilitation.storage import MeetingExists, Store, StoreRefused, StoreUnavailable

pytestmark = pytest.mark.asyncio


def _code() -> str:
    return uuid.uuid4().hex[:8].upper()


def _created(code: str, at: float = 1000.0) -> list[Event]:
    return [
        MeetingCreated(1, at, code, {"title": "t"}, "hash"),
        StatementPosted(2, at, 1, "first", None, True, "accepted", "seed-0"),
    ]


def _votes(first_seq: int, n: int) -> list[Event]:
    return [VoteCast(first_seq + i, 1001.0 + i, i, 1, "agree", f"op{i}") for i in range(n)]


async def test_load_returns_created_events(store: Store) -> None:
    """A created meeting loads back with exactly its events, in order."""
    code = _code()
    await store.create_meeting(code, _created(code))
    assert await store.load(code) == _created(code)


async def test_unknown_meeting_loads_as_none(store: Store) -> None:
    """Loading a code that was never stored gives None."""
    assert await store.load(_code()) is None


async def test_create_twice_raises_meeting_exists(store: Store) -> None:
    """A second meeting with a taken code is refused with MeetingExists."""
    code = _code()
    await store.create_meeting(code, _created(code))
    with pytest.raises(MeetingExists):
        await store.create_meeting(code, _created(code))


async def test_append_then_load_keeps_order(store: Store) -> None:
    """Appended batches load back after the creation events, in sequence order."""
    code = _code()
    await store.create_meeting(code, _created(code))
    await store.append(code, _votes(3, 5))
    await store.append(code, _votes(8, 2))
    events = await store.load(code)
    assert events is not None
    assert [e.seq for e in events] == list(range(1, 10))
    assert events[2:] == _votes(3, 5) + _votes(8, 2)


async def test_append_of_a_taken_seq_is_refused(store: Store) -> None:
    """Writing a sequence number that is already in the log raises StoreUnavailable and changes nothing."""
    code = _code()
    await store.create_meeting(code, _created(code))
    await store.append(code, _votes(3, 2))
    with pytest.raises(StoreUnavailable):
        await store.append(code, _votes(4, 1))
    events = await store.load(code)
    assert events is not None and len(events) == 4


async def test_events_since_pages_through_the_log(store: Store) -> None:
    """events_since gives at most ``limit`` events strictly after ``seq``."""
    code = _code()
    await store.create_meeting(code, _created(code))
    await store.append(code, _votes(3, 10))
    assert [e.seq for e in await store.events_since(code, 4, 3)] == [5, 6, 7]
    assert [e.seq for e in await store.events_since(code, 10, 100)] == [11, 12]
    assert await store.events_since(code, 12, 100) == []
    assert [e.seq for e in await store.events_since(code, 0, 2)] == [1, 2]


async def test_unicode_survives(store: Store) -> None:
    """Statement text in any script is stored and loaded unchanged."""
    code = _code()
    await store.create_meeting(code, _created(code))
    posted = StatementPosted(3, 1002.0, 2, "公共運輸應該免費 🚌", 7, False, "pending", "p1")
    await store.append(code, [posted])
    assert (await store.events_since(code, 2, 1)) == [posted]


async def test_meeting_codes_oldest_first(store: Store) -> None:
    """meeting_codes lists every created meeting, oldest first."""
    before = set(await store.meeting_codes())
    first, second = _code(), _code()
    await store.create_meeting(second, _created(second, at=2e9))
    await store.create_meeting(first, _created(first, at=1e9))
    codes = [c for c in await store.meeting_codes() if c not in before]
    assert codes == [first, second]


async def test_analysis_runs_round_trip(store: Store) -> None:
    """Saved analyses load by run (latest by default) and list their run/seq/time."""
    code = _code()
    await store.create_meeting(code, _created(code))
    assert await store.load_analysis(code) is None
    await store.save_analysis(code, 1, 10, 1010.0, {"groups": [1]})
    await store.save_analysis(code, 2, 20, 1020.0, {"groups": [1, 2], "text": "é"})
    latest = await store.load_analysis(code)
    assert latest == {"run": 2, "seq": 20, "at": 1020.0, "result": {"groups": [1, 2], "text": "é"}}
    first = await store.load_analysis(code, 1)
    assert first is not None and first["result"] == {"groups": [1]}
    assert await store.load_analysis(code, 3) is None
    assert await store.analysis_runs(code) == [
        {"run": 1, "seq": 10, "at": 1010.0}, {"run": 2, "seq": 20, "at": 1020.0}]


async def test_an_analysis_serialised_by_the_worker_is_kept_as_is(store: Store) -> None:
    """A payload handed over as JSON text (the analysis worker serialises it, so the event loop does not)
    loads back as the same data as a dict payload would; non-ASCII text included."""
    code = _code()
    await store.create_meeting(code, _created(code))
    payload = {"format": "x", "analysis": json.dumps({"groups": ["A"]}), "message": '{"role":"住戶"}'}
    await store.save_analysis(code, 1, 10, 1010.0, json.dumps(payload, ensure_ascii=False))
    assert await store.load_analysis(code, 1) == {"run": 1, "seq": 10, "at": 1010.0, "result": payload}
    with pytest.raises(StoreRefused):
        await store.save_analysis(code, 2, 11, 1011.0, '{"label": "' + chr(0xDFFF) + '"}')
    assert await store.load_analysis(code) == {"run": 1, "seq": 10, "at": 1010.0, "result": payload}


async def test_analysis_save_replaces_a_run(store: Store) -> None:
    """Saving the same run twice keeps the second payload."""
    code = _code()
    await store.create_meeting(code, _created(code))
    await store.save_analysis(code, 1, 10, 1010.0, {"v": 1})
    await store.save_analysis(code, 1, 11, 1011.0, {"v": 2})
    assert await store.load_analysis(code, 1) == {"run": 1, "seq": 11, "at": 1011.0, "result": {"v": 2}}
    assert len(await store.analysis_runs(code)) == 1


async def test_an_older_run_saved_again_leaves_the_latest_the_latest(store: Store) -> None:
    """The scheduler stores a run again, slim, once a newer run is stored: the latest stays the newer one."""
    code = _code()
    await store.create_meeting(code, _created(code))
    await store.save_analysis(code, 1, 10, 1010.0, {"analysis": "whole", "message": "m1"})
    await store.save_analysis(code, 2, 20, 1020.0, {"analysis": "whole", "message": "m2"})
    await store.save_analysis(code, 1, 10, 1010.0, {"message": "m1"})
    assert await store.load_analysis(code) == {"run": 2, "seq": 20, "at": 1020.0,
                                               "result": {"analysis": "whole", "message": "m2"}}
    assert await store.load_analysis(code, 1) == {"run": 1, "seq": 10, "at": 1010.0, "result": {"message": "m1"}}
    assert [r["run"] for r in await store.analysis_runs(code)] == [1, 2]


async def test_healthy_while_running(store: Store) -> None:
    """A started store reports healthy."""
    assert await store.healthy() is True


async def test_many_concurrent_appends_keep_their_order(store: Store) -> None:
    """Appends awaited concurrently in submission order land in that order (group commit is ordered)."""
    import asyncio

    code = _code()
    await store.create_meeting(code, _created(code))
    await asyncio.gather(*(store.append(code, _votes(3 + i, 1)) for i in range(200)))
    events = await store.load(code)
    assert events is not None and [e.seq for e in events] == list(range(1, 203))


async def test_last_seq_follows_the_log(store: Store) -> None:
    """last_seq is the last durable seq, 0 for an unknown meeting."""
    code = _code()
    assert await store.last_seq(code) == 0
    await store.create_meeting(code, _created(code))
    await store.append(code, _votes(3, 4))
    assert await store.last_seq(code) == 6


async def test_an_unstorable_item_fails_alone_and_the_writer_goes_on(store: Store) -> None:
    """A lone surrogate reaching the store is refused with store_refused; other writes, of this meeting and
    of another one queued at the same time, still become durable, and the store stays healthy."""
    import asyncio

    code, other = _code(), _code()
    await store.create_meeting(code, _created(code))
    await store.create_meeting(other, _created(other))
    bad = VoteCast(3, 1003.0, 1, 1, "agree", "\ud800")
    results = await asyncio.gather(store.append(code, [bad]), store.append(other, _votes(3, 2)),
                                   return_exceptions=True)
    assert isinstance(results[0], StoreRefused) and results[0].code == "store_refused"
    assert results[1] is None
    await store.append(code, _votes(3, 1))
    assert [e.seq for e in await store.load(code) or []] == [1, 2, 3]
    assert await store.last_seq(other) == 4
    assert await store.healthy() is True


async def test_an_unstorable_analysis_fails_alone(store: Store) -> None:
    """An analysis payload with a lone surrogate is refused alone; the next save works."""
    code = _code()
    await store.create_meeting(code, _created(code))
    with pytest.raises(StoreRefused):
        await store.save_analysis(code, 1, 2, 1.0, {"label": "\udfff"})
    await store.save_analysis(code, 1, 2, 1.0, {"label": "ok"})
    assert (await store.load_analysis(code)) is not None


async def test_append_that_would_leave_a_gap_is_refused(store: Store) -> None:
    """An append must continue the log exactly (first seq = last seq + 1): after a lost write, a later
    one cannot leave a hole in the meeting's sequence numbers."""
    code = _code()
    await store.create_meeting(code, _created(code))
    with pytest.raises(StoreUnavailable):
        await store.append(code, _votes(4, 1))
    await store.append(code, _votes(3, 2))
    assert [e.seq for e in await store.load(code) or []] == [1, 2, 3, 4]
