"""The live protocol against a real server: join, vote, post, moderate, and what each role sees."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from facilitation.tools.client import MeetingClient, ServerError
from tests.server.conftest import Clients, MeetingInfo, create_meeting, meeting_info
from tests.support.servers import ServerProcess, scaled


async def collect_batches(projector: MeetingClient, until: Any, timeout: float) -> list[dict[str, Any]]:
    """Events from the projector's batches, in arrival order, until ``until(events)`` holds."""
    events: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + scaled(timeout)
    while not until(events):
        message = await projector.next_message("batch", timeout=max(0.01, deadline - loop.time()))
        events.extend(message["events"])
        assert message["seq"] == message["events"][-1]["seq"]
    return events


@pytest.mark.asyncio
async def test_join_gets_welcome_token_and_snapshot(host: MeetingClient, clients: Clients) -> None:
    """A new phone is welcomed with an id and a token, then a snapshot with the meeting and its next statement."""
    phone = await clients.open(nickname="小明")
    assert phone.welcome["type"] == "welcome" and phone.welcome["new"] is True
    assert phone.welcome["votes"] == ["agree", "acceptable", "pass", "disagree"], "the meeting's values, in order"
    assert isinstance(phone.participant, int) and len(phone.token or "") >= 16
    snapshot = await phone.next_message("snapshot", timeout=scaled(5))
    assert snapshot["meeting"]["phase"] == "collecting"
    assert len(snapshot["meeting"]["statements"]) == 5
    assert snapshot["you"]["participant"] == phone.participant and snapshot["you"]["nickname"] == "小明"
    assert snapshot["next"]["id"] == 0 and snapshot["remaining"] == 5


@pytest.mark.asyncio
async def test_vote_acked_with_next_and_duplicate_op_counted_once(
    server: ServerProcess, meeting: MeetingInfo, host: MeetingClient, clients: Clients
) -> None:
    """A vote is acked with the next statement; the same op resent is acked as duplicate and counted once."""
    phone = await clients.open()
    ack = await phone.vote(0, "agree", op="v-1")
    assert ack["result"] == {"statement": 0, "value": "agree"}
    assert ack["next"]["id"] == 1 and ack["remaining"] == 4
    again = await phone.vote(0, "agree", op="v-1")
    assert again["duplicate"] is True and again["result"] == ack["result"]
    assert meeting_info(server.url, meeting.code)["counters"]["votes"] == 1


@pytest.mark.asyncio
async def test_post_reaches_projector_and_author_implicitly_agrees(
    server: ServerProcess, meeting: MeetingInfo, host: MeetingClient, clients: Clients
) -> None:
    """A posted statement reaches the projector as a statement event followed by the author's agree vote."""
    projector = await clients.open("projector")
    await projector.next_message("snapshot")
    phone = await clients.open()
    ack = await phone.post("應該增設機車停車區。")
    sid = ack["result"]["statement"]
    assert ack["result"]["state"] == "accepted"
    events = await collect_batches(
        projector, lambda ev: any(e["type"] == "vote" and e["statement"] == sid for e in ev), 5
    )
    kinds = [(e["type"], e.get("statement")) for e in events if e["type"] in ("statement", "vote")]
    posted = next(e for e in events if e["type"] == "statement")
    assert posted["statement"]["text"] == "應該增設機車停車區。"
    assert kinds[-2:] == [("statement", posted["statement"]), ("vote", sid)]
    assert meeting_info(server.url, meeting.code)["counters"]["statements"] == 6


@pytest.mark.asyncio
async def test_pre_moderation_hides_pending_text_until_accepted(server: ServerProcess, clients: Clients) -> None:
    """Under pre-moderation the projector sees nothing of a pending statement, then the text once accepted."""
    info = create_meeting(server.url, moderation="pre")
    clients.code = info.code
    host = await clients.open("host", host_key=info.host_key)
    await host.command("phase", phase="collecting")
    projector = await clients.open("projector")
    phone = await clients.open()
    ack = await phone.post("A pending idea.")
    sid = ack["result"]["statement"]
    assert ack["result"]["state"] == "pending"
    mine = await phone.next_message("event", where=lambda m: m["event"]["type"] == "my_statement")
    assert mine["event"]["statement"]["text"] == "A pending idea."
    seen_by_host = await host.next_message("batch", where=lambda m: any(
        e["type"] == "statement_posted" and e["statement"] == sid for e in m["events"]))
    posted = next(e for e in seen_by_host["events"] if e["type"] == "statement_posted")
    assert posted["text"] == "A pending idea." and posted["author"] == phone.participant
    await host.command("moderate", statement=sid, action="accept")
    events = await collect_batches(projector, lambda ev: any(e["type"] == "statement_moderated" for e in ev), 5)
    assert not any(e["type"] == "statement" and e["statement"]["id"] == sid for e in events)
    assert all(e.get("text") != "A pending idea." for e in events if e["type"] != "statement_moderated")
    moderated = next(e for e in events if e["type"] == "statement_moderated")
    assert moderated["state"] == "accepted" and moderated["text"] == "A pending idea."
    with pytest.raises(ServerError) as info_err:
        await host.command("moderate", statement=sid, action="reject")
    assert info_err.value.code == "reason_required"
    await host.command("moderate", statement=sid, action="reject", reason="off topic")
    log = (await asyncio.to_thread(meeting_info, server.url, info.code))["counters"]
    assert log["statements"] == 5


