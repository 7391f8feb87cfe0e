"""Access: host powers need the host key, wrong keys and unknown codes are rate-limited per address, a phone
acts only as itself, and the host key never reaches a phone, the projector or a served page.

Every test uses its own client address (``X-Forwarded-For``, which uvicorn honours from 127.0.0.1 only),
so one test's failed attempts never block another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from facilitation.core.meeting import hash_secret
from facilitation.web.security import MAX_FAILURES
from tests.security.wire import http_json, new_meeting, start_server, ws_url
from tests.support.servers import ServerProcess, scaled

_addresses = itertools.count(1)


def fresh_address() -> str:
    n = next(_addresses)
    return f"192.0.2.{n}" if n < 255 else f"198.51.100.{n - 254}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("access"))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def meeting(server: ServerProcess) -> dict[str, Any]:
    return new_meeting(server, seeds=["應該增設機車停車區。", "夜市應該延長營業時間。"])


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio_wait(ws.recv())))


async def asyncio_wait(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, scaled(10))


async def hello(server: ServerProcess, code: str, address: str, **fields: Any
                ) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect from ``address`` and say hello; returns the socket and the first answer."""
    ws = await websockets.connect(ws_url(server, code), compression=None, max_size=2**24,
                                  additional_headers={"X-Forwarded-For": address})
    with contextlib.suppress(websockets.ConnectionClosed):  # refused before the hello arrived
        await ws.send(json.dumps({"v": 1, "type": "hello", **fields}))
    return ws, await recv(ws)


async def ask(ws: ClientConnection, message: dict[str, Any], seen: list[str] | None = None) -> dict[str, Any]:
    await ws.send(json.dumps({"v": 1, **message}))
    while True:
        raw = await asyncio_wait(ws.recv())
        if seen is not None:
            seen.append(raw)
        answer = json.loads(raw)
        if (answer.get("op") == message.get("op") and answer["type"] in ("ack", "error")) or (
                message["type"] == "next" and answer["type"] == "next"):
            return dict(answer)


async def closed_with(ws: ClientConnection) -> int | None:
    try:
        while True:
            await asyncio_wait(ws.recv())
    except websockets.ConnectionClosed:
        return ws.close_code


# ------------------------------------------------------------------ host powers

@pytest.mark.asyncio
async def test_host_commands_from_phone_or_projector_are_forbidden(server: ServerProcess,
                                                                  meeting: dict[str, Any]) -> None:
    """Seed, moderate, phase, settings and analysis from a phone or the projector are refused and change nothing."""
    code, address = meeting["code"], fresh_address()
    before = http_json("GET", server.url + f"/api/meetings/{code}")[1]
    commands: list[dict[str, Any]] = [
        {"type": "seed", "text": "偷偷加的"},
        {"type": "moderate", "statement": 0, "action": "hide"},
        {"type": "phase", "phase": "collecting"},
        {"type": "settings", "changes": {"title": "hijacked"}},
        {"type": "analysis", "action": "pause"},
    ]
    for role in ("participant", "projector"):
        ws, welcome = await hello(server, code, address, role=role)
        assert welcome["type"] == "welcome"
        for i, command in enumerate(commands):
            answer = await ask(ws, {**command, "op": f"{role}-{i}", "host_key": "guess"})
            assert answer["type"] == "error" and answer["error"]["code"] == "forbidden", answer
        await ws.close()
    status, info = http_json("GET", server.url + f"/api/meetings/{code}")
    assert status == 200 and info["seq"] == before["seq"] + 1, "only the phone's own join was recorded"
    assert info["phase"] == "lobby" and info["settings"] == before["settings"]


@pytest.mark.asyncio
async def test_wrong_host_key_is_refused_with_4003(server: ServerProcess, meeting: dict[str, Any]) -> None:
    """A host hello with a wrong, empty or missing key gets forbidden and close 4003."""
    for fields in ({"host_key": "x" * 32}, {"host_key": ""}, {}, {"host_key": meeting["host_key"][:-1]}):
        ws, first = await hello(server, meeting["code"], fresh_address(), role="host", **fields)
        assert first["type"] == "error" and first["error"]["code"] == "forbidden", first
        assert await closed_with(ws) == 4003


@pytest.mark.asyncio
async def test_repeated_wrong_host_keys_are_rate_limited(server: ServerProcess, meeting: dict[str, Any]) -> None:
    """After 20 wrong host keys in a minute the address gets too_many_attempts, over WS and HTTP."""
    address = fresh_address()
    for _ in range(MAX_FAILURES):
        ws, first = await hello(server, meeting["code"], address, role="host", host_key="wrong-key-guess")
        assert first["error"]["code"] == "forbidden"
        await ws.close()
    ws, first = await hello(server, meeting["code"], address, role="host", host_key="wrong-key-guess")
    assert first["error"]["code"] == "too_many_attempts", first
    assert await closed_with(ws) == 4003
    status, body = http_json("GET", server.url + f"/api/meetings/{meeting['code']}",
                             headers={"X-Forwarded-For": address})
    assert status == 429 and body["error"]["code"] == "too_many_attempts"


