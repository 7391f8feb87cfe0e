"""Issue 11's exact cases (items 1, 4, 5, 7, 8), each against a real server on SQLite and on Redis.

Every string a client sends passes one validator (facilitation/core/text.py) declared per command in
facilitation/core/registry.py; these tests send what an attacker sent, as raw frames and raw HTTP bodies, and
check the refusal (the error shape, with the command's op), that nothing was applied, and that every
meeting keeps working afterwards.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from facilitation.core.text import FORBIDDEN
from facilitation.core.vocabulary import SCALES
from tests.redis.support import redis_or_skip
from tests.security.wire import DOCUMENTED_ERROR_CODES, http_json, server_env, ws_url
from tests.support.servers import RedisServer, ServerProcess, scaled

SEED = "應該增設機車停車區。"
CREATE_LIMIT = 5
_addresses = itertools.count(1)


def fresh_address() -> str:
    n = next(_addresses)
    return f"203.0.113.{n}" if n < 255 else f"198.18.{n // 250}.{n % 250 + 1}"


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = server_env(FACILITATION_ANALYSIS="0", FACILITATION_CREATE_LIMIT=str(CREATE_LIMIT))
    redis: RedisServer | None = None
    if request.param == "sqlite":
        proc = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('boundary') / 'meetings.db'}", env=env)
    else:
        redis = redis_or_skip()
        proc = ServerProcess(redis.url, redis=redis.url, env=env)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
        if redis is not None:
            redis.stop()


def post_raw(server: ServerProcess, body: bytes, address: str | None = None) -> tuple[int, Any, str]:
    """POST /api/meetings with a raw body; returns (status, parsed JSON or text, content type)."""
    request = urllib.request.Request(server.url + "/api/meetings", data=body, method="POST", headers={
        "content-type": "application/json", "X-Forwarded-For": address or fresh_address()})
    try:
        with urllib.request.urlopen(request, timeout=scaled(30)) as response:
            status, raw, kind = response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get("content-type", "")
    try:
        return status, json.loads(raw), kind
    except ValueError:
        return status, raw.decode(errors="replace"), kind


def create(server: ServerProcess, **settings: Any) -> dict[str, Any]:
    status, body, _ = post_raw(server, json.dumps({"title": "邊界測試", "seeds": [SEED, "夜市應該延長營業時間。"],
                                                   **settings}).encode())
    assert status == 201, body
    return dict(body)


def assert_error_shape(body: Any) -> str:
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"} and body["error"]["code"] in DOCUMENTED_ERROR_CODES, body
    return str(body["error"]["code"])


class Socket:
    """A greeted connection that sends raw frames and reads the answer (ack, error, pong, next)."""

    def __init__(self, server: ServerProcess, code: str, role: str, **hello: Any) -> None:
        self.ws: ClientConnection = connect(ws_url(server, code), compression=None, open_timeout=scaled(10),
                                            legacy=True, additional_headers={"X-Forwarded-For": fresh_address()})
        self.ws.send(json.dumps({"v": 1, "type": "hello", "role": role, **hello}))
        self.welcome = self.answer(("welcome",))

    def answer(self, kinds: tuple[str, ...] = ("ack", "error", "pong", "next"), timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + scaled(timeout)
        while True:
            message: dict[str, Any] = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] in kinds:
                return message

    def raw(self, frame: str) -> dict[str, Any]:
        self.ws.send(frame)
        return self.answer()

    def send(self, **message: Any) -> dict[str, Any]:
        return self.raw(json.dumps({"v": 1, **message}))

    def seq(self) -> int:
        return int(self.send(type="ping")["seq"])

    def close(self) -> None:
        self.ws.close()


def refused(answer: dict[str, Any], op: str | None, *codes: str) -> None:
    assert answer["type"] == "error", answer
    assert set(answer["error"]) == {"code", "message"} and answer["error"]["code"] in DOCUMENTED_ERROR_CODES, answer
    if codes:
        assert answer["error"]["code"] in codes, answer
    if op is None:
        assert "op" not in answer, answer
    else:
        assert answer.get("op") == op, answer


@pytest.fixture
def meeting(server: ServerProcess) -> Iterator[tuple[dict[str, Any], Socket, Socket]]:
    """A meeting in the collecting phase with its host and one phone connected."""
    created = create(server, roles=["住戶", "攤商"])
    host = Socket(server, created["code"], "host", host_key=created["host_key"])
    assert host.send(type="phase", op="open", phase="collecting")["type"] == "ack"
    phone = Socket(server, created["code"], "participant")
    try:
        yield created, host, phone
    finally:
        host.close()
        phone.close()


# ------------------------------------------------------------------ item 1: one frame stops every meeting


def test_lone_surrogates_are_refused_and_every_meeting_keeps_working(
        server: ServerProcess, meeting: tuple[dict[str, Any], Socket, Socket]) -> None:
    created, host, phone = meeting
    other = create(server)
    other_host = Socket(server, other["code"], "host", host_key=other["host_key"])
    assert other_host.send(type="phase", op="open", phase="collecting")["type"] == "ack"
    other_phone = Socket(server, other["code"], "participant")
    before = host.seq()

    refused(phone.raw('{"v":1,"type":"vote","op":"\\ud800","statement":0,"value":"agree"}'), None, "invalid_field")
    refused(phone.raw('{"v":1,"type":"post","op":"\\udfff","text":"新的陳述"}'), None, "invalid_field")
    refused(host.raw('{"v":1,"type":"phase","op":"\\ud800x","phase":"voting"}'), None, "invalid_field")
    refused(host.raw('{"v":1,"type":"settings","op":"s1","changes":{"title":"\\ud800"}}'), "s1", "invalid_field")
    refused(host.raw('{"v":1,"type":"seed","op":"s2","text":"a\\ud800b"}'), "s2", "invalid_field")
    refused(phone.raw('{"v":1,"type":"profile","op":"p1","nickname":"\\udc00"}'), "p1", "invalid_field")
    refused(phone.raw('{"v":1,"type":"post","op":"p2","text":"\\ud83d"}'), "p2", "invalid_field")
    assert host.seq() == before

    # every meeting goes on: votes acknowledged at once, phones join, meetings are created, healthz is ok
    for i, value in enumerate(("agree", "disagree", "pass")):
        started = time.monotonic()
        ack = other_phone.send(type="vote", op=f"b{i}", statement=0, value=value)
        assert ack["type"] == "ack" and time.monotonic() - started < scaled(1), ack
    assert phone.send(type="vote", op="a1", statement=0, value="agree")["type"] == "ack"
    newcomer = Socket(server, created["code"], "participant")
    assert newcomer.welcome["new"] is True
    newcomer.close()
    assert create(server)["code"]
    assert http_json("GET", server.url + "/healthz")[0] == 200
    status, info = http_json("GET", server.url + f"/api/meetings/{created['code']}")
    assert status == 200 and info["settings"]["title"] == "邊界測試"
    other_host.close()
    other_phone.close()


def test_a_hostile_hello_is_refused_and_joins_no_one(server: ServerProcess,
                                                      meeting: tuple[dict[str, Any], Socket, Socket]) -> None:
    created, _, _ = meeting
    before = http_json("GET", server.url + f"/api/meetings/{created['code']}")[1]["counters"]["participants"]
    for field, value in (("nickname", "\ud800"), ("nickname", "a\x1bb"), ("stakeholder", "\u202e住戶"),
                         ("token", "\ud800" * 20), ("token", 12345678901234567), ("since", -1), ("since", "5"),
                         ("nickname", "\u200b\u200b"), ("role", "participant\x00")):
        ws = connect(ws_url(server, created["code"]), compression=None, open_timeout=scaled(10), legacy=True,
                     additional_headers={"X-Forwarded-For": fresh_address()})
        hello = {"v": 1, "type": "hello", "role": "participant", field: value}
        ws.send(json.dumps(hello))
        answer = json.loads(ws.recv(timeout=scaled(10)))
        refused(answer, None)
        with pytest.raises(Exception):  # noqa: B017 - the socket is closed after the refusal
            ws.recv(timeout=scaled(10))
        assert ws.close_code == 4400, (field, value, ws.close_code)
    after = http_json("GET", server.url + f"/api/meetings/{created['code']}")[1]["counters"]["participants"]
    assert after == before


# ------------------------------------------------------------------ item 4: HTTP create is strict


@pytest.mark.parametrize("body", [
    b'{"title": "\\ud800"}',
    b'{"title": "ok", "seeds": ["\\udfff"]}',
    b'{"title": "ok", "roles": ["\\ud800"]}',
    b'{"title": 5}',
    b'{"title": ["a"]}',
    b'{"title": "ok", "max_statement_chars": 140.0}',
    b'{"title": "ok", "ask_nickname": "yes"}',
    b'{"title": "ok", "roles": "\\u4f4f\\u6236"}',
    b'{"title": "\\u200b\\u200b"}',
    b'{"title": "a\\u001bb"}',
    b'{"title": "ok", "seeds": ["\\u202egnp.exe"]}',
])
def test_http_create_refuses_what_it_cannot_store(server: ServerProcess, body: bytes) -> None:
    status, answer, kind = post_raw(server, body)
    assert status == 400 and kind.startswith("application/json"), (status, answer)
    assert_error_shape(answer)


def test_a_5000_deep_body_gets_the_json_error_shape(server: ServerProcess) -> None:
    for body in (b"[" * 5000 + b"]" * 5000, b'{"title": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001):
        status, answer, kind = post_raw(server, body)
        assert status == 400 and kind.startswith("application/json"), (status, answer)
        assert assert_error_shape(answer) == "malformed"
    assert http_json("GET", server.url + "/healthz")[0] == 200


def test_meeting_creation_is_limited_per_address(server: ServerProcess) -> None:
    address = fresh_address()
    body = json.dumps({"title": "限流"}).encode()
    statuses = [post_raw(server, body, address)[0] for _ in range(CREATE_LIMIT)]
    assert statuses == [201] * CREATE_LIMIT
    status, answer, _ = post_raw(server, body, address)
    assert status == 429 and assert_error_shape(answer) == "rate_limited"
    assert post_raw(server, body)[0] == 201  # another address is not affected


def test_refused_creation_bodies_do_not_count_against_the_budget(server: ServerProcess) -> None:
    """The budget counts meetings created (docs/security.md): a client whose bodies were refused still creates
    its full budget afterwards, and once it is spent a bad body is refused as rate_limited before parsing."""
    address = fresh_address()
    for bad in (b'{"title": 5}', b"not json", b'{"title": "ok", "unknown": 1}') * CREATE_LIMIT:
        assert post_raw(server, bad, address)[0] == 400
    good = json.dumps({"title": "仍可建立"}).encode()
    assert [post_raw(server, good, address)[0] for _ in range(CREATE_LIMIT)] == [201] * CREATE_LIMIT
    assert post_raw(server, good, address)[0] == 429
    status, answer, _ = post_raw(server, b'{"title": 5}', address)
    assert status == 429 and assert_error_shape(answer) == "rate_limited"


# ------------------------------------------------------------------ item 5: every refusal carries its op


@pytest.mark.parametrize("statement", ["-1", '"1"', "1.5", "true", "null", str(2**53 + 1), "1e3", "[0]"])
def test_wrong_typed_statement_is_refused_with_its_op(
        meeting: tuple[dict[str, Any], Socket, Socket], statement: str) -> None:
    _, host, phone = meeting
    before = host.seq()
    answer = phone.raw('{"v":1,"type":"vote","op":"typed","statement":' + statement + ',"value":"agree"}')
    refused(answer, "typed", "invalid_field", "missing_field")
    assert host.seq() == before


def test_wrong_values_long_texts_and_settings_are_refused_with_their_op(
        meeting: tuple[dict[str, Any], Socket, Socket]) -> None:
    _, host, phone = meeting
    before = host.seq()
    refused(phone.raw('{"v":1,"type":"vote","op":"v1","statement":0,"value":1}'), "v1", "invalid_field")
    refused(phone.raw('{"v":1,"type":"vote","op":"v2","statement":0,"value":null}'), "v2", "missing_field")
    refused(phone.send(type="vote", op="v3", statement=0, value="love"), "v3", "invalid_vote")
    refused(phone.send(type="post", op="t1", text="長" * 141), "t1", "too_long")
    refused(phone.send(type="post", op="t2", text="長" * 1200), "t2", "too_long")
    refused(phone.send(type="post", op="t3", text="x" * 9000), "t3", "too_large")
    refused(host.send(type="settings", op="c1", changes={"scale": "classic"}), "c1", "invalid_settings")
    refused(host.send(type="settings", op="c2", changes={"results_visible": "yes"}), "c2", "invalid_settings",
            "invalid_field")
    refused(host.send(type="settings", op="c3", changes=[]), "c3", "invalid_field")
    refused(phone.send(type="seed", op="r1", text="不是主持人"), "r1", "forbidden")
    refused(host.send(type="phase", op="m1", phase="closed"), "m1", "illegal_transition")
    refused(phone.send(type="teleport", op="u1"), "u1", "unknown_type")
    refused(phone.raw('{"v":2,"type":"vote","op":"w1","statement":0,"value":"agree"}'), "w1", "unsupported_version")
    assert host.seq() == before


# ------------------------------------------------------------------ item 7: invisible and lookalike text


def test_lookalike_and_invisible_statements_are_refused(server: ServerProcess,
                                                         meeting: tuple[dict[str, Any], Socket, Socket]) -> None:
    created, host, phone = meeting
    before = host.seq()
    variants = ["應該增設\u200b機車停車區。", "應該增設機車\u00ad停車區。", "應該增設機車停車區\u2060。",
                "應該增設機車停車區\uff61", " 應該增設機車停車區。 "]
    for i, variant in enumerate(variants):
        refused(phone.send(type="post", op=f"d{i}", text=variant), f"d{i}", "duplicate")
    assert phone.send(type="post", op="latin", text="More Bike Parking")["type"] == "ack"
    before = host.seq()
    for i, variant in enumerate(["MORE BIKE PARKING", "ｍｏｒｅ ｂｉｋｅ ｐａｒｋｉｎｇ", "more bike\u200b parking"]):
        refused(phone.send(type="post", op=f"l{i}", text=variant), f"l{i}", "duplicate")
    for i, invisible in enumerate(["\u200b\u200b\u200b", "\u0301\u0302", "\u3164", "\ufeff \u200d"]):
        refused(phone.send(type="post", op=f"e{i}", text=invisible), f"e{i}", "empty")
    for i, hostile in enumerate(["\x1b[31mred", "bell\x07", "nul\x00", "\u202egnp.exe", "a\u2066b", "c1\x9b"]):
        refused(phone.send(type="post", op=f"c{i}", text=hostile), f"c{i}", "invalid_field")
        refused(phone.send(type="profile", op=f"n{i}", nickname=hostile), f"n{i}", "invalid_field")
        refused(host.send(type="moderate", op=f"m{i}", statement=0, action="reject", reason=hostile), f"m{i}",
                "invalid_field")
    assert host.seq() == before
    key = {"X-Host-Key": created["host_key"], "X-Forwarded-For": fresh_address()}
    for fmt in ("md", "html", "json"):
        request = urllib.request.Request(server.url + f"/api/meetings/{created['code']}/export?format={fmt}",
                                         headers=key)
        with urllib.request.urlopen(request, timeout=scaled(60)) as response:
            text = response.read().decode()
        assert FORBIDDEN.search(text) is None and "\u200b" not in text, fmt


# ------------------------------------------------------------------ item 8: an op reused for something else


def test_an_op_reused_with_another_payload_is_an_op_conflict(meeting: tuple[dict[str, Any], Socket, Socket]) -> None:
    _, host, phone = meeting
    first = phone.send(type="vote", op="same", statement=0, value="agree")
    assert first["type"] == "ack" and "duplicate" not in first
    seq = host.seq()
    again = phone.send(type="vote", op="same", statement=0, value="agree")
    assert again["type"] == "ack" and again["duplicate"] is True and again["result"] == first["result"]
    refused(phone.send(type="vote", op="same", statement=0, value="disagree"), "same", "op_conflict")
    refused(phone.send(type="vote", op="same", statement=1, value="agree"), "same", "op_conflict")
    refused(phone.send(type="post", op="same", text="全新的陳述。"), "same", "op_conflict")
    refused(phone.send(type="profile", op="same", nickname="小明"), "same", "op_conflict")
    assert host.seq() == seq
    h1 = host.send(type="seed", op="host-op", text="主持人的陳述。")
    assert h1["type"] == "ack"
    refused(host.send(type="seed", op="host-op", text="另一條陳述。"), "host-op", "op_conflict")
    refused(host.send(type="phase", op="host-op", phase="voting"), "host-op", "op_conflict")
    assert host.send(type="seed", op="host-op", text="主持人的陳述。")["duplicate"] is True


# ------------------------------------------------------------------ the HTTP follow-up route, meeting info


def test_http_follow_up_uses_the_command_schema(server: ServerProcess,
                                                meeting: tuple[dict[str, Any], Socket, Socket]) -> None:
    created, host, _ = meeting
    url = server.url + f"/api/meetings/{created['code']}/follow-ups"
    key = {"X-Host-Key": created["host_key"], "X-Forwarded-For": fresh_address()}
    before = host.seq()
    for body in ({"statement": "0", "status": "adopted"}, {"statement": True, "status": "adopted"},
                 {"statement": 0, "status": "adopted", "response": "\ud800"},
                 {"statement": 0, "status": "adopted", "response": "\x1b[2J"},
                 {"statement": 0, "status": "adopted", "response": "\u200b"},
                 {"statement": 0, "status": "adopted", "op": 7}, {"statement": 0}):
        status, answer = http_json("POST", url, body, key)
        assert status == 400, (body, status, answer)
        assert_error_shape(answer)
    assert host.seq() == before
    status, answer = http_json("POST", url, {"statement": 0, "status": "adopted", "response": "已採納\n下月施工"}, key)
    assert status == 200 and answer["result"] == {"statement": 0, "status": "adopted"}, answer


@pytest.mark.parametrize("scale", ["consent", "classic"])
def test_meeting_info_serves_the_vote_values_in_display_order(server: ServerProcess, scale: str) -> None:
    created = create(server, scale=scale)
    status, info = http_json("GET", server.url + f"/api/meetings/{created['code']}")
    assert status == 200 and info["votes"] == list(SCALES[scale])
