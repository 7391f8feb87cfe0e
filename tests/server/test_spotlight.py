"""The spotlight over real sockets (issue 23), through SQLite and through Redis: the host spotlights a statement
with a countdown, phones that have not voted on it get it as their next card, the projector gets the voters and
roles to tally from and the votes that follow, refusals carry their op, and a restart keeps the spotlight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from facilitation.settings import Settings
from facilitation.tools.client import MeetingClient, ServerError
from tests.redis.support import redis_or_skip
from tests.server.test_adding_a_command import served
from tests.support.servers import scaled

ROLES = ["住戶", "攤商"]


async def create(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=scaled(10)) as http:
        response = await http.post(f"{base}/api/meetings", json={
            "title": "夜市", "roles": ROLES, "seeds": [f"第 {i} 則意見。" for i in range(4)]})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def event_of(client: MeetingClient, type_: str) -> dict[str, Any]:
    """The next event of ``type_`` a client receives, alone (phones) or in a batch (screens)."""
    while True:
        message = await client.next_message(timeout=scaled(10))
        if message["type"] == "event" and message["event"]["type"] == type_:
            return dict(message["event"])
        if message["type"] == "batch":
            for event in message["events"]:
                if event["type"] == type_:
                    return dict(event)


async def spotlight_in_a_room(base: str) -> None:
    created = await create(base)
    code = created["code"]
    host = MeetingClient(base, code, "host", host_key=created["host_key"])
    opened = [host]
    try:
        await host.connect(timeout=scaled(10))
        await host.command("phase", phase="collecting", timeout=scaled(10))
        a = MeetingClient(base, code, stakeholder="住戶")
        b = MeetingClient(base, code, stakeholder="攤商")
        c = MeetingClient(base, code)
        projector = MeetingClient(base, code, "projector")
        opened += [a, b, c, projector]
        for client in (a, b, c, projector):
            await client.connect(timeout=scaled(10))
        await b.vote(2, "disagree")
        with pytest.raises(ServerError) as forbidden:
            await a.command("spotlight", statement=2, op="mine", timeout=scaled(10))
        assert forbidden.value.code == "forbidden", "refused, answering its op (the client waits on the op)"

        ack = await host.command("spotlight", statement=2, seconds=30, op="spot-1", timeout=scaled(10))
        assert ack["result"]["statement"] == 2 and ack["result"]["deadline"] > 0

        phone_event = await event_of(a, "spotlight_started")
        assert phone_event["statement"] == 2 and phone_event["seconds"] == 30 and "screen" not in phone_event
        await a.send_raw('{"type": "next"}')
        offered = await a.next_message("next", timeout=scaled(10))
        assert offered["next"]["id"] == 2, "a phone that has not voted on it gets it at once"
        after_vote = await c.vote(0, "agree")
        assert after_vote["next"]["id"] == 2, "and after its current card, before the ordinary rule"
        await b.send_raw('{"type": "next"}')
        assert (await b.next_message("next", timeout=scaled(10)))["next"]["id"] != 2, "b voted on it already"

        shown = await event_of(projector, "spotlight_started")
        assert shown["screen"]["voters"] == {str(b.participant): "disagree"}
        assert sorted(shown["screen"]["roles"]) == ["", "住戶", "攤商"]
        assert shown["screen"]["roles"]["住戶"] == [a.participant]
        await a.vote(2, "agree")
        vote = await event_of(projector, "vote")
        assert (vote["participant"], vote["statement"], vote["value"]) == (a.participant, 2, "agree")

        late = MeetingClient(base, code, "projector")
        opened.append(late)
        await late.connect(timeout=scaled(10))
        snapshot = await late.next_message("snapshot", timeout=scaled(10))
        assert snapshot["meeting"]["spotlight"]["statement"] == 2
        assert snapshot["meeting"]["spotlight"]["deadline"] == ack["result"]["deadline"]
        voters = snapshot["screens"]["spotlight"]["voters"]
        assert voters == {str(a.participant): "agree", str(b.participant): "disagree"}
        assert abs(snapshot["now"] - snapshot["meeting"]["spotlight"]["started_at"]) < scaled(30)

        ended = await host.command("spotlight_end", op="end-1", timeout=scaled(10))
        assert ended["result"] == {"statement": 2}
        assert (await event_of(c, "spotlight_ended"))["statement"] == 2
        with pytest.raises(ServerError) as nothing:
            await host.command("spotlight_end", op="end-2", timeout=scaled(10))
        assert nothing.value.code == "no_change"
    finally:
        for client in opened:
            await client.close()


@pytest.mark.asyncio
async def test_a_spotlight_reaches_phones_and_the_projector_through_sqlite(tmp_path: Path) -> None:
    async with served(Settings(store=f"sqlite:///{tmp_path / 'm.db'}", analysis=False)) as base:
        await spotlight_in_a_room(base)


@pytest.mark.asyncio
@pytest.mark.redis
async def test_a_spotlight_reaches_phones_and_the_projector_through_redis() -> None:
    redis = redis_or_skip()
    try:
        async with served(Settings(store=redis.url, redis=redis.url, analysis=False)) as base:
            await spotlight_in_a_room(base)
    finally:
        redis.stop()


@pytest.mark.asyncio
async def test_a_restart_mid_spotlight_keeps_it_and_its_countdown(tmp_path: Path) -> None:
    """The spotlight is events: a server restarted on the same file shows the same statement and deadline."""
    settings = Settings(store=f"sqlite:///{tmp_path / 'm.db'}", analysis=False)
    async with served(settings) as base:
        created = await create(base)
        host = MeetingClient(base, created["code"], "host", host_key=created["host_key"])
        await host.connect(timeout=scaled(10))
        await host.command("phase", phase="collecting", timeout=scaled(10))
        ack = await host.command("spotlight", statement=3, seconds=90, op="spot-r", timeout=scaled(10))
        await host.close()
    async with served(settings) as base:
        projector = MeetingClient(base, created["code"], "projector")
        phone = MeetingClient(base, created["code"])
        await projector.connect(timeout=scaled(10))
        await phone.connect(timeout=scaled(10))
        try:
            snapshot = await projector.next_message("snapshot", timeout=scaled(10))
            assert snapshot["meeting"]["spotlight"]["statement"] == 3
            assert snapshot["meeting"]["spotlight"]["deadline"] == ack["result"]["deadline"]
            fresh = await phone.next_message("snapshot", timeout=scaled(10))
            assert fresh["next"]["id"] == 3 and "screens" not in fresh
        finally:
            await projector.close()
            await phone.close()
