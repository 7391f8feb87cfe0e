"""Every hello, admission, resume, flood and close path of the live protocol, without a socket."""

from __future__ import annotations

import pytest

from facilitation.core.admission import AddressCounter, JoinLimiter
from facilitation.core.vocabulary import SCALES
from facilitation.live.session import (
    CLOSE_BAD_HELLO,
    CLOSE_FORBIDDEN,
    CLOSE_TOO_MANY,
    CLOSE_UNKNOWN_MEETING,
    FLOOD_TOLERANCE,
    FLOOD_WINDOW,
    IDLE_TIMEOUT,
    Attach,
    Close,
    FindRoom,
    Send,
    Submit,
)
from tests.session.conftest import World

pytestmark = pytest.mark.asyncio

TOKEN = "a-token-of-enough-length"


def error_code(driver_sent: list[dict[str, object]]) -> str:
    error = driver_sent[-1]["error"]
    assert isinstance(error, dict)
    return str(error["code"])


# ------------------------------------------------------------------ connecting


async def test_connected_looks_the_meeting_up_in_any_spelling(world: World) -> None:
    """A code typed in lower case with a dash is looked up in its canonical form."""
    driver = world.session(code=f"{world.code[:3].lower()}-{world.code[3:].lower()}")
    assert driver.session.connected() == [FindRoom(world.code)]


async def test_unknown_meeting_is_refused_with_4004_and_counts_a_failure(world: World) -> None:
    for code in ("ZZZZZZ", "not a code"):
        driver = await world.session(code=code).connect()
        assert driver.closed == Close(CLOSE_UNKNOWN_MEETING, "unknown_meeting")
        assert error_code(driver.sent) == "unknown_meeting" and "op" not in driver.sent[-1]
    assert world.attempts._failures["10.0.0.1"] and len(world.attempts._failures["10.0.0.1"]) == 2


async def test_live_connections_per_address_are_capped_and_given_back(world: World) -> None:
    """The fourth live connection from one address (cap 3) is refused with 4429; another address is not,
    and a closed session gives its slot back."""
    world.connections = AddressCounter(3)
    first = [await world.phone() for _ in range(3)]
    refused = await world.session().connect()
    assert refused.closed == Close(CLOSE_TOO_MANY, "too_many_connections")
    assert "3 live connections" in str(refused.sent[-1]["error"])
    assert (await world.phone(address="10.0.0.2")).closed is None
    first[0].session.ended()
    first[0].session.ended()  # idempotent: the slot is given back once
    assert world.connections.count("10.0.0.1") == 2
    assert (await world.phone()).closed is None


async def test_refused_connection_gives_no_slot_back(world: World) -> None:
    """A session refused at the cap never counted, so ending it must not free someone else's slot."""
    world.connections = AddressCounter(3)
    for _ in range(3):
        await world.phone()
    refused = await world.session().connect()
    refused.session.ended()
    assert world.connections.count("10.0.0.1") == 3


# ------------------------------------------------------------------ hello


async def test_first_frame_must_be_a_hello(world: World) -> None:
    driver = await world.session().connect()
    await driver.perform(driver.session.hello('{"v": 1, "type": "ping"}'))
    assert driver.closed == Close(CLOSE_BAD_HELLO, "hello_required")
    driver = await world.session().connect()
    await driver.perform(driver.session.hello("{not json"))
    assert driver.closed == Close(CLOSE_BAD_HELLO, "malformed")
    driver = await world.session().connect()
    await driver.hello(role="janitor")
    assert driver.closed == Close(CLOSE_BAD_HELLO, "invalid_field")


async def test_no_hello_in_time_closes_with_4000(world: World) -> None:
    driver = await world.session().connect()
    await driver.perform(driver.session.hello_timed_out())
    assert driver.closed == Close(4000, "no hello") and driver.session.state == "closed"


