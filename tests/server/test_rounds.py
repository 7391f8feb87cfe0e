"""Rounds over real sockets (issue 23), through SQLite and through Redis: the host opens round 2, a phone that
voted on everything is offered the round's statements again, the projector gets both tables and the votes
that follow, refusals carry their op, and a restart mid-round keeps the round and its votes."""

from __future__ import annotations

from pathlib import Path

import pytest

from facilitation.settings import Settings
from facilitation.tools.client import MeetingClient, ServerError
from tests.redis.support import redis_or_skip
from tests.server.test_adding_a_command import served
from tests.server.test_spotlight import create, event_of
from tests.support.servers import scaled


async def round_in_a_room(base: str) -> None:
    created = await create(base)
    code = created["code"]
    host = MeetingClient(base, code, "host", host_key=created["host_key"])
    phone = MeetingClient(base, code, stakeholder="住戶")
    projector = MeetingClient(base, code, "projector")
    opened = [host, phone, projector]
    try:
        for client in opened:
            await client.connect(timeout=scaled(10))
        await host.command("phase", phase="collecting", timeout=scaled(10))
        for sid in range(4):
            last = await phone.vote(sid, "disagree")
        assert last["next"] is None
        with pytest.raises(ServerError) as forbidden:
            await phone.command("round_open", statements=[1], timeout=scaled(10))
        assert forbidden.value.code == "forbidden"
        ack = await host.command("round_open", statements=[2, 3], op="round-2", timeout=scaled(10))
        assert ack["result"] == {"round": 2, "statements": [2, 3]}
        assert (await event_of(phone, "round_opened"))["round"] == 2
        await phone.send_raw('{"type": "next"}')
        assert (await phone.next_message("next", timeout=scaled(10)))["next"]["id"] == 2
        shown = await event_of(projector, "round_opened")
        assert shown["screen"]["before"] == {"2": {str(phone.participant): "disagree"},
                                             "3": {str(phone.participant): "disagree"}}
        again = await phone.vote(2, "acceptable")
        assert again["next"]["id"] == 3, "the round's next statement, though voted on in round 1"
        moved = await event_of(projector, "vote")
        assert (moved["statement"], moved["value"], moved["previous"]) == (2, "acceptable", "disagree")
        closed = await host.command("round_close", timeout=scaled(10))
        assert closed["result"] == {"round": 2}
        with pytest.raises(ServerError) as nothing:
            await host.command("round_close", timeout=scaled(10))
        assert nothing.value.code == "no_change"
    finally:
        for client in opened:
            await client.close()


@pytest.mark.asyncio
async def test_a_round_through_sqlite(tmp_path: Path) -> None:
    async with served(Settings(store=f"sqlite:///{tmp_path / 'm.db'}", analysis=False)) as base:
        await round_in_a_room(base)


@pytest.mark.asyncio
@pytest.mark.redis
async def test_a_round_through_redis() -> None:
    redis = redis_or_skip()
    try:
        async with served(Settings(store=redis.url, redis=redis.url, analysis=False)) as base:
            await round_in_a_room(base)
    finally:
        redis.stop()


@pytest.mark.asyncio
async def test_a_restart_mid_round_keeps_the_round_and_its_votes(tmp_path: Path) -> None:
    settings = Settings(store=f"sqlite:///{tmp_path / 'm.db'}", analysis=False)
    async with served(settings) as base:
        created = await create(base)
        host = MeetingClient(base, created["code"], "host", host_key=created["host_key"])
        phone = MeetingClient(base, created["code"])
        await host.connect(timeout=scaled(10))
        await phone.connect(timeout=scaled(10))
        await host.command("phase", phase="collecting", timeout=scaled(10))
        await phone.vote(1, "agree")
        await host.command("round_open", statements=[1], timeout=scaled(10))
        await phone.vote(1, "disagree")
        await host.close()
        await phone.close()
    async with served(settings) as base:
        projector = MeetingClient(base, created["code"], "projector")
        await projector.connect(timeout=scaled(10))
        try:
            snapshot = await projector.next_message("snapshot", timeout=scaled(10))
            assert snapshot["meeting"]["rounds"]["current"] == 2
            screen = snapshot["screens"]["rounds"]
            assert screen["before"] == {"1": {str(phone.participant): "agree"}}
            assert screen["after"] == {"1": {str(phone.participant): "disagree"}}
        finally:
            await projector.close()
