"""Hostile input over a real WebSocket: random and mutated protocol frames never crash the server.

Every fuzzed frame must be answered with the one error shape (a documented code, never ``internal``), an
ordinary answer when the fuzzer happened to build a valid command, or a close with a documented code.
Afterwards the server is healthy, a fresh phone can still vote, the counters agree with the tallies, and
the meeting replays to the same state after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from facilitation.core.protocol import MAX_MESSAGE_BYTES
from facilitation.core.registry import SPECS
from facilitation.core.vocabulary import VOTE_VALUES as VOTES
from tests.security.wire import (
    DOCUMENTED_CLOSE_CODES,
    DOCUMENTED_ERROR_CODES,
    http_json,
    new_meeting,
    start_server,
    ws_url,
)
from tests.support.servers import ServerProcess, scaled

SEEDS = ["應該增設機車停車區。", "夜市應該延長營業時間。", "<b>加強</b>巡邏"]
VOTE_VALUES = list(VOTES)
NASTY_TEXT = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "=cmd|' /C calc'!A0",
    "[x](javascript:alert(1))",
    "\u202egnp.exe",
    "\x00\x01\x7f",
    "'; DROP TABLE events; --",
    "🙂" * 300,
    "字" * 1999,
    " ",
    "",
]


class Fuzzed:
    """One server and one meeting for the whole module, with a live socket per role."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        meeting = new_meeting(server, seeds=SEEDS)
        self.code: str = meeting["code"]
        self.host_key: str = meeting["host_key"]
        self.url = ws_url(server, self.code)
        self.sockets: dict[str, ClientConnection] = {}
        self.token = ""
        self.frames = 0
        self.outcomes: dict[str, int] = {}
        host = self.socket("host")
        self.ask(host, {"v": 1, "type": "phase", "op": "open", "phase": "collecting"})

    def hello(self, role: str) -> dict[str, Any]:
        hello: dict[str, Any] = {"v": 1, "type": "hello", "role": role}
        if role == "host":
            hello["host_key"] = self.host_key
        if role == "participant" and self.token:
            hello["token"] = self.token
        return hello

    def socket(self, role: str) -> ClientConnection:
        ws = self.sockets.get(role)
        if ws is not None and ws.close_code is None:
            return ws
        ws = connect(self.url, compression=None, max_size=2**24, open_timeout=scaled(10), legacy=True)
        ws.send(json.dumps(self.hello(role)))
        welcome = json.loads(ws.recv(timeout=scaled(10)))
        assert welcome["type"] == "welcome", welcome
        if role == "participant":
            self.token = welcome["token"]
        ws.recv(timeout=scaled(10))  # the snapshot
        self.sockets[role] = ws
        return ws

    def ask(self, ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
        ws.send(json.dumps(message))
        while True:
            answer: dict[str, Any] = json.loads(ws.recv(timeout=scaled(10)))
            if answer.get("op") == message.get("op") and answer["type"] in ("ack", "error"):
                return answer

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def close(self) -> None:
        for ws in self.sockets.values():
            ws.close()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    server = start_server(tmp_path_factory.mktemp("fuzz"))
    state = Fuzzed(server)
    try:
        yield state
    finally:
        state.close()
        server.stop()


# ------------------------------------------------------------------ strategies

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.integers(min_value=0, max_value=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(NASTY_TEXT + VOTE_VALUES + ["participant", "host", "projector", "collecting", "closed"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)


@st.composite
def protocol_like(draw: st.DrawFn, kinds: tuple[str, ...] = ()) -> str:
    """A message shaped like the protocol, with some fields right, some wrong, some missing, some extra."""
    kind = draw(st.sampled_from(kinds)) if kinds else draw(st.sampled_from(sorted(SPECS)) | st.text(max_size=12))
    message: dict[str, Any] = {}
    if draw(st.booleans()) or draw(st.booleans()):
        message["v"] = draw(st.sampled_from([1, 1, 1, 2, 0, "1", True, None, 1.0]))
    message["type"] = kind
    if draw(st.integers(0, 5)):
        message["op"] = draw(st.one_of(st.uuids().map(str), st.uuids().map(str), st.text(min_size=1, max_size=8),
                                       st.text(min_size=60, max_size=80), json_values))
    for name in SPECS[kind].field_names if kind in SPECS else ():
        if draw(st.integers(0, 4)) == 0:
            continue  # missing
        if name == "statement":
            good: st.SearchStrategy[Any] = st.integers(0, 6)
        elif name == "value":
            good = st.sampled_from(VOTE_VALUES)
        elif name == "changes":
            good = st.dictionaries(st.sampled_from(["title", "topic", "results_visible", "bogus"]), json_values,
                                   max_size=3)
        elif name == "role":
            good = st.sampled_from(["participant", "host", "projector"])
        elif name == "token":
            good = st.text(min_size=16, max_size=40)
        else:
            good = st.sampled_from(NASTY_TEXT) | st.text(max_size=30)
        message[name] = draw(st.one_of(good, good, good, json_values))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        message[draw(st.text(max_size=10))] = draw(json_values)
    return json.dumps(message, ensure_ascii=draw(st.booleans()))


valid_commands = st.one_of(
    st.builds(lambda o, s, v: {"type": "vote", "op": o, "statement": s, "value": v},
              st.uuids().map(str), st.integers(0, 8), st.sampled_from(VOTE_VALUES)),
    st.builds(lambda o, t: {"type": "post", "op": o, "text": t},
              st.uuids().map(str), st.sampled_from(NASTY_TEXT) | st.text(min_size=1, max_size=150)),
    st.builds(lambda o, n: {"type": "profile", "op": o, "nickname": n},
              st.uuids().map(str), st.sampled_from(NASTY_TEXT) | st.text(max_size=50)),
    st.just({"type": "next"}),
    st.builds(lambda o, t: {"type": "seed", "op": o, "text": t}, st.uuids().map(str), st.sampled_from(NASTY_TEXT)),
    st.builds(lambda o, s, a, r: {"type": "moderate", "op": o, "statement": s, "action": a, "reason": r},
              st.uuids().map(str), st.integers(0, 12), st.sampled_from(["accept", "reject", "hide", "nuke"]),
              st.sampled_from(NASTY_TEXT)),
    st.builds(lambda o, p: {"type": "phase", "op": o, "phase": p}, st.uuids().map(str),
              st.sampled_from(["lobby", "collecting", "voting", "reviewing", "closed"])),
    st.builds(lambda o, c: {"type": "settings", "op": o, "changes": c}, st.uuids().map(str),
              st.dictionaries(st.sampled_from(["title", "topic", "description", "results_visible"]),
                              st.sampled_from([*NASTY_TEXT, True, False]), min_size=1, max_size=2)),
).map(lambda message: json.dumps({"v": 1, **message}))
"""Well-formed commands of every type, so the fuzz also changes the meeting and not only its error path."""

valid_hellos = st.one_of(
    st.builds(lambda n, r, t: {"role": "participant", "nickname": n, "stakeholder": r, **t},
              st.sampled_from(NASTY_TEXT) | st.text(max_size=45), st.sampled_from(["", "住戶", "<i>x</i>"]),
              st.just({}) | st.builds(lambda t: {"token": t}, st.text(min_size=0, max_size=40))),
    st.builds(lambda k: {"role": "host", "host_key": k}, st.text(max_size=40)),
    st.builds(lambda s: {"role": "projector", "since": s}, st.integers(-5, 2**60)),
).map(lambda fields: json.dumps({"v": 1, "type": "hello", **fields}))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid-looking message with characters deleted, replaced or inserted."""
    text = list(draw(protocol_like()))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["delete", "replace", "insert"]))
        char = draw(st.sampled_from([*'{}[]",:\\0e-.', "\ud800", "\udfff", "\x00", "é"]))
        if action == "delete":
            del text[at]
        elif action == "replace":
            text[at] = char
        else:
            text.insert(at, char)
    return "".join(text)


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"v":1,"type":"settings","op":"n","changes":' + '{"title":' * depth + '"x"' + "}" * depth + "}"


raw_frames = st.one_of(
    st.text(max_size=200),
    st.builds(nested, st.integers(1, 4000), st.sampled_from(["list", "object", "settings"])),
    st.builds(lambda n, d: '{"v":1,"type":"vote","op":"h","statement":' + d * n + ',"value":"agree"}',
              st.integers(15, 6000), st.sampled_from(["9", "1"])),
    st.builds(lambda n: '{"v":1,"type":"vote","op":"f","statement":1e' + str(n) + ',"value":"agree"}',
              st.integers(1, 400)),
    st.just('{"v":1,"type":"vote","op":"nan","statement":NaN,"value":"agree"}'),
    st.just('{"v":1,"type":"post","op":"dup","text":"a","text":"b"}'),
    st.just('{"v":1,"type":"post","op":"sur","text":"\\ud800"}'),
    st.builds(lambda n: json.dumps({"v": 1, "type": "post", "op": "big", "text": "x" * n}),
              st.integers(MAX_MESSAGE_BYTES - 40, 4 * MAX_MESSAGE_BYTES)),
    st.builds(lambda n: "字" * n, st.integers(MAX_MESSAGE_BYTES // 3 - 5, MAX_MESSAGE_BYTES)),
)
frames = st.one_of(
    valid_commands,
    valid_commands,
    protocol_like(),
    protocol_like(),
    mutated(),
    raw_frames,
    st.binary(max_size=120).map(lambda b: ("binary", b)),
    st.binary(min_size=1, max_size=60).map(lambda b: ("bad-utf8", b"\xff\xfe" + b)),
)


# ------------------------------------------------------------------ the fuzzer

def _check_error(message: dict[str, Any]) -> None:
    assert message.get("v") == 1, message
    error = message.get("error")
    assert isinstance(error, dict) and set(error) == {"code", "message"}, message
    assert error["code"] in DOCUMENTED_ERROR_CODES, message
    assert isinstance(error["message"], str) and error["message"], message


def _exchange(state: Fuzzed, role: str, frame: str | tuple[str, bytes]) -> str:
    """Send one frame, then a sentinel that is always refused with its op; classify what came between."""
    ws = state.socket(role)
    state.frames += 1
    sentinel = f"sentinel-{state.frames}"
    try:
        if isinstance(frame, tuple):
            kind, payload = frame
            ws.send(payload, text=kind == "bad-utf8")
        else:
            # lone surrogates are sent as the (invalid UTF-8) bytes a broken client would send
            ws.send(frame.encode("utf-8", "surrogatepass"), text=True)
        ws.send(json.dumps({"v": 1, "type": "hello", "op": sentinel, "role": "projector"}))
        answers: list[dict[str, Any]] = []
        while True:
            message = json.loads(ws.recv(timeout=scaled(10)))
            if message.get("op") == sentinel:
                assert message["type"] == "error", message
                break
            if message["type"] in ("error", "ack", "next", "pong"):
                answers.append(message)
    except ConnectionClosed:
        code = ws.close_code
        assert code in DOCUMENTED_CLOSE_CODES, f"closed with undocumented code {code} after {frame!r:.200}"
        return f"close {code}"
    assert len(answers) == 1, f"{frame!r:.200} got {answers}"
    answer = answers[0]
    if answer["type"] == "error":
        _check_error(answer)
        return f"error {answer['error']['code']}"
    return str(answer["type"])


@settings(max_examples=600, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture, HealthCheck.large_base_example])
@given(role=st.sampled_from(["participant", "participant", "host", "projector"]), frame=frames)
def test_fuzzed_frames_get_the_error_shape_or_a_documented_close(fuzzed: Fuzzed, role: str,
                                                                  frame: str | tuple[str, bytes]) -> None:
    """Every fuzzed frame is answered with the error shape, a normal answer or a documented close."""
    fuzzed.count(_exchange(fuzzed, role, frame))


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hello=st.one_of(valid_hellos, protocol_like(("hello",)), protocol_like(("hello",)), mutated()))
def test_fuzzed_hello_is_refused_cleanly(fuzzed: Fuzzed, hello: str) -> None:
    """A fuzzed first message gets a welcome, or the error shape and a documented close."""
    fuzzed.frames += 1
    address = f"10.{fuzzed.frames // 65536 % 256}.{fuzzed.frames // 256 % 256}.{fuzzed.frames % 256}"
    with connect(fuzzed.url, compression=None, additional_headers={"X-Forwarded-For": address},
                 open_timeout=scaled(10)) as ws:
        ws.send(hello.encode("utf-8", "surrogatepass"), text=True)
        try:
            first = json.loads(ws.recv(timeout=scaled(10)))
        except ConnectionClosed:
            assert ws.close_code in DOCUMENTED_CLOSE_CODES
            fuzzed.count(f"hello close {ws.close_code}")
            return
        if first["type"] == "welcome":
            fuzzed.count("welcome")
            return
        _check_error(first)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=scaled(10))
        assert ws.close_code in DOCUMENTED_CLOSE_CODES
        fuzzed.count(f"hello {first['error']['code']} close {ws.close_code}")


def test_frame_over_one_mebibyte_is_closed_with_1009(fuzzed: Fuzzed) -> None:
    """A frame over the transport limit closes the socket with 1009 and nothing else happens."""
    with connect(fuzzed.url, compression=None, open_timeout=scaled(10)) as ws:
        ws.send(json.dumps(fuzzed.hello("projector")))
        ws.recv(timeout=scaled(10))
        ws.send("x" * (1024 * 1024 + 1))
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=scaled(10))
        assert ws.close_code == 1009


def test_meeting_is_sound_after_the_fuzz(fuzzed: Fuzzed) -> None:
    """After the fuzz: healthz ok, no server traceback, a fresh phone votes, counters match tallies and replay."""
    assert fuzzed.frames >= 600, "run the whole module: the fuzz tests come first"
    print("fuzz outcomes:", json.dumps(dict(sorted(fuzzed.outcomes.items())), ensure_ascii=False))
    server = fuzzed.server
    assert http_json("GET", server.url + "/healthz")[0] == 200
    log = server.log_path.read_text(errors="replace")
    assert "/facilitation/" not in log and "command failed" not in log, log
    assert "Exception in ASGI application" not in log, log

    host = fuzzed.socket("host")
    phase = fuzzed.ask(host, {"v": 1, "type": "phase", "op": "reopen", "phase": "collecting"})
    assert phase["type"] == "ack" or phase["error"]["code"] in ("no_change", "illegal_transition"), phase
    seeded = fuzzed.ask(host, {"v": 1, "type": "seed", "op": "after-fuzz", "text": "模糊測試之後仍可投票。"})
    statement = seeded["result"]["statement"]
    with connect(fuzzed.url, compression=None, open_timeout=scaled(10)) as phone:
        phone.send(json.dumps({"v": 1, "type": "hello", "role": "participant"}))
        assert json.loads(phone.recv(timeout=scaled(10)))["type"] == "welcome"
        vote = fuzzed.ask(phone, {"v": 1, "type": "vote", "op": "v1", "statement": statement, "value": "agree"})
        assert vote["type"] == "ack", vote

    before = _consistent_state(fuzzed)
    server.kill()
    server.start()
    fuzzed.sockets.clear()
    assert _consistent_state(fuzzed) == before


def _consistent_state(fuzzed: Fuzzed) -> dict[str, Any]:
    with connect(fuzzed.url, compression=None, open_timeout=scaled(10)) as ws:
        ws.send(json.dumps(fuzzed.hello("host")))
        assert json.loads(ws.recv(timeout=scaled(10)))["type"] == "welcome"
        snapshot = json.loads(ws.recv(timeout=scaled(10)))
    counters = snapshot["meeting"]["counters"]
    statements = snapshot["all_statements"]
    assert counters["votes"] == sum(sum(s["tally"].values()) for s in statements)
    assert counters["statements"] == sum(1 for s in statements if s["state"] == "accepted")
    assert counters["pending"] == sum(1 for s in statements if s["state"] == "pending")
    assert counters["participants"] == sum(snapshot["participants_by_role"].values())
    status, info = http_json("GET", fuzzed.server.url + f"/api/meetings/{fuzzed.code}")
    assert status == 200 and info["counters"] == counters
    return {"counters": counters, "statements": statements, "phase": snapshot["meeting"]["phase"]}


def test_fuzz_outcomes_cover_errors_and_closes(fuzzed: Fuzzed) -> None:
    """The fuzzer really exercised refusals (several error codes) and not only happy paths."""
    codes = {k for k in fuzzed.outcomes if k.startswith("error ")}
    assert len(codes) >= 6, fuzzed.outcomes
    assert any(k.startswith("close ") for k in fuzzed.outcomes), fuzzed.outcomes