async def test_new_participant_is_joined_then_welcomed_with_token_and_vote_values(world: World) -> None:
    driver = await world.session().connect()
    actions = driver.session.hello('{"v": 1, "type": "hello", "role": "participant", "nickname": "Ann", '
                                   '"stakeholder": "vendor"}')
    assert len(actions) == 1 and isinstance(actions[0], Submit) and driver.session.state == "joining"
    await driver.perform(actions)
    welcome = driver.sent[-1]
    assert welcome["type"] == "welcome" and welcome["role"] == "participant" and welcome["new"] is True
    assert welcome["votes"] == list(SCALES["consent"]) == ["agree", "acceptable", "pass", "disagree"]
    assert isinstance(welcome["token"], str) and len(welcome["token"]) >= 16
    assert driver.attached == Attach(None) and driver.session.state == "open"
    assert driver.room is not None and driver.room.meeting.participants[welcome["participant"]].role == "vendor"


async def test_classic_meeting_welcomes_with_its_three_values(world: World) -> None:
    code, key = await world.new_meeting(scale="classic")
    driver = await world.session(code=code).connect()
    await driver.hello(role="host", host_key=key)
    assert driver.sent[-1]["votes"] == ["agree", "disagree", "pass"]


async def test_returning_token_is_the_same_participant_and_resumes_from_since(world: World) -> None:
    first = await world.phone(token=TOKEN)
    again = await world.phone(token=TOKEN, since=7)
    assert again.sent[-1]["participant"] == first.sent[-1]["participant"]
    assert first.sent[-1]["new"] is True and again.sent[-1]["new"] is False
    assert again.attached == Attach(7)


async def test_short_token_is_refused(world: World) -> None:
    driver = await world.session().connect()
    await driver.hello(role="participant", token="short")
    assert driver.closed == Close(CLOSE_BAD_HELLO, "invalid_field")


async def test_refused_join_closes_with_4400(world: World) -> None:
    """The room refuses the join itself (an unknown stakeholder role): the error, then close 4400."""
    driver = await world.session().connect()
    await driver.hello(role="participant", stakeholder="astronaut")
    assert driver.closed == Close(CLOSE_BAD_HELLO, "unknown_role")


async def test_new_participants_per_address_are_bucketed_but_returning_ones_pass(world: World) -> None:
    """Bucket 1/s burst 2: the third new phone from one address in the same instant is refused (4429), a
    returning phone is not, another address is not, and a second later one more new phone gets in."""
    world.joins = JoinLimiter(1.0, 2.0, world.clock)
    await world.phone(token=TOKEN)
    world.connections.limit = 100
    await world.phone()
    refused = await world.session().connect()
    await refused.hello(role="participant")
    assert refused.closed == Close(CLOSE_TOO_MANY, "too_many_joins")
    assert refused.sent[-1]["error"]["message"].startswith("too many new participants")
    await world.phone(token=TOKEN)
    await world.phone(address="10.0.0.9")
    world.clock.now += 1.0
    await world.phone()


async def test_join_bucket_is_per_meeting(world: World) -> None:
    world.joins = JoinLimiter(1.0, 2.0, world.clock)
    world.connections.limit = 100
    for _ in range(2):
        await world.phone()
    code, _key = await world.new_meeting()
    other = await world.session(code=code).connect()
    await other.hello(role="participant")
    assert other.closed is None and other.sent[-1]["new"] is True


async def test_host_needs_the_key_and_wrong_keys_are_throttled(world: World) -> None:
    host = await world.session().connect()
    await host.hello(role="host", host_key=world.host_key)
    assert host.sent[-1]["type"] == "welcome" and host.attached == Attach(None)
    wrong = await world.session().connect()
    await wrong.hello(role="host", host_key="guess")
    assert wrong.closed == Close(CLOSE_FORBIDDEN, "forbidden")
    world.connections.limit = 100
    for _ in range(25):
        wrong = await world.session(address="10.0.0.5").connect()
        if wrong.closed is not None:
            break
        await wrong.hello(role="host", host_key="guess")
    assert wrong.closed == Close(CLOSE_FORBIDDEN, "too_many_attempts")
    # The right key still gets in from the blocked address.
    host = await world.session(address="10.0.0.5").connect()
    assert host.sent == [] and host.closed is None
    await host.hello(role="host", host_key=world.host_key)
    assert host.sent[-1]["type"] == "welcome"


