"""A room waiting for its timer's deadline is not idle (issue 23): eviction would put the timer to sleep in a
process nobody asks about. Once the timer ends the room may go, and a reload finds the ended timer."""

from __future__ import annotations

import asyncio

import pytest

from facilitation.core.commands.timers import StartTimer, StopTimer, Timer
from tests.session.conftest import World


@pytest.mark.asyncio
async def test_a_room_with_a_running_timer_is_not_evicted_until_it_stops(world: World) -> None:
    room = world.hub.rooms[world.code]
    await room.submit(StartTimer(600, op="t"))
    async with asyncio.timeout(5):
        while room.idle_for(0.0) is not None:  # the clock arms on the delivered event
            await asyncio.sleep(0.01)
    assert await world.hub.evict_idle(0.0) == []
    await room.submit(StopTimer(op="s"))
    async with asyncio.timeout(5):
        while room.idle_for(0.0) is None:
            await asyncio.sleep(0.01)
    assert await world.hub.evict_idle(0.0) == [world.code]
    again = await world.hub.room(world.code)
    assert again.meeting.part(Timer).state == "stopped" and again.idle_for(0.0) is not None
