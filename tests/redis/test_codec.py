"""The command codec that forwards commands between workers covers every command: it is derived from the
core's table of declarations, and every command type is accepted through a worker that does NOT own the
meeting, over the WebSocket and over HTTP (a follow-up sent to a non-owner used to be a 500)."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from facilitation.core.registry import COMMAND_TYPES, SPECS, decode_command, encode_command
from facilitation.storage import redis_keys as keys
from facilitation.tools.client import MeetingClient, ServerError
from tests.core.test_registry import defined_commands
from tests.redis.support import create_meeting, redis_or_skip, worker
from tests.security.test_boundary_fuzz import VALID
from tests.security.wire import http_json
from tests.support.servers import RedisServer, ServerProcess, scaled

pytestmark = pytest.mark.redis

FORWARD_FAILURES = {"store_unavailable", "internal", "unknown_command", "malformed", "invalid_field"}
"""Answers that would mean the command did not reach the owner's meeting intact."""

_SAMPLES: dict[Any, Any] = {str: "文字 text", int: 7, bool: True, float: 2.5,
                            dict[str, Any]: {"title": "新標題", "x": [1]}}


def _value(hint: Any) -> Any:
    """A plausible value of a field's type: a list of one plausible item, None for an optional field."""
    if hint in _SAMPLES:
        return _SAMPLES[hint]
    args = typing.get_args(hint)
    if type(None) in args:
        return None
    if typing.get_origin(hint) in (list, tuple):
        return typing.get_origin(hint)([_value(args[0])])
    raise AssertionError(f"no sample for a field of type {hint!r}: add one to _SAMPLES")


def _sample(cls: type[Any]) -> Any:
    """An instance of a command dataclass with a plausible value in every field."""
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _value(hints[f.name]) for f in dataclasses.fields(cls)})


def test_codec_covers_every_command_of_the_core() -> None:
    """The codec's table is every command class the core defines, nothing more, nothing less."""
    assert set(COMMAND_TYPES.values()) == defined_commands()


COMMAND_CLASSES = sorted(defined_commands(), key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", COMMAND_CLASSES, ids=[c.__name__ for c in COMMAND_CLASSES])
def test_every_command_round_trips_through_json(cls: type[Any]) -> None:
    """encode -> JSON text -> decode gives an equal command, for every command type."""
    command = _sample(cls)
    assert decode_command(json.loads(json.dumps(encode_command(command)))) == command


def test_decode_refuses_unknown_kinds_and_fields() -> None:
    """A forwarded payload naming no command, or a field the command lacks, is an error, not a crash."""
    with pytest.raises(ValueError):
        decode_command({"kind": "Nope"})
    with pytest.raises(ValueError):
        decode_command({"kind": "Vote", "participant": 1, "statement": 1, "value": "agree", "op": "o", "x": 1})


@pytest.fixture
def pair() -> Iterator[tuple[RedisServer, ServerProcess, ServerProcess]]:
    server = redis_or_skip()
    a, b = worker(server).start(), worker(server).start()
    try:
        yield server, a, b
    finally:
        a.stop()
        b.stop()
        server.kill()
        server.stop()


def _owner_worker(redis_url: str, code: str) -> str:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        token = client.get(keys.owner(code))
    finally:
        client.close()
    assert isinstance(token, str), "the meeting has no owner"
    return token.partition(":")[2]


@pytest.mark.asyncio
async def test_every_command_is_accepted_through_a_non_owner(
        pair: tuple[RedisServer, ServerProcess, ServerProcess]) -> None:
    """Worker A creates (and so owns) the meeting; every command type sent to worker B is acknowledged
    over the WebSocket, and a follow-up over HTTP answers 200, because B forwards them all to A."""
    redis_server, a, b = pair
    meeting = create_meeting(a.url, 2)
    code = meeting["code"]
    b_worker = http_json("GET", b.url + "/healthz")[1]["worker"]
    host = MeetingClient(b.url, code, "host", host_key=meeting["host_key"])
    await host.connect(timeout=scaled(10))
    assert _owner_worker(redis_server.url, code) != b_worker, "worker B must not own the meeting"
    covered: set[str] = set()

    async def send(client: MeetingClient, kind: str, command: str, **fields: Any) -> dict[str, Any]:
        reply = await client.command(kind, timeout=scaled(10), op=f"{kind}-op", **fields)
        assert reply["type"] == "ack", reply
        covered.add(command)
        return reply

    await send(host, "phase", "SetPhase", phase="collecting")
    phone = MeetingClient(b.url, code, nickname="小明")  # hello as a new participant: Join
    welcome = await phone.connect(timeout=scaled(10))
    assert isinstance(welcome["participant"], int)
    covered.add("Join")
    await send(phone, "profile", "SetProfile", nickname="小華")
    posted = await send(phone, "post", "PostStatement", text="公車應該更準時")
    await send(host, "seed", "PostStatement", text="主持人的陳述")
    statement = int(posted["result"]["statement"])
    await send(host, "moderate", "Moderate", statement=statement, action="hide")
    await send(phone, "vote", "Vote", statement=0, value="agree")
    await send(host, "settings", "UpdateSettings", changes={"results_visible": True})
    await send(host, "follow_up", "SetFollowUp", statement=0, status="under_study", response="研議中")
    status, body = http_json("POST", f"{b.url}/api/meetings/{code}/follow-ups",
                             {"statement": 1, "status": "adopted", "response": "已採納", "op": "http-follow-up"},
                             headers={"x-host-key": meeting["host_key"]})
    assert status == 200, body
    assert body["result"]["statement"] == 1 and int(body["seq"]) > 0
    # Every other command, with its required fields as its declaration describes them: forwarding knows no
    # command by name (the codec carries them all), so a valid frame sent to B must be decided by the owner,
    # accepted or refused for the meeting's own reasons (phase_forbids, no_change...), never lost on the way
    # or broken by the codec.
    for name in sorted(set(COMMAND_TYPES) - covered):
        spec = next(s for s in SPECS.values() if s.command is COMMAND_TYPES[name])
        client = host if "host" in spec.roles else phone
        fields = {f.name: VALID.get(f.name, f.example) for f in spec.fields if f.required}
        try:
            reply = await client.command(spec.type, timeout=scaled(10), op=f"{spec.type}-generic", **fields)
            assert reply["type"] == "ack", reply
        except ServerError as refused:
            assert refused.code not in FORWARD_FAILURES, f"{name} through a non-owner: {refused}"
        covered.add(name)
    assert covered == set(COMMAND_TYPES), f"commands not exercised: {set(COMMAND_TYPES) - covered}"
    assert _owner_worker(redis_server.url, code) != b_worker
    await phone.close()
    await host.close()
