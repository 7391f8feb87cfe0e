"""Adding a command, worked through (docs/architecture.md, "Adding a command", walks through this file).

The first half of this module is what a feature's module under facilitation/core/commands/ holds: the
command with its handler, the event, the feature's state and the one declaration. The tests serve it for
real — a uvicorn on a free port, real WebSocket clients, the SQLite store and then the Redis store and bus —
after adding the declaration to the table for the duration of the test (``declared``), where a real feature
adds one line to ``COMMANDS`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.commands import declared
from facilitation.core.events import ALL, Audience, Event, Fingerprint
from facilitation.core.fields import Field, text_field
from facilitation.core.meeting import Meeting
from facilitation.core.state import CommandRefused, Phase
from facilitation.settings import Settings
from facilitation.tools.client import MeetingClient, ServerError
from facilitation.web.app import create_app
from facilitation.web.server import build_config
from tests.redis.support import redis_or_skip
from tests.support.servers import free_port, scaled

# ---------------------------------------------------------------- the feature (a module of its own)


@dataclass
class Bell:
    """The feature's state in each meeting: how often the host rang, and the last note."""

    key: ClassVar[str] = "bell"
    rings: int = 0
    note: str = ""

    def public(self) -> dict[str, Any]:
        return {"rings": self.rings, "note": self.note}


@dataclass(frozen=True, slots=True)
class RingBell(Command):
    """The host rings a bell on every phone, with a short note."""

    note: str
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("ring", self.note)


@dataclass(frozen=True, slots=True)
class BellRung(Event):
    note: str
    op: str = ""

    type: ClassVar[str] = "bell_rung"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("bell_rung", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        bell = meeting.part(Bell)
        bell.rings += 1
        bell.note = self.note

    def fingerprint(self) -> Fingerprint:
        return ("ring", self.note)

    def result(self) -> dict[str, Any]:
        return {"note": self.note}


def ring_bell(meeting: Meeting, command: RingBell, now: float) -> list[Event]:
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "cannot ring a bell in phase 'closed'", status=409)
    return [BellRung(meeting.next_seq(), now, command.note, command.op)]


RING = CommandSpec("ring", HOSTS, (Field("note", text_field(20), required=True, example="休息一下"),),
                   command=RingBell, handler=ring_bell, events=(BellRung,), state=(Bell,))


# ---------------------------------------------------------------- serving it


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """The app on a real uvicorn in this event loop; yields its base URL."""
    port = free_port()
    config = build_config(create_app(settings), settings, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        deadline = asyncio.get_running_loop().time() + scaled(20)
        while not server.started:
            assert not task.done(), "the server stopped while starting"
            assert asyncio.get_running_loop().time() < deadline, "the server did not start"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, scaled(20))


async def ring_reaches_a_phone(base: str) -> None:
    async with httpx.AsyncClient(timeout=scaled(10)) as http:
        created = (await http.post(f"{base}/api/meetings", json={"title": "鈴聲"})).json()
    host = MeetingClient(base, created["code"], "host", host_key=created["host_key"])
    phone = MeetingClient(base, created["code"], nickname="小明")
    await host.connect(timeout=scaled(10))
    await phone.connect(timeout=scaled(10))
    try:
        snapshot = await phone.next_message("snapshot", timeout=scaled(10))
        assert snapshot["meeting"]["bell"] == {"rings": 0, "note": ""}, "the feature's state is in every snapshot"
        ack = await host.command("ring", note="  休息  一下 ", op="ring-1", timeout=scaled(10))
        assert ack["result"] == {"note": "休息 一下"}, "the wire check cleaned the note"
        event = await phone.next_message("event", timeout=scaled(10),
                                         where=lambda m: m["event"].get("type") == "bell_rung")
        assert event["seq"] == ack["seq"] and event["event"]["note"] == "休息 一下"
        again = await host.command("ring", note="  休息  一下 ", op="ring-1", timeout=scaled(10))
        assert again.get("duplicate") is True and again["result"] == ack["result"], "a resend is not applied twice"
        with pytest.raises(ServerError) as refused:
            await host.command("ring", note="x" * 21, timeout=scaled(10))
        assert refused.value.code == "too_long"
        with pytest.raises(ServerError) as forbidden:
            await phone.command("ring", note="hi", timeout=scaled(10))
        assert forbidden.value.code == "forbidden", "only the host may ring"
        late = MeetingClient(base, created["code"])
        await late.connect(timeout=scaled(10))
        fresh = await late.next_message("snapshot", timeout=scaled(10))
        assert fresh["meeting"]["bell"] == {"rings": 1, "note": "休息 一下"}
        await late.close()
    finally:
        await phone.close()
        await host.close()


@pytest.mark.asyncio
async def test_a_toy_command_reaches_a_phone_through_sqlite(tmp_path: Path) -> None:
    """Declared in a test module, the toy command is validated, applied, stored, acked and fanned out."""
    with declared(RING):
        async with served(Settings(store=f"sqlite:///{tmp_path / 'm.db'}", analysis=False)) as base:
            await ring_reaches_a_phone(base)


@pytest.mark.asyncio
@pytest.mark.redis
async def test_a_toy_command_reaches_a_phone_through_redis() -> None:
    """The same through the Redis store, bus and owner election (the command codec included)."""
    redis = redis_or_skip()
    try:
        with declared(RING):
            async with served(Settings(store=redis.url, redis=redis.url, analysis=False)) as base:
                await ring_reaches_a_phone(base)
    finally:
        redis.stop()