@pytest.mark.asyncio
async def test_blocked_address_cannot_lock_the_host_or_returning_phones_out(
        server: ServerProcess, meeting: dict[str, Any]) -> None:
    """A hostile phone behind the venue's shared address trips the limit; the host and returning phones still get in."""
    code, venue = meeting["code"], fresh_address()
    phone, welcome = await hello(server, code, venue, role="participant")
    token = welcome["token"]
    await phone.close()
    for _ in range(MAX_FAILURES):
        ws, first = await hello(server, "ZZZZZZ", venue, role="participant")
        assert first["error"]["code"] in ("unknown_meeting", "too_many_attempts")
        await ws.close()
    stranger, first = await hello(server, code, venue, role="participant")
    assert first["error"]["code"] == "too_many_attempts", "a blocked address must not learn which codes exist"
    await stranger.close()
    host, first = await hello(server, code, venue, role="host", host_key=meeting["host_key"])
    assert first["type"] == "welcome", first
    await host.close()
    phone, first = await hello(server, code, venue, role="participant", token=token)
    assert first["type"] == "welcome" and first["participant"] == welcome["participant"], first
    await phone.close()


@pytest.mark.asyncio
async def test_unknown_codes_are_rate_limited_per_address_over_ws_and_http(server: ServerProcess,
                                                                          meeting: dict[str, Any]) -> None:
    """Guessing codes: 20 unknown codes (mixed HTTP and WS) in a minute, then every lookup is refused alike."""
    address = fresh_address()
    headers = {"X-Forwarded-For": address}
    for i in range(MAX_FAILURES):
        guess = f"ZZZZ{'23456789'[i % 8]}{'ABCDEFGH'[i // 8]}"
        if i % 2:
            status, body = http_json("GET", server.url + f"/api/meetings/{guess}", headers=headers)
            assert status == 404 and body["error"]["code"] == "unknown_meeting"
        else:
            ws, first = await hello(server, guess, address, role="projector")
            assert first["error"]["code"] == "unknown_meeting"
            assert await closed_with(ws) == 4004
    for path in (f"/api/meetings/{meeting['code']}", "/api/meetings/ZZZZZZ", f"/api/meetings/{meeting['code']}/qr.svg"):
        status, body = http_json("GET", server.url + path, headers=headers)
        assert status == 429 and body["error"]["code"] == "too_many_attempts", (path, body)
    for code in (meeting["code"], "ZZZZZZ"):
        ws, first = await hello(server, code, address, role="projector")
        assert first["error"]["code"] == "too_many_attempts", first
        assert await closed_with(ws) == 4003
    status, _ = http_json("GET", server.url + f"/api/meetings/{meeting['code']}",
                          headers={"X-Forwarded-For": fresh_address()})
    assert status == 200, "other addresses are not affected"


# ------------------------------------------------------------------ phones act only as themselves

@pytest.mark.asyncio
async def test_a_phone_cannot_vote_or_edit_as_another_participant(server: ServerProcess,
                                                                 meeting: dict[str, Any]) -> None:
    """Naming another participant's id (or token) in a command only ever acts on the sender's own participant."""
    code = meeting["code"]
    host, _ = await hello(server, code, fresh_address(), role="host", host_key=meeting["host_key"])
    assert (await ask(host, {"type": "phase", "op": "h1", "phase": "collecting"}))["type"] == "ack"
    alice, a = await hello(server, code, fresh_address(), role="participant", nickname="Alice")
    mallory, m = await hello(server, code, fresh_address(), role="participant", nickname="Mallory")
    assert (await ask(alice, {"type": "vote", "op": "a1", "statement": 0, "value": "agree"}))["type"] == "ack"
    forged = {"participant": a["participant"], "token": a["token"], "author": a["participant"]}
    vote = await ask(mallory, {"type": "vote", "op": "m1", "statement": 0, "value": "disagree", **forged})
    assert vote["type"] == "ack"
    assert (await ask(mallory, {"type": "vote", "op": "m2", "statement": 1, "value": "disagree", **forged}))
    profile = await ask(mallory, {"type": "profile", "op": "m3", "nickname": "Alice2", **forged})
    assert profile["result"]["participant"] == m["participant"], profile
    posted = await ask(mallory, {"type": "post", "op": "m4", "text": "冒名發言測試", **forged})
    assert posted["type"] == "ack"
    for ws in (alice, mallory, host):
        await ws.close()

    alice, _ = await hello(server, code, fresh_address(), role="participant", token=a["token"])
    snapshot = await recv(alice)
    assert snapshot["you"]["participant"] == a["participant"]
    assert snapshot["you"]["votes"] == {"0": "agree"}, "Mallory's forged votes must not land on Alice"
    assert snapshot["you"]["nickname"] == "Alice" and snapshot["you"]["statements"] == []
    await alice.close()
    host, _ = await hello(server, code, fresh_address(), role="host", host_key=meeting["host_key"])
    snapshot = await recv(host)
    tallies = {s["id"]: s["tally"] for s in snapshot["all_statements"]}
    assert tallies[0] == {"agree": 1, "disagree": 1} and tallies[1] == {"disagree": 1}
    authors = {s["text"]: s["author"] for s in snapshot["all_statements"]}
    assert authors["冒名發言測試"] == m["participant"]
    await host.close()


