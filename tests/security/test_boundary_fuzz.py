"""Property: a hostile value in any field of any registered command is refused, with its op, and changes nothing.

For every command type in facilitation/core/registry.py (so a new command is fuzzed without touching this file)
and every one of its fields, including ``op``, hypothesis puts a hostile value (lone surrogates written as
``\\ud800`` escapes in the raw frame, control, bidi and zero-width characters, wrong JSON types, huge
numbers, huge strings) into an otherwise valid command and sends it over a real WebSocket to a real
server. Each must be answered with the error shape carrying the command's op (none when the op itself is
the hostile value), the meeting's sequence number must not move, and a phone in a second meeting must still
get every vote acknowledged within a second.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from facilitation.core.fields import bool_field
from facilitation.core.registry import SPECS
from tests.security.wire import DOCUMENTED_ERROR_CODES, new_meeting, server_env, ws_url
from tests.support.servers import ServerProcess, scaled

COMMANDS = sorted(kind for kind, spec in SPECS.items() if spec.roles)
"""Every command a greeted connection may send (hello is the connection's first message, tested apart)."""

VALID: dict[str, Any] = {
    "statement": 0,
    "value": "agree",
    "text": "一條全新的陳述。",
    "nickname": "小明",
    "stakeholder": "住戶",
    "action": "hide",
    "reason": "離題",
    "phase": "voting",
    "changes": {"topic": "新的主題"},
    "status": "adopted",
    "response": "已採納。",
}
"""A valid value for every command field: the hostile value is then the only thing wrong with a frame."""
WITNESSES = 5
"""Phones of the other meeting voting in turn, one vote per example, and screens of the attacked meeting
answering the pings that read its seq: each stays at an honest client's pace (a participant may send 20
commands a second, any connection 100 frames) however fast the examples run."""

WITNESS_GAP = 0.06
"""Seconds between two votes of one witness: 16 a second, under the 20 a participant may send."""

BAD_CHARS = ["\ud800", "\udfff", "\ud83d", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u202a",
             "\u2066", "\u2069"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u0301", "\u3164", "\u2800"]

hostile_strings = st.one_of(
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=8), st.sampled_from(BAD_CHARS), st.text(max_size=8)),
    st.lists(st.sampled_from(INVISIBLE), min_size=1, max_size=12).map("".join),
    st.integers(4001, 7500).map(lambda n: "x" * n),  # over every field's limit (4,000 at most), within 8 KiB
    st.integers(1001, 1300).map(lambda n: "長" * n),  # over a statement's limit: refused by the field or the frame
    st.integers(9000, 60000).map(lambda n: "x" * n),  # over the frame size: still answered with the op
)
wrong_types = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    st.integers(min_value=2**53 + 1, max_value=2**200),
    st.integers(max_value=-1, min_value=-(2**80)),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "0"]), st.integers(0, 1), max_size=1),
)
numbers_as_strings = st.sampled_from(["0", "1", "1.5", "-1", "1e3"])


BOOLEAN_FIELDS = {f.name for spec in SPECS.values() for f in spec.fields if f.check is bool_field}
"""Fields whose valid values are the booleans: for them a boolean is not hostile."""


def hostile_for(field: str) -> st.SearchStrategy[Any]:
    if field in BOOLEAN_FIELDS:
        return st.one_of(hostile_strings, wrong_types.filter(lambda v: not isinstance(v, bool)), st.integers(0, 5))
    if field in ("statement", "participant"):  # ids: a small integer may name a real one, so it is not hostile
        return st.one_of(wrong_types, numbers_as_strings, hostile_strings)
    if field == "changes":
        return st.one_of(
            wrong_types.filter(lambda v: not isinstance(v, dict)),
            hostile_strings,
            st.builds(lambda k, v: {k: v}, st.sampled_from(["title", "topic", "description"]), hostile_strings),
            st.builds(lambda v: {"results_visible": v}, st.one_of(st.integers(0, 1), st.sampled_from(["true", ""]))),
            st.builds(lambda k: {k: True}, st.sampled_from(["scale", "language", "\ud800", "title\x00"])),
        )
    if field == "op":
        return st.one_of(hostile_strings.filter(lambda s: len(s) < 9000), wrong_types, st.just("o" * 65))
    return st.one_of(hostile_strings, wrong_types, st.integers(0, 5))


PAIRS = [(kind, field) for kind in COMMANDS for field in (*SPECS[kind].field_names, "op")]
"""Every (command, field) pair, ``op`` included: each is fuzzed on its own, so none can be skipped."""
EXAMPLES_PER_FIELD = 10
_ops = itertools.count()


def frame(kind: str, field: str, value: Any) -> str:
    """A valid ``kind`` command with ``value`` in ``field``, as raw JSON (lone surrogates as \\ud800 escapes)."""
    message: dict[str, Any] = {"v": 1, "type": kind, "op": f"fz-{next(_ops)}"}
    message.update({f.name: VALID.get(f.name, f.example) for f in SPECS[kind].fields})
    message[field] = value
    return json.dumps(message, ensure_ascii=True)