async def test_blocked_address_gets_in_only_with_a_secret_of_the_meeting(world: World) -> None:
    await world.phone(address="10.0.0.7", token=TOKEN)
    for _ in range(20):
        world.attempts.failed("10.0.0.7")
    for hello in ({"role": "projector"}, {"role": "participant"}, {"role": "participant", "token": "x" * 20},
                  {"role": "host", "host_key": "nope"}):
        driver = await world.session(address="10.0.0.7").connect()
        await driver.hello(**hello)
        assert driver.closed == Close(CLOSE_FORBIDDEN, "too_many_attempts"), hello
    unknown = await world.session(address="10.0.0.7", code="ZZZZZZ").connect()
    await unknown.hello(role="participant", token=TOKEN)
    assert unknown.closed == Close(CLOSE_FORBIDDEN, "too_many_attempts")
    known = await world.session(address="10.0.0.7").connect()
    await known.hello(role="participant", token=TOKEN)
    assert known.closed is None and known.sent[-1]["new"] is False


async def test_projector_is_welcomed_and_read_only(world: World) -> None:
    projector = await world.session().connect()
    await projector.hello(role="projector", since=3)
    assert projector.sent[-1]["type"] == "welcome" and projector.attached == Attach(3)
    reply = await projector.frame(type="vote", op="p1", statement=0, value="agree")
    assert reply is not None and reply["op"] == "p1" and reply["error"]["code"] == "forbidden"
    reply = await projector.frame(type="seed", op="p2", text="Projector seed.")
    assert reply is not None and reply["error"]["code"] == "forbidden"


# ------------------------------------------------------------------ commands


async def test_vote_is_submitted_then_acked_with_seq_and_next(world: World) -> None:
    phone = await world.phone()
    actions = phone.session.receive('{"v": 1, "type": "vote", "op": "v1", "statement": 0, "value": "agree"}')
    assert len(actions) == 1 and isinstance(actions[0], Submit) and actions[0].op == "v1"
    await phone.perform(actions)
    ack = phone.sent[-1]
    assert phone.room is not None
    assert ack["type"] == "ack" and ack["op"] == "v1" and ack["result"] == {"statement": 0, "value": "agree"}
    assert ack["seq"] == phone.room.meeting.seq and ack["remaining"] == 2 and ack["next"]["id"] in (1, 2)
    again = await phone.frame(type="vote", op="v1", statement=0, value="agree")
    assert again is not None and again["duplicate"] is True


async def test_refused_command_answers_with_its_op(world: World) -> None:
    phone = await world.phone()
    reply = await phone.frame(type="vote", op="v9", statement=99, value="agree")
    assert reply is not None and reply["type"] == "error" and reply["op"] == "v9"
    assert reply["error"]["code"] == "unknown_statement"
    reply = await phone.frame(type="vote", op="v10", statement="1", value="agree")
    assert reply is not None and reply["op"] == "v10" and reply["error"]["code"] == "invalid_field"


async def test_roles_are_checked_before_anything_is_submitted(world: World) -> None:
    phone = await world.phone()
    assert phone.room is not None
    seq = phone.room.meeting.seq
    for frame in ({"type": "seed", "op": "s", "text": "A seed."}, {"type": "phase", "op": "p", "phase": "closed"}):
        reply = await phone.frame(**frame)
        assert reply is not None and reply["error"]["code"] == "forbidden" and reply["op"] == frame["op"]
    assert phone.room.meeting.seq == seq, "nothing was applied"
    host = await world.session().connect()
    await host.hello(role="host", host_key=world.host_key)
    reply = await host.frame(type="vote", op="h1", statement=0, value="agree")
    assert reply is not None and reply["error"]["code"] == "forbidden"
    reply = await host.frame(type="seed", op="h2", text="A seed from the host.")
    assert reply is not None and reply["type"] == "ack" and reply["result"]["state"] == "accepted"


