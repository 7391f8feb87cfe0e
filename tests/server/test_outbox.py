"""The outbox (facilitation/live/connection.py): order per connection, short turns, priorities, slow clients.

The socket side is a plain coroutine recording what it was given (uvicorn's send is the boundary); the
real-socket behaviour (4008 for a client that stops reading, close codes) is covered in test_server.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from facilitation.live.connection import CLOSE_TOO_SLOW, SEND_QUEUE_LIMIT, TURN_SECONDS, Connection, Outbox

pytestmark = pytest.mark.asyncio


class Log(list[tuple[str, str]]):
    """What the fake sockets were sent, in order: (socket name, text)."""


class Socket:
    """What one client received, with the time of each write; ``cost`` seconds of CPU per write."""

    def __init__(self, log: Log, name: str, cost: float = 0.0) -> None:
        self.log = log
        self.name = name
        self.cost = cost
        self.gate: asyncio.Event | None = None
        self.closed: tuple[int, str] | None = None

    async def send(self, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.cost:
            end = time.perf_counter() + self.cost
            while time.perf_counter() < end:
                pass
        self.log.append((self.name, text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def _conn(outbox: Outbox, log: Log, name: str, role: str = "participant",
          cost: float = 0.0) -> tuple[Connection, Socket]:
    socket = Socket(log, name, cost)
    return Connection(socket.send, socket.close, role, 1 if role == "participant" else None, outbox), socket


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


async def test_each_connection_gets_its_messages_in_order() -> None:
    outbox, log = Outbox(), Log()
    conns = [_conn(outbox, log, f"c{i}")[0] for i in range(20)]
    for n in range(100):
        for conn in conns:
            conn.send(f"m{n}")
    await _until(lambda: len(log) == 2000)
    for i in range(20):
        assert [text for name, text in log if name == f"c{i}"] == [f"m{n}" for n in range(100)]
    await outbox.close()


async def test_a_message_to_a_thousand_phones_leaves_room_for_the_loop() -> None:
    """1,000 writes of 50 µs each are 50 ms of work: a timer due in 5 ms must fire before the last write,
    and no turn may do much more than TURN_SECONDS of work (measured in the thread's CPU time)."""
    outbox, log = Outbox(), Log()
    phones = [_conn(outbox, log, f"p{i}", cost=0.00005)[0] for i in range(1000)]
    fired: list[int] = []
    loop = asyncio.get_running_loop()
    loop.call_later(0.005, lambda: fired.append(len(log)))
    gaps: list[float] = []

    async def probe() -> None:
        # CPU time of this thread between two turns of the probe: what the loop did in between, not the time
        # a loaded machine kept the process off its core (wall-clock gaps made this test fail under load).
        last = time.thread_time()
        while len(log) < 1000:
            await asyncio.sleep(0)
            now = time.thread_time()
            gaps.append(now - last)
            last = now

    watcher = loop.create_task(probe())
    for phone in phones:
        phone.send("everyone")
    await _until(lambda: len(log) == 1000)
    await watcher
    assert fired and fired[0] < 1000, "the timer waited for the whole broadcast"
    assert max(gaps) < TURN_SECONDS + 0.02, max(gaps)
    await outbox.close()


async def test_screens_then_answers_then_other_phones() -> None:
    outbox, log = Outbox(), Log()
    phones = [_conn(outbox, log, f"p{i}", cost=0.0002)[0] for i in range(200)]
    asker, _ = _conn(outbox, log, "asker")
    projector, _ = _conn(outbox, log, "projector", role="projector")
    for phone in phones:
        phone.send("broadcast")
    asker.send("broadcast")
    asker.reply("ack")
    projector.send("batch")
    await _until(lambda: len(log) == 203)
    order = [name for name, _ in log]
    assert order.index("projector") < order.index("asker") < 100, order[:10]
    assert [text for name, text in log if name == "asker"] == ["broadcast", "ack"]  # its own order is kept
    await outbox.close()


async def test_a_client_that_stops_reading_holds_up_nobody() -> None:
    outbox, log = Outbox(), Log()
    frozen, frozen_socket = _conn(outbox, log, "frozen")
    frozen_socket.gate = asyncio.Event()
    others = [_conn(outbox, log, f"p{i}")[0] for i in range(10)]
    frozen.send("one")
    frozen.send("two")
    for other in others:
        other.send("hello")
    await _until(lambda: len(log) == 10)
    assert all(name != "frozen" for name, _ in log)
    frozen_socket.gate.set()
    await _until(lambda: len(log) == 12)
    assert [text for name, text in log if name == "frozen"] == ["one", "two"]
    await outbox.close()


async def test_a_full_queue_closes_the_client_as_too_slow() -> None:
    outbox, log = Outbox(), Log()
    conn, socket = _conn(outbox, log, "slow")
    socket.gate = asyncio.Event()
    conn.send("first")
    await asyncio.sleep(0.01)  # the first write is now waiting on the client
    accepted = [conn.send(f"m{n}") for n in range(SEND_QUEUE_LIMIT + 5)]
    assert accepted.count(False) > 0 and conn.closed
    await _until(lambda: socket.closed is not None)
    assert socket.closed is not None and socket.closed[0] == CLOSE_TOO_SLOW
    await conn.stop()
    await outbox.close()


async def test_close_after_sent_flushes_then_closes_and_stop_waits_for_it() -> None:
    outbox, log = Outbox(), Log()
    conn, socket = _conn(outbox, log, "leaving")
    conn.send("a")
    conn.reply("the refusal")
    conn.close_after_sent(4029, "flood")
    assert not conn.send("after the close")
    await conn.stop()
    assert [text for _, text in log] == ["a", "the refusal"]
    assert socket.closed == (4029, "flood")
    await outbox.close()


@pytest.mark.parametrize("broken_after", [0, 3])
async def test_a_socket_that_fails_ends_the_connection_quietly(broken_after: int) -> None:
    outbox, log = Outbox(), Log()
    sent = 0

    async def send(text: str) -> None:
        nonlocal sent
        if sent >= broken_after:
            raise ConnectionResetError("gone")
        sent += 1
        log.append(("c", text))

    async def close(code: int, reason: str) -> None:
        return None

    conn = Connection(send, close, "participant", 1, outbox)
    other, _ = _conn(outbox, log, "other")
    for n in range(6):
        conn.send(f"m{n}")
    other.send("still here")
    await _until(lambda: conn.closed and ("other", "still here") in log)
    assert [text for name, text in log if name == "c"] == [f"m{n}" for n in range(broken_after)]
    await conn.stop()
    await outbox.close()


async def test_a_connection_that_breaks_the_writer_is_dropped_and_the_outbox_goes_on() -> None:
    """A failure outside the socket's own errors (here a sender that is not even a coroutine) ends that
    connection with 1011, never the outbox that every other client shares."""
    outbox, log = Outbox(), Log()
    closed: list[int] = []

    def broken(text: str) -> None:
        raise RuntimeError("a bug")

    async def close(code: int, reason: str) -> None:
        closed.append(code)

    bad = Connection(broken, close, "participant", 1, outbox)  # type: ignore[arg-type]
    good, _ = _conn(outbox, log, "good")
    bad.send("boom")
    good.send("first")
    await _until(lambda: ("good", "first") in log and closed == [1011])
    good.send("second")
    await _until(lambda: ("good", "second") in log)
    assert bad.closed
    await outbox.close()


def snapshot_stub(conn: Connection) -> dict[str, Any]:
    return {"type": "snapshot"}


def no_analysis(conn: Connection) -> None:
    return None


async def test_a_per_phone_broadcast_is_built_in_slices_and_keeps_its_order() -> None:
    """An analysis for 1,200 phones is built and queued at most PHONE_SLICE phones per loop iteration
    (screens at once), and two broadcasts reach every phone in the order they were made."""
    from types import SimpleNamespace

    from facilitation.live.fanout import PHONE_SLICE, Fanout

    outbox, log = Outbox(), Log()
    source = SimpleNamespace(meeting=SimpleNamespace(seq=0))
    fanout = Fanout("ABCDEF", source, None)  # type: ignore[arg-type]
    phones = []
    for i in range(1200):
        conn, _ = _conn(outbox, log, f"p{i}")
        conn.participant = i
        await fanout.attach(conn, None, snapshot_stub, no_analysis)
        phones.append(conn)
    screen, _ = _conn(outbox, log, "projector", role="projector")
    await fanout.attach(screen, None, snapshot_stub, no_analysis)
    built: list[str] = []

    def first(conn: Connection) -> str:
        built.append(conn.role)
        return "run-1"

    fanout.broadcast(first)
    fanout.broadcast(lambda conn: "run-2")
    assert built == ["projector"]  # the screen at once, the phones not yet
    await asyncio.sleep(0)  # one loop iteration: one slice
    assert 1 < len(built) <= 1 + PHONE_SLICE
    await _until(lambda: sum(text == "run-2" for _, text in log) == 1201)
    for i in (0, 777, 1199):
        assert [text for name, text in log if name == f"p{i}" and text.startswith("run")] == ["run-1", "run-2"]
    await fanout.close()
    await outbox.close()


async def test_a_burst_of_answers_is_written_over_turns_that_end_on_time() -> None:
    """Answers (acks, pongs) go before other phones' messages but within the turn's time: 200 answers that
    each take 0.5 ms to write are not written in one 100 ms turn, and a waiting phone still gets its turn."""
    outbox, log = Outbox(), Log()
    answered = [_conn(outbox, log, f"a{i}", cost=0.0005)[0] for i in range(200)]
    other, _ = _conn(outbox, log, "other")
    other.send("broadcast")
    for conn in answered:
        conn.reply("ack")
    await asyncio.sleep(0)  # one loop iteration: one turn
    per_turn = TURN_SECONDS / 0.0005
    assert 0 < sum(text == "ack" for _, text in log) <= per_turn + 1
    assert ("other", "broadcast") in log  # one phone a turn at least
    await _until(lambda: sum(text == "ack" for _, text in log) == 200)
    await outbox.close()


async def test_a_slice_to_the_phones_also_ends_on_time() -> None:
    """A slice of a per-phone broadcast stops after SLICE_SECONDS even below its count: a message that is slow
    to build for each phone (here 0.2 ms each) must not hold the loop for a whole PHONE_SLICE."""
    import time
    from types import SimpleNamespace

    from facilitation.live.fanout import CHECK_EVERY, PHONE_SLICE, SLICE_SECONDS, Fanout

    outbox, log = Outbox(), Log()
    fanout = Fanout("ABCDEF", SimpleNamespace(meeting=SimpleNamespace(seq=0)), None)  # type: ignore[arg-type]
    for i in range(600):
        conn, _ = _conn(outbox, log, f"p{i}")
        conn.participant = i
        await fanout.attach(conn, None, snapshot_stub, no_analysis)
    built: list[float] = []

    def slow(conn: Connection) -> str:
        started = time.thread_time()
        while time.thread_time() - started < 0.0002:
            pass
        built.append(time.perf_counter())
        return "run-1"

    fanout.broadcast(slow)
    await asyncio.sleep(0)  # one loop iteration: one slice
    per_slice = SLICE_SECONDS / 0.0002
    assert 2 * (per_slice + CHECK_EVERY) < PHONE_SLICE  # the count alone would not have stopped it
    assert 0 < len(built) <= per_slice + CHECK_EVERY
    await _until(lambda: len(built) == 600)
    await fanout.close()
    await outbox.close()


async def test_room_wide_events_reach_every_phone_once_and_screen_only_events_no_phone() -> None:
    """The fan-out's fast path for room-wide events: every phone gets the statement once (the author its
    own view too), a phone that already has the event is skipped, and an analysis_published event goes
    to the projector only."""
    import json
    from types import SimpleNamespace

    from facilitation.core.events import AnalysisPublished
    from facilitation.core.meeting import PostStatement
    from facilitation.live.fanout import Fanout
    from tests.core.helpers import NOW, join, new_meeting

    meeting = new_meeting(seeds=("Seed.",))
    people = [join(meeting, f"fanout-token-{i:06d}") for i in range(4)]
    outbox, log = Outbox(), Log()
    fanout = Fanout(meeting.code, SimpleNamespace(meeting=meeting), None)  # type: ignore[arg-type]
    for person in people:
        conn, _ = _conn(outbox, log, f"p{person}")
        conn.participant = person
        await fanout.attach(conn, None, snapshot_stub, no_analysis)
    projector, _ = _conn(outbox, log, "projector", role="projector")
    await fanout.attach(projector, None, snapshot_stub, no_analysis)
    posted = meeting.apply(PostStatement(people[0], "A new statement for everyone.", op="post-1"), NOW).events
    for event in posted:
        fanout.publish([event])
        fanout.publish([event])  # delivered again (a reader after a reconnect): nobody gets it twice
    published = AnalysisPublished(meeting.seq + 1, NOW, 1, meeting.seq)
    meeting.evolve(published)
    fanout.publish([published])
    projector.flush()
    await _until(lambda: any(name == "projector" for name, _ in log))
    await asyncio.sleep(0.01)
    for person in people:
        events = [json.loads(text) for name, text in log if name == f"p{person}" and '"type":"event"' in text]
        kinds = [e["event"]["type"] for e in events]
        assert kinds.count("statement") == 1, (person, kinds)
        assert "analysis_published" not in kinds
    screen = [json.loads(text) for name, text in log if name == "projector"]
    assert any(e["type"] == "analysis_published" for m in screen for e in m.get("events", []))
    await outbox.close()


async def test_a_resume_limit_behind_is_served_from_a_memory_of_bounded_size() -> None:
    """After three windows of votes the fan-out keeps at most RECENT_EVENTS events, and a projector
    RESUME_LIMIT behind still gets exactly the events it missed from them (there is no log to read here)."""
    import json
    from types import SimpleNamespace

    from facilitation.core.meeting import Vote
    from facilitation.live.fanout import RECENT_EVENTS, RESUME_LIMIT, Fanout
    from tests.core.helpers import NOW, join, new_meeting

    meeting = new_meeting(seeds=("Seed one.", "Seed two."))
    voter = join(meeting, "resume-window-token-0")
    fanout = Fanout(meeting.code, SimpleNamespace(meeting=meeting), None)  # type: ignore[arg-type]
    for k in range(3 * RECENT_EVENTS):
        fanout.publish(meeting.apply(Vote(voter, k % 2, ("agree", "pass")[k // 2 % 2], f"v{k}"), NOW).events)
    assert len(fanout._recent) <= RECENT_EVENTS
    outbox, log = Outbox(), Log()
    projector, _ = _conn(outbox, log, "projector", role="projector")
    since = meeting.seq - RESUME_LIMIT
    await fanout.attach(projector, since, snapshot_stub, no_analysis)
    projector.flush()
    await _until(lambda: sum(len(json.loads(text).get("events", [])) for _, text in log) >= RESUME_LIMIT)
    seqs = [e["seq"] for _, text in log for e in json.loads(text).get("events", [])]
    assert seqs == list(range(since + 1, meeting.seq + 1))
    assert all(json.loads(text).get("type") != "snapshot" for _, text in log)
    await fanout.close()
    await outbox.close()


async def test_a_room_wide_event_to_many_phones_goes_out_in_slices_and_each_phone_keeps_its_order() -> None:
    """A new statement to 4,500 phones is queued EVENT_SLICE phones per loop iteration; a vote published
    meanwhile reaches its voter's phone after the statement, and every phone gets the statement once."""
    import json
    from types import SimpleNamespace

    from facilitation.core.meeting import PostStatement, Vote
    from facilitation.live.fanout import EVENT_SLICE, Fanout
    from tests.core.helpers import NOW, join, new_meeting

    meeting = new_meeting(seeds=("Seed.",))
    people = [join(meeting, f"slice-token-{i:08d}") for i in range(2 * EVENT_SLICE + 500)]
    outbox, log = Outbox(), Log()
    fanout = Fanout(meeting.code, SimpleNamespace(meeting=meeting), None)  # type: ignore[arg-type]
    phones = {}
    for person in people:
        conn, _ = _conn(outbox, log, f"p{person}")
        conn.participant = person
        await fanout.attach(conn, None, snapshot_stub, no_analysis)
        phones[person] = conn
    posted = meeting.apply(PostStatement(people[0], "A statement for the whole room.", op="post-1"), NOW).events
    statement_seq = posted[0].seq
    fanout.publish(posted)
    assert not any(c.last_seq >= statement_seq for c in phones.values())  # queued, not sent in the call
    await asyncio.sleep(0)  # one loop iteration: one slice
    assert 0 < sum(c.last_seq >= statement_seq for c in phones.values()) <= EVENT_SLICE
    last = people[-1]
    voted = meeting.apply(Vote(last, 0, "agree", "v-last"), NOW).events
    fanout.publish(voted)  # while the statement is still going out
    await _until(lambda: all(c.last_seq >= voted[0].seq or (p != last and c.last_seq >= statement_seq)
                             for p, c in phones.items()), timeout=30)
    await _until(lambda: sum(f'"seq":{voted[0].seq}' in text for name, text in log if name == f"p{last}") == 1,
                 timeout=30)
    mine = [json.loads(text)["seq"] for name, text in log if name == f"p{last}" and '"type":"event"' in text]
    assert mine == [statement_seq, voted[0].seq]
    await _until(lambda: sum('"type":"statement"' in text for _, text in log) >= len(people), timeout=30)
    await _until(lambda: not outbox._phones and outbox._turn_due is None)
    assert sum('"type":"statement"' in text for _, text in log) == len(people)  # once each
    await fanout.close()
    await outbox.close()
