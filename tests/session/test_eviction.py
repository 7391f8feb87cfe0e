"""`Hub.evict_idle` on a real hub (SQLite file, in-process bus): only rooms nobody uses leave memory,
and a lookup brings the meeting back from the store exactly as it was."""

from __future__ import annotations

import asyncio
import time

import pytest

from facilitation.core.meeting import Vote
from facilitation.live.connection import Connection
from facilitation.storage import StoreUnavailable
from tests.session.conftest import World


@pytest.mark.asyncio
async def test_only_idle_rooms_are_evicted_and_they_reload_unchanged(world: World) -> None:
    phone = await world.phone()
    for statement in range(3):
        reply = await phone.frame(type="vote", statement=statement, value="agree", op=f"v{statement}")
        assert reply is not None and reply["type"] == "ack", reply
    room = world.hub.rooms[world.code]
    seq, votes, statements = room.meeting.seq, dict(room.meeting.votes), set(room.meeting.statements)

    assert await world.hub.evict_idle(3600.0) == []  # used a moment ago
    assert world.hub.rooms[world.code] is room

    assert await world.hub.evict_idle(0.0) == [world.code]
    assert world.code not in world.hub.rooms

    with pytest.raises(StoreUnavailable):  # a stale reference cannot write beside the reloaded room
        await room.submit(Vote(phone.session.participant or 0, 1, "disagree", op="stale"))

    again = await world.hub.room(world.code)
    assert again is not room
    assert (again.meeting.seq, dict(again.meeting.votes), set(again.meeting.statements)) == (seq, votes, statements)
    committed = await again.submit(Vote(phone.session.participant or 0, 0, "disagree", op="after"))
    assert committed.seq == seq + 1


@pytest.mark.asyncio
async def test_a_room_committing_a_command_is_not_evicted(world: World) -> None:
    phone = await world.phone()
    room = world.hub.rooms[world.code]
    participant = phone.session.participant
    assert participant is not None
    pending = asyncio.get_running_loop().create_task(room.submit(Vote(participant, 1, "agree", op="slow")))
    await asyncio.sleep(0)  # the command is now waiting for its durable write
    assert room.idle_for(0.0) is None
    assert await world.hub.evict_idle(0.0) == []
    committed = await pending
    assert room.meeting.votes[participant][1] == "agree" and committed.seq == room.meeting.seq
    assert await world.hub.evict_idle(0.0) == [world.code]


@pytest.mark.asyncio
async def test_a_room_with_a_connection_is_not_evicted(world: World) -> None:
    """Whatever the idle time: a projector left on a wall overnight keeps its meeting live."""
    room = world.hub.rooms[world.code]

    async def send(text: str) -> None:
        return None

    async def close(code: int, reason: str) -> None:
        return None

    conn = Connection(send, close, "projector", None, world.hub.outbox)
    await room.attach(conn, None)
    try:
        assert room.idle_for(time.perf_counter() + 10 * 24 * 3600.0) is None, "ten days on, still attached"
        assert await world.hub.evict_idle(0.0) == []
    finally:
        room.detach(conn)
        await conn.stop()
    assert await world.hub.evict_idle(0.0) == [world.code]
