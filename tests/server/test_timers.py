"""Timers over real sockets (issue 23): every screen gets the deadline and the server's time, the server ends
the timer at its deadline once, auto-advance moves the phase, and a restart mid-timer still ends it once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from facilitation.tools.client import MeetingClient, ServerError
from tests.server.conftest import NO_ANALYSIS, Clients, MeetingInfo, create_meeting
from tests.support.servers import ServerProcess, scaled


async def events_until(client: MeetingClient, wanted: str, timeout: float) -> list[dict[str, Any]]:
    """Every event (from events and batches) a client receives until one of type ``wanted``."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(e["type"] == wanted for e in seen):
        message = await client.next_message(timeout=max(0.1, deadline - loop.time()))
        if message["type"] == "batch":
            seen.extend(message["events"])
        elif message["type"] == "event":
            seen.append(message["event"])
    return seen


async def full_log(url: str, code: str) -> list[dict[str, Any]]:
    """Every event of the meeting, replayed to a projector from ``since: 0``."""
    screen = MeetingClient(url, code, "projector")
    await screen.connect(since=0)
    try:
        resumed = await screen.next_message("resumed", timeout=scaled(10))
        events: list[dict[str, Any]] = []
        while not events or events[-1]["seq"] < resumed["seq"]:
            message = await screen.next_message(timeout=scaled(10))
            if message["type"] == "batch":
                events.extend(message["events"])
            elif message["type"] == "event":
                events.append({**message["event"], "seq": message["seq"]})
        return events
    finally:
        await screen.close()


@pytest.mark.asyncio
async def test_the_server_ends_an_auto_advance_timer_once_and_moves_the_phase(
        host: MeetingClient, clients: Clients, server: ServerProcess, meeting: MeetingInfo) -> None:
    """Projector and phone get `timer_started` with the deadline; at it, `timer_ended` and `phase_changed`."""
    projector = await clients.open("projector")
    snapshot = await projector.next_message("snapshot", timeout=scaled(10))
    assert abs(snapshot["now"] - time.time()) < 60 and snapshot["meeting"]["timer"] is None
    phone = await clients.open()
    await phone.next_message("snapshot", timeout=scaled(10))
    ack = await host.command("timer_start", seconds=10, auto_advance=True)
    assert ack["result"]["ends_at"] > time.time() - 5
    on_phone = await events_until(phone, "timer_started", scaled(10))
    started = next(e for e in on_phone if e["type"] == "timer_started")
    assert started["ends_at"] == ack["result"]["ends_at"] and started["advance"] == {"phase": "voting"}
    on_screen = await events_until(projector, "timer_ended", scaled(30))
    ended = next(e for e in on_screen if e["type"] == "timer_ended")
    assert ended["advanced"] is True and ended["at"] >= started["ends_at"] - 0.5
    if not any(e["type"] == "phase_changed" for e in on_screen):
        on_screen += await events_until(projector, "phase_changed", scaled(10))
    assert next(e for e in on_screen if e["type"] == "phase_changed")["to_phase"] == "voting"
    log = await full_log(server.url, meeting.code)
    assert sum(e["type"] == "timer_ended" for e in log) == 1
    with pytest.raises(ServerError) as late:
        await host.command("timer_end", timer=started["timer"])
    assert late.value.code == "no_timer"


@pytest.mark.asyncio
async def test_without_auto_advance_the_host_is_prompted_and_nothing_moves(
        host: MeetingClient, clients: Clients) -> None:
    """The host's own end (early) is the same end: `timer_ended`, advanced false, the phase unchanged."""
    ack = await host.command("timer_start", seconds=600)
    timer = ack["result"]["timer"]
    ended = await host.command("timer_end", timer=timer)
    assert ended["result"] == {"timer": timer, "state": "ended", "advanced": False}
    projector = await clients.open("projector")
    snapshot = await projector.next_message("snapshot", timeout=scaled(10))
    assert snapshot["meeting"]["phase"] == "collecting" and snapshot["meeting"]["timer"]["state"] == "ended"
    with pytest.raises(ServerError) as refused:
        await host.command("timer_stop")
    assert refused.value.code == "no_timer"


@pytest.mark.asyncio
async def test_a_participant_may_not_start_a_timer(host: MeetingClient, clients: Clients) -> None:
    """A phone's `timer_start` is refused with its op."""
    phone = await clients.open()
    await phone.next_message("snapshot", timeout=scaled(10))
    with pytest.raises(ServerError) as refused:
        await phone.command("timer_start", op="mine", seconds=60)
    assert refused.value.code == "forbidden"


@pytest.mark.asyncio
async def test_a_timer_running_through_a_restart_ends_once_after_it(tmp_path: Path) -> None:
    """The server stops mid-timer and comes back after the deadline: the timer ends at once, exactly once."""
    store = f"sqlite:///{tmp_path / 'timer.db'}"
    server = ServerProcess(store, env=NO_ANALYSIS).start()
    try:
        info = create_meeting(server.url)
        host = MeetingClient(server.url, info.code, "host", host_key=info.host_key)
        await host.connect()
        await host.command("phase", phase="collecting")
        ack = await host.command("timer_start", seconds=10, auto_advance=True)
        await host.close()
        server.stop()
        await asyncio.sleep(max(0.0, ack["result"]["ends_at"] - time.time()) + 0.5)  # the deadline passes
        server.start()
        screen = MeetingClient(server.url, info.code, "projector")
        await screen.connect()
        snapshot = await screen.next_message("snapshot", timeout=scaled(10))
        if snapshot["meeting"]["timer"]["state"] == "running":
            await events_until(screen, "timer_ended", scaled(20))
        await screen.close()
        log = await full_log(server.url, info.code)
        assert sum(e["type"] == "timer_ended" for e in log) == 1
        assert [e["to_phase"] for e in log if e["type"] == "phase_changed"] == ["collecting", "voting"]
    finally:
        server.stop()