async def test_a_participants_connections_share_one_command_limit(world: World) -> None:
    """Commands beyond the participant's burst are refused whichever of their devices sends them, and the
    bucket refills with time (each connection keeps the limiter's bucket, never one of its own)."""
    first = await world.phone(token=TOKEN)
    second = await world.phone(token=TOKEN)
    burst = int(world.commands.burst)
    codes = []
    for i in range(burst + 2):
        phone = (first, second)[i % 2]
        reply = await phone.frame(type="next", op=f"n{i}")
        assert reply is not None
        codes.append(reply["error"]["code"] if reply["type"] == "error" else "ok")
    assert codes == ["ok"] * burst + ["rate_limited"] * 2
    world.clock.now += 1.0
    reply = await first.frame(type="next", op="later")
    assert reply is not None and reply["type"] == "next"


async def test_ping_next_and_a_second_hello(world: World) -> None:
    phone = await world.phone()
    assert phone.room is not None
    pong = await phone.frame(type="ping")
    assert pong == {"v": 1, "type": "pong", "seq": phone.room.meeting.seq}
    nxt = await phone.frame(type="next", op="n1")
    assert nxt is not None and nxt["type"] == "next" and nxt["remaining"] == 3
    again = await phone.frame(type="hello", role="participant")
    assert again is not None and again["error"]["code"] == "already_greeted" and phone.closed is None


async def test_analysis_control_without_a_scheduler_is_unavailable(world: World) -> None:
    host = await world.session().connect()
    await host.hello(role="host", host_key=world.host_key)
    reply = await host.frame(type="analysis", op="a1", action="pause")
    assert reply is not None and reply["op"] == "a1" and reply["error"]["code"] == "unavailable"


async def test_frames_after_close_are_ignored(world: World) -> None:
    driver = await world.session().connect()
    await driver.perform(driver.session.hello_timed_out())
    assert driver.session.receive('{"v": 1, "type": "ping"}') == []


# ------------------------------------------------------------------ floods, idleness


async def test_flood_is_refused_then_closed_with_4029(world: World) -> None:
    """Frames beyond 100/s (burst 200) are refused with rate_limited and their op; more than 200 refusals in
    the window close the connection with 4029 after the last refusal is sent."""
    phone = await world.phone()
    refusals = 0
    for i in range(200 + FLOOD_TOLERANCE + 5):
        actions = phone.session.receive(f'{{"v": 1, "type": "ping", "op": "f{i}"}}')
        if any(isinstance(a, Close) for a in actions):
            assert isinstance(actions[0], Send) and isinstance(actions[-1], Close)
            assert actions[-1] == Close(4029, "flooding")
            break
        message = actions[0].message if isinstance(actions[0], Send) else None
        assert isinstance(message, dict)
        if message["type"] == "error":
            assert message["error"]["code"] == "rate_limited" and message["op"] == f"f{i}"
            refusals += 1
    else:
        pytest.fail("a flooding client was never closed")
    assert refusals == FLOOD_TOLERANCE and phone.session.state == "closed"


async def test_flood_refusals_are_counted_in_a_window(world: World) -> None:
    """Refusals spread over more than the window never close the connection; the bucket refills with time."""
    phone = await world.phone()
    for _ in range(200):
        phone.session.receive('{"v": 1, "type": "ping"}')
    for _round in range(3):
        for _ in range(FLOOD_TOLERANCE // 2):
            actions = phone.session.receive('{"v": 1, "type": "ping"}')
            assert not any(isinstance(a, Close) for a in actions)
        world.clock.now += FLOOD_WINDOW + 0.01
        for _ in range(200):  # the bucket refilled: drain it again without refusals
            phone.session.receive('{"v": 1, "type": "ping"}')
    assert phone.session.state == "open"


async def test_idle_connection_is_closed_with_4000(world: World) -> None:
    phone = await world.phone()
    assert phone.session.idle_left() == pytest.approx(IDLE_TIMEOUT)
    world.clock.now += IDLE_TIMEOUT - 1
    await phone.frame(type="ping")
    assert phone.session.idle_left() == pytest.approx(IDLE_TIMEOUT)
    world.clock.now += IDLE_TIMEOUT + 0.5
    assert phone.session.idle_left() < 0
    assert phone.session.idle() == [Close(4000, "idle")]