class Arena:
    """Meeting A under attack (host and phone sockets) and meeting B with a phone that must keep voting."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.addresses = itertools.count(1)
        a = new_meeting(server, seeds=["應該增設機車停車區。", "夜市應該延長營業時間。"], roles=["住戶", "攤商"])
        self.host = self.connect(a["code"], role="host", host_key=a["host_key"])
        assert self.ask(self.host, {"v": 1, "type": "phase", "op": "open", "phase": "collecting"})["type"] == "ack"
        self.phone = self.connect(a["code"], role="participant")
        self.projector = self.connect(a["code"], role="projector")
        self.watchers = [self.connect(a["code"], role="projector") for _ in range(WITNESSES)]
        self.pings = itertools.count()
        b = new_meeting(server, seeds=["另一場會議的陳述。"])
        other_host = self.connect(b["code"], role="host", host_key=b["host_key"])
        assert self.ask(other_host, {"v": 1, "type": "phase", "op": "open", "phase": "collecting"})["type"] == "ack"
        other_host.close()
        self.witnesses = [self.connect(b["code"], role="participant") for _ in range(WITNESSES)]
        self.votes = itertools.count()
        self.witness_last = [0.0] * WITNESSES
        self.slowest_witness_ack = 0.0
        self.outcomes: dict[str, int] = {}

    def connect(self, code: str, **hello: Any) -> ClientConnection:
        n = next(self.addresses)
        ws = connect(ws_url(self.server, code), compression=None, open_timeout=scaled(10), legacy=True,
                     max_size=2**24, additional_headers={"X-Forwarded-For": f"198.51.100.{n}"})
        ws.send(json.dumps({"v": 1, "type": "hello", **hello}))
        assert json.loads(ws.recv(timeout=scaled(10)))["type"] == "welcome"
        return ws

    def socket_for(self, kind: str) -> ClientConnection:
        roles = SPECS[kind].roles
        if "participant" in roles:
            return self.phone
        if "host" in roles:
            return self.host
        return self.projector

    @staticmethod
    def answer(ws: ClientConnection) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(ws.recv(timeout=scaled(10)))
            if message["type"] in ("ack", "error", "pong", "next"):
                return message

    def ask(self, ws: ClientConnection, message: dict[str, Any] | str) -> dict[str, Any]:
        ws.send(message if isinstance(message, str) else json.dumps(message))
        return self.answer(ws)

    def seq(self) -> int:
        """Meeting A's sequence number, from a pong (on screens taken in turn: every connection may send at most
        100 frames a second, and the examples run faster than that)."""
        pong = self.ask(self.watchers[next(self.pings) % WITNESSES], {"v": 1, "type": "ping"})
        assert pong["type"] == "pong", f"the host's ping was answered by {pong}"
        return int(pong["seq"])

    def witness_votes(self) -> None:
        """The next witness votes, at most every WITNESS_GAP seconds each: at an honest phone's pace, below
        the per-participant budget (20 commands a second after a burst of 60), however fast the examples run
        (with every command's fields fuzzed there are over a thousand examples, more than the bursts hold)."""
        n = next(self.votes)
        witness = n % WITNESSES
        wait = self.witness_last[witness] + WITNESS_GAP - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.witness_last[witness] = time.monotonic()
        started = time.monotonic()
        ack = self.ask(self.witnesses[n % WITNESSES], {"v": 1, "type": "vote", "op": f"w{n}", "statement": 0,
                                      "value": ("agree", "disagree", "pass")[n % 3]})
        elapsed = time.monotonic() - started
        self.slowest_witness_ack = max(self.slowest_witness_ack, elapsed)
        assert ack["type"] == "ack" and ack["op"] == f"w{n}", ack
        assert elapsed < scaled(1.0), f"the other meeting's vote took {elapsed:.3f} s"

    def close(self) -> None:
        for ws in (self.host, self.phone, self.projector, *self.witnesses, *self.watchers):
            ws.close()


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    server = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('boundary-fuzz') / 'meetings.db'}",
                           env=server_env(FACILITATION_ANALYSIS="0")).start()
    state = Arena(server)
    try:
        yield state
    finally:
        state.close()
        server.stop()


@pytest.mark.parametrize(("kind", "field"), PAIRS)
@settings(max_examples=EXAMPLES_PER_FIELD, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
def test_a_hostile_field_is_refused_with_its_op_and_changes_nothing(arena: Arena, kind: str, field: str,
                                                                     data: st.DataObject) -> None:
    raw = frame(kind, field, data.draw(hostile_for(field), label=field))
    before = arena.seq()
    answer = arena.ask(arena.socket_for(kind), raw)
    assert answer["type"] == "error", (raw[:200], answer)
    assert set(answer["error"]) == {"code", "message"} and answer["error"]["code"] in DOCUMENTED_ERROR_CODES, answer
    assert answer["error"]["code"] != "internal", answer
    if field == "op":
        assert "op" not in answer, answer
    else:
        assert answer.get("op") == json.loads(raw)["op"], (raw[:200], answer)
    assert arena.seq() == before, (raw[:200], answer)
    arena.witness_votes()
    key = f"{kind}.{field} {answer['error']['code']}"
    arena.outcomes[key] = arena.outcomes.get(key, 0) + 1


def test_every_command_and_field_was_fuzzed(arena: Arena) -> None:
    """Runs after the property (same module): every (command, field) pair met at least one hostile value."""
    print("boundary fuzz outcomes:", json.dumps(dict(sorted(arena.outcomes.items())), ensure_ascii=False))
    seen = {key.split(" ")[0] for key in arena.outcomes}
    assert seen, "run the whole module: the property test comes first"
    assert seen == {f"{kind}.{field}" for kind, field in PAIRS}
    print(f"slowest acknowledged vote in the other meeting: {arena.slowest_witness_ack * 1000:.1f} ms")