@pytest.mark.asyncio
async def test_projector_sees_every_vote_in_order_without_gaps(
    server: ServerProcess, meeting: MeetingInfo, host: MeetingClient, clients: Clients
) -> None:
    """With 20 phones voting at once, the projector gets every acked vote, seqs strictly increasing, no gaps."""
    projector = await clients.open("projector")
    snapshot = await projector.next_message("snapshot")
    phones = [await clients.open() for _ in range(20)]
    start_seq = snapshot["seq"]

    async def vote_all(phone: MeetingClient) -> list[tuple[int, int, int]]:
        acks = []
        for statement in range(5):
            ack = await phone.vote(statement, ("agree", "disagree", "pass")[statement % 3])
            acks.append((phone.participant, statement, ack["seq"]))
        return acks  # type: ignore[return-value]

    acked = [a for group in await asyncio.gather(*(vote_all(p) for p in phones)) for a in group]
    assert len(acked) == 100
    events = await collect_batches(projector, lambda ev: sum(e["type"] == "vote" for e in ev) >= 100, 10)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), "seqs must be strictly increasing"
    # The projector sees every event after its snapshot: joins and votes, so no gaps at all.
    assert seqs == list(range(start_seq + 1, seqs[-1] + 1))
    votes = {(e["participant"], e["statement"]) for e in events if e["type"] == "vote"}
    assert votes == {(p, s) for p, s, _ in acked}


@pytest.mark.asyncio
async def test_phone_receives_own_votes_but_not_others(host: MeetingClient, clients: Clients) -> None:
    """A vote is echoed to the voter's other devices, not to the sending one nor to other phones."""
    me, other = await clients.open(), await clients.open()
    my_tablet = await clients.open(token=me.token)
    assert my_tablet.participant == me.participant
    await me.next_message("snapshot")
    await my_tablet.next_message("snapshot")
    await other.vote(1, "agree")
    await me.vote(0, "pass")
    own = await my_tablet.next_message("event", where=lambda m: m["event"]["type"] == "vote")
    assert own["event"]["participant"] == me.participant and own["event"]["value"] == "pass"
    counters = await me.next_message("counters", timeout=scaled(4), where=lambda m: m["counters"]["votes"] == 2)
    assert counters["counters"]["participants"] == 2
    leftovers = []
    while not me.messages.empty():
        leftovers.append(me.messages.get_nowait())
    assert not any(m.get("type") == "event" and m["event"]["type"] == "vote" for m in leftovers)


@pytest.mark.asyncio
async def test_phase_forbids_vote_with_phase_named(host: MeetingClient, clients: Clients) -> None:
    """Back in the lobby a vote is refused with phase_forbids naming the phase, and phones hear the change."""
    phone = await clients.open()
    await host.command("phase", phase="lobby")
    changed = await phone.next_message("event", where=lambda m: m["event"]["type"] == "phase_changed")
    assert changed["event"]["to_phase"] == "lobby"
    with pytest.raises(ServerError) as info:
        await phone.vote(0, "agree")
    assert info.value.code == "phase_forbids" and "lobby" in info.value.message
    with pytest.raises(ServerError) as skip:
        await host.command("phase", phase="voting")
    assert skip.value.code == "illegal_transition" and "lobby" in skip.value.message


@pytest.mark.asyncio
async def test_roles_are_enforced(host: MeetingClient, clients: Clients) -> None:
    """Phones cannot moderate, the projector cannot vote, the host cannot vote."""
    phone = await clients.open()
    projector = await clients.open("projector")
    with pytest.raises(ServerError) as a:
        await phone.command("moderate", statement=0, action="hide")
    with pytest.raises(ServerError) as b:
        await projector.command("vote", statement=0, value="agree")
    with pytest.raises(ServerError) as c:
        await host.command("vote", statement=0, value="agree")
    assert a.value.code == b.value.code == c.value.code == "forbidden"


@pytest.mark.asyncio
async def test_ping_pong(clients: Clients) -> None:
    """Anyone may ping; the pong carries the meeting's seq."""
    projector = await clients.open("projector")
    snapshot = await projector.next_message("snapshot")
    await projector.send_raw('{"v": 1, "type": "ping"}')
    pong = await projector.next_message("pong")
    assert pong["seq"] == snapshot["seq"]
