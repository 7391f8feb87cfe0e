"""The session's unit tests drive :class:`facilitation.live.session.Session` without sockets: a real hub (SQLite
file, in-process bus) performs the rooms' work, and :class:`Driver` plays the socket adapter's part."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_asyncio

from facilitation.core.admission import AddressCounter, AttemptLimiter, CommandLimiter, JoinLimiter
from facilitation.core.errors import ClientError
from facilitation.core.meeting import MeetingSettings, SetPhase
from facilitation.core.protocol import dumps
from facilitation.live.hub import Hub
from facilitation.live.room import Room, UnknownMeeting
from facilitation.live.session import (
    Action,
    Attach,
    Close,
    Control,
    FindRoom,
    Send,
    Session,
    Submit,
)
from facilitation.storage import open_event_log
from facilitation.web.ws import LiveRoom

HOST_KEY_FIELD = "host_key"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Driver:
    """Performs a session's actions the way facilitation/web/ws.py does, recording what a client would see."""

    session: Session
    hub: Hub
    sent: list[dict[str, Any]] = field(default_factory=list)
    closed: Close | None = None
    attached: Attach | None = None
    room: Room | None = None

    async def perform(self, actions: list[Action]) -> None:
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            if isinstance(action, Send):
                message = action.message
                self.sent.append(message if isinstance(message, dict) else json.loads(message))
            elif isinstance(action, Close):
                self.closed = action
                return
            elif isinstance(action, FindRoom):
                try:
                    self.room = await self.hub.room(action.code)
                except UnknownMeeting:
                    pending += self.session.room_unknown()
                else:
                    pending += self.session.room_found(LiveRoom(self.room))
            elif isinstance(action, Submit):
                assert self.room is not None
                try:
                    applied = await self.room.submit(action.command)
                except ClientError as exc:
                    pending += self.session.refused(action, exc)
                else:
                    pending += self.session.applied(action, applied)
            elif isinstance(action, Control):
                pending += self.session.controlled(action, {"action": action.action})
            elif isinstance(action, Attach):
                self.attached = action

    async def connect(self) -> Driver:
        await self.perform(self.session.connected())
        return self

    async def hello(self, **fields: Any) -> Driver:
        await self.perform(self.session.hello(dumps({"v": 1, "type": "hello", **fields})))
        return self

    async def frame(self, **fields: Any) -> dict[str, Any] | None:
        """Send one frame; the last message sent back, if any."""
        before = len(self.sent)
        await self.perform(self.session.receive(dumps({"v": 1, **fields})))
        return self.sent[-1] if len(self.sent) > before else None

    def last(self, kind: str) -> dict[str, Any]:
        return next(m for m in reversed(self.sent) if m["type"] == kind)


@dataclass
class World:
    """One process's shared state: the hub, the limiters every session of the process shares, a clock."""

    hub: Hub
    code: str
    host_key: str
    clock: Clock
    attempts: AttemptLimiter
    connections: AddressCounter
    joins: JoinLimiter
    commands: CommandLimiter

    def session(self, address: str = "10.0.0.1", code: str | None = None) -> Driver:
        session = Session(code or self.code, address, attempts=self.attempts, connections=self.connections,
                          joins=self.joins, commands=self.commands, clock=self.clock)
        return Driver(session, self.hub)

    async def phone(self, address: str = "10.0.0.1", **hello: Any) -> Driver:
        driver = await self.session(address).connect()
        await driver.hello(role="participant", **hello)
        assert driver.closed is None, driver.sent
        return driver

    async def new_meeting(self, **settings: Any) -> tuple[str, str]:
        room, key = await self.hub.create_meeting(MeetingSettings(title="Unit", **settings), ["One.", "Two."])
        for phase in ("collecting",):
            await room.submit(SetPhase(phase, op=f"to-{phase}"))
        return room.code, key


@pytest_asyncio.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    event_log = open_event_log(f"sqlite:///{tmp_path / 'unit.db'}")
    await event_log.start()
    hub = Hub(event_log)
    clock = Clock()
    try:
        room, key = await hub.create_meeting(
            MeetingSettings(title="Unit", roles=("resident", "vendor")), ["Seed one.", "Seed two.", "Seed three."]
        )
        await room.submit(SetPhase("collecting", op="to-collecting"))
        yield World(hub, room.code, key, clock, AttemptLimiter(), AddressCounter(100), JoinLimiter(1.0, 100.0, clock),
                    CommandLimiter(clock=clock))
    finally:
        await hub.close()
        await event_log.close()
