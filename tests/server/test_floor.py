"""The speaking queue over a real socket (issue 23): phones of two roles ask, the projector and the console see
the queue, the host gives and ends turns, a phone cannot give the floor, and the snapshot holds the turns."""

from __future__ import annotations

from pathlib import Path

import pytest

from facilitation.settings import Settings
from facilitation.tools.client import MeetingClient, ServerError
from tests.server.test_adding_a_command import served
from tests.server.test_spotlight import create, event_of
from tests.support.servers import scaled


@pytest.mark.asyncio
async def test_phones_ask_the_host_gives_and_ends_turns(tmp_path: Path) -> None:
    async with served(Settings(store=f"sqlite:///{tmp_path / 'm.db'}", analysis=False)) as base:
        created = await create(base)
        code = created["code"]
        host = MeetingClient(base, code, "host", host_key=created["host_key"])
        resident = MeetingClient(base, code, stakeholder="住戶")
        vendor = MeetingClient(base, code, stakeholder="攤商")
        projector = MeetingClient(base, code, "projector")
        opened = [host, resident, vendor, projector]
        try:
            for client in opened:
                await client.connect(timeout=scaled(10))
            assert (await resident.command("floor_ask", timeout=scaled(10)))["result"] == {
                "participant": resident.participant}
            await vendor.command("floor_ask", timeout=scaled(10))
            asked = await event_of(projector, "floor_asked")
            assert (asked["participant"], asked["role"]) == (resident.participant, "住戶")
            with pytest.raises(ServerError) as forbidden:
                await resident.command("floor_give", participant=resident.participant, timeout=scaled(10))
            assert forbidden.value.code == "forbidden"
            await host.command("floor_give", participant=vendor.participant, timeout=scaled(10))
            given = await event_of(resident, "floor_given")
            assert (given["participant"], given["role"]) == (vendor.participant, "攤商")
            ended = await host.command("floor_end", timeout=scaled(10))
            assert ended["result"] == {"participant": vendor.participant}
            late = MeetingClient(base, code, "projector")
            opened.append(late)
            await late.connect(timeout=scaled(10))
            floor = (await late.next_message("snapshot", timeout=scaled(10)))["meeting"]["floor"]
            assert floor["heard"] == {"攤商": 1} and floor["speaking"] is None
            assert [q["participant"] for q in floor["queue"]] == [resident.participant]
        finally:
            for client in opened:
                await client.close()
