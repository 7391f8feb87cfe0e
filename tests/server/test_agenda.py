"""The agenda over real sockets (issue 23): the host moves the room to the next question; phones follow,
get that question's statements only, and a vote on another question's statement is refused with its op."""

from __future__ import annotations

import pytest

from facilitation.tools.client import MeetingClient, ServerError
from tests.server.conftest import Clients, create_meeting
from tests.support.servers import ServerProcess, scaled


@pytest.mark.asyncio
async def test_the_room_moves_to_the_next_question_and_phones_follow(server: ServerProcess) -> None:
    info = create_meeting(server.url, topic="主題", questions=["第二題？"])
    clients = Clients(server.url, info.code)
    try:
        host = await clients.open("host", host_key=info.host_key)
        snapshot = await host.next_message("snapshot", timeout=scaled(10))
        assert [q["text"] for q in snapshot["meeting"]["agenda"]["questions"]] == ["", "第二題？"]
        await host.command("phase", phase="collecting")
        phone = await clients.open()
        first = await phone.next_message("snapshot", timeout=scaled(10))
        assert first["next"]["id"] in range(5) and first["remaining"] == 5
        moved = await host.command("question_go", question=1)
        assert moved["result"] == {"question": 1}
        event = await phone.next_message("event", timeout=scaled(10),
                                         where=lambda m: m["event"]["type"] == "question_changed")
        assert event["event"]["to_question"] == 1 and event["event"]["first_statement"] == 5
        posted = await host.command("seed", text="第二題的第一則。")
        assert posted["result"]["statement"] == 5
        with pytest.raises(ServerError) as refused:
            await phone.vote(0, "agree", op="old")
        assert refused.value.code == "other_question"
        ack = await phone.vote(5, "agree")
        assert ack["remaining"] == 0 and ack["next"] is None
        with pytest.raises(ServerError) as unknown:
            await host.command("question_go", question=7)
        assert unknown.value.code == "unknown_question"
        added = await host.command("question_add", text="第三題？")
        assert added["result"] == {"question": 2}
        again = MeetingClient(server.url, info.code, "participant", token=phone.token)
        await again.connect()
        resumed = await again.next_message("snapshot", timeout=scaled(10))
        assert resumed["meeting"]["agenda"]["current"] == 1 and resumed["you"]["votes"] == {"5": "agree"}
        await again.close()
    finally:
        await clients.close()


@pytest.mark.asyncio
async def test_agenda_and_timer_refusals_carry_their_op(server: ServerProcess) -> None:
    """A phone may not move the room; a closed meeting takes no question or timer; each refusal names its op."""
    info = create_meeting(server.url, questions=["第二題？"])
    clients = Clients(server.url, info.code)
    try:
        host = await clients.open("host", host_key=info.host_key)
        await host.next_message("snapshot", timeout=scaled(10))
        phone = await clients.open()
        await phone.next_message("snapshot", timeout=scaled(10))
        await phone.send_raw('{"v": 1, "type": "question_go", "op": "mine", "question": 1}')
        refused = await phone.next_message("error", timeout=scaled(10))
        assert refused["op"] == "mine" and refused["error"]["code"] == "forbidden"
        for phase in ("collecting", "voting", "reviewing"):
            await host.command("phase", phase=phase)
        with pytest.raises(ServerError) as closing:
            await host.command("timer_start", seconds=60, auto_advance=True)
        assert closing.value.code == "phase_forbids" and "reviewing" in closing.value.message
        await host.command("phase", phase="closed")
        for kind, fields in (("question_add", {"text": "太晚了？"}), ("question_go", {"question": 1}),
                             ("timer_start", {"seconds": 60})):
            with pytest.raises(ServerError) as late:
                await host.command(kind, **fields)
            assert late.value.code == "phase_forbids" and "closed" in late.value.message
    finally:
        await clients.close()