@pytest.mark.asyncio
async def test_host_key_and_tokens_never_reach_phones_projector_or_pages(server: ServerProcess,
                                                                        meeting: dict[str, Any]) -> None:
    """Everything a phone or the projector receives, and every served page and script, lacks the host key."""
    code, key = meeting["code"], meeting["host_key"]
    secrets = [key, hash_secret(key)]
    host, _ = await hello(server, code, fresh_address(), role="host", host_key=key)
    projector, _ = await hello(server, code, fresh_address(), role="projector")
    phone, welcome = await hello(server, code, fresh_address(), role="participant", nickname="小明")
    other, other_welcome = await hello(server, code, fresh_address(), role="participant", nickname="小華")
    leaks = [other_welcome["token"], hash_secret(other_welcome["token"]), hash_secret(welcome["token"])]
    seen: list[str] = [json.dumps(welcome)]
    await ask(host, {"type": "phase", "op": "h1", "phase": "collecting"})
    await ask(host, {"type": "settings", "op": "h2", "changes": {"title": "新標題"}})
    await ask(phone, {"type": "vote", "op": "p1", "statement": 0, "value": "agree"}, seen)
    await ask(other, {"type": "vote", "op": "o1", "statement": 0, "value": "pass"})
    await ask(other, {"type": "post", "op": "o2", "text": "另一支手機的發言"})
    await ask(host, {"type": "moderate", "op": "h3", "statement": 0, "action": "hide"})
    await ask(phone, {"type": "next", "op": "p2"}, seen)
    await ask(phone, {"type": "post", "op": "p3", "text": "我的發言"}, seen)
    projector_seen: list[str] = []
    await ask(projector, {"type": "hello", "op": "sync", "role": "projector"}, projector_seen)
    for late in ("participant", "projector"):
        ws, first = await hello(server, code, fresh_address(), role=late)
        (seen if late == "participant" else projector_seen).extend([json.dumps(first), json.dumps(await recv(ws))])
        await ws.close()
    assert len(seen) > 4 and len(projector_seen) > 2
    for text in seen + projector_seen:
        for secret in secrets:
            assert secret not in text, f"host secret leaked in {text[:200]}"
    for text in seen:
        for token in leaks:
            assert token not in text, "another phone's token leaked"
    bodies = []
    for path in (f"/m/{code}", f"/host/{code}", f"/projector/{code}", "/", "/new", f"/api/meetings/{code}",
                 f"/api/meetings/{code}/log", f"/api/meetings/{code}/qr.svg"):
        status, body = http_json("GET", server.url + path, headers={"X-Forwarded-For": fresh_address()})
        assert status == 200, path
        bodies.append(body if isinstance(body, str) else json.dumps(body))
    bodies += _static_files(server)
    for body in bodies:
        assert key not in body and hash_secret(key) not in body
    for ws in (host, projector, phone, other):
        await ws.close()


def _static_files(server: ServerProcess) -> list[str]:
    from facilitation.paths import STATIC_DIR

    texts = []
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".js", ".html", ".css", ".json", ".mjs"):
            status, body = http_json("GET", server.url + "/static/" + path.relative_to(STATIC_DIR).as_posix())
            assert status == 200, path
            texts.append(body if isinstance(body, str) else json.dumps(body))
    return texts


def test_exports_need_the_host_key(server: ServerProcess, meeting: dict[str, Any]) -> None:
    """GET /api/meetings/{code}/export answers 403 without or with a wrong key, 200 with the right one."""
    url = server.url + f"/api/meetings/{meeting['code']}/export?format=json"
    status, body = http_json("GET", url, headers={"X-Forwarded-For": fresh_address()})
    assert status == 403 and body["error"]["code"] == "forbidden", body
    status, body = http_json("GET", url, headers={"X-Forwarded-For": fresh_address(), "X-Host-Key": "nope"})
    assert status == 403 and body["error"]["code"] == "forbidden", body
    status, _ = http_json("GET", url, headers={"X-Forwarded-For": fresh_address(), "X-Host-Key": meeting["host_key"]})
    assert status == 200
