"""The HTTP API against a real server: create, info, QR code, error shape, health and metrics."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from facilitation.core.codes import ALPHABET
from facilitation.tools.client import MeetingClient
from tests.server.conftest import MeetingInfo
from tests.support.servers import ServerProcess, scaled


def test_create_meeting_answers_code_key_and_urls(server: ServerProcess) -> None:
    """POST /api/meetings answers 201 with the code, display code, host key and the three URLs."""
    response = httpx.post(f"{server.url}/api/meetings", timeout=scaled(10),
                          json={"title": "夜市交通", "roles": ["住戶", "攤商"], "moderation": "pre",
                                "seeds": ["應該增設機車停車區。", "  "]})
    assert response.status_code == 201
    body = response.json()
    code = body["code"]
    assert len(code) == 6 and set(code) <= set(ALPHABET)
    assert body["display_code"] == f"{code[:3]}-{code[3:]}"
    assert len(body["host_key"]) >= 24
    assert body["urls"]["join"] == f"{server.url}/m/{code}"
    assert body["urls"]["projector"] == f"{server.url}/projector/{code}"
    assert body["urls"]["host"] == f"{server.url}/host/{code}#key={body['host_key']}"
    public = httpx.get(f"{server.url}/api/meetings/{code.lower()[:3]}-{code.lower()[3:]}")
    info = public.json()
    assert info["code"] == code and info["phase"] == "lobby"
    assert info["settings"]["title"] == "夜市交通" and info["settings"]["moderation"] == "pre"
    assert info["counters"] == {"participants": 0, "statements": 1, "votes": 0, "pending": 0}
    assert "host" not in info["urls"] and body["host_key"] not in public.text


@pytest.mark.parametrize(
    ("payload", "code"),
    [({}, "invalid_settings"), ({"title": "x", "scale": "stars"}, "invalid_settings"),
     ({"title": "x", "seeds": "one"}, "invalid_settings")],
)
def test_create_meeting_refusals_use_error_shape(server: ServerProcess, payload: dict[str, object],
                                                 code: str) -> None:
    """Invalid meeting settings are a 400 with the one error shape."""
    response = httpx.post(f"{server.url}/api/meetings", json=payload, timeout=scaled(10))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_malformed_body_is_error_shape(server: ServerProcess) -> None:
    """A body that is not JSON is a 400 malformed."""
    response = httpx.post(f"{server.url}/api/meetings", content=b"{nope", timeout=scaled(10))
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed"


def test_qr_code_is_svg(server: ServerProcess, meeting: MeetingInfo) -> None:
    """The QR endpoint returns an SVG image."""
    response = httpx.get(f"{server.url}/api/meetings/{meeting.code}/qr.svg", timeout=scaled(10))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg") and "</svg>" in response.text


@pytest.mark.parametrize("path", ["/api/meetings/ZZZZZZ", "/api/meetings/nope!/qr.svg", "/no/such/page"])
def test_404_uses_error_shape(server: ServerProcess, path: str) -> None:
    """Unknown meetings and unknown paths are 404 with the one error shape."""
    response = httpx.get(server.url + path, timeout=scaled(10))
    assert response.status_code == 404
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] in ("unknown_meeting", "not_found")


def test_healthz(server: ServerProcess) -> None:
    """GET /healthz answers 200 with store and bus reachable."""
    body = httpx.get(f"{server.url}/healthz", timeout=scaled(10)).json()
    assert body["status"] == "ok" and body["store"] is True and body["bus"] is True


@pytest.mark.asyncio
async def test_metrics_has_named_series(server: ServerProcess, meeting: MeetingInfo) -> None:
    """GET /metrics exposes connections, commands, votes, errors and command latency series."""
    host = MeetingClient(server.url, meeting.code, "host", host_key=meeting.host_key)
    await host.connect()
    await host.command("phase", phase="collecting")
    phone = MeetingClient(server.url, meeting.code)
    await phone.connect()
    await phone.vote(0, "agree")
    await phone.send_raw("{bad")
    await phone.next_message("error")
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.url}/metrics", timeout=scaled(10))
    await phone.close()
    await host.close()
    assert all('worker="' in line for line in response.text.splitlines() if line and not line.startswith("#"))
    text = re.sub(r',?worker="[^"]*"', "", response.text).replace("{}", "")  # every series names its worker
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert 'facilitation_connections{role="participant"} 1.0' in text
    assert 'facilitation_commands_total{type="vote"} 1.0' in text
    assert "facilitation_votes_total 1.0" in text
    assert 'facilitation_errors_total{code="malformed"} 1.0' in text
    assert "facilitation_command_seconds_bucket" in text and "facilitation_command_seconds_count" in text


@pytest.mark.asyncio
async def test_vote_to_projector_histogram_counts_every_vote_the_projector_got(
        server: ServerProcess, meeting: MeetingInfo) -> None:
    """The server's own vote -> projector histogram: one observation per vote written to the projector,
    each no longer than the time the test itself waited (a vote in flight cannot be timed in the past)."""
    host = MeetingClient(server.url, meeting.code, "host", host_key=meeting.host_key)
    await host.connect()
    await host.command("phase", phase="collecting")
    projector = MeetingClient(server.url, meeting.code, "projector")
    await projector.connect()
    phones = [MeetingClient(server.url, meeting.code) for _ in range(3)]
    started = time.perf_counter()
    for phone in phones:
        await phone.connect()
        for statement in range(2):
            await phone.vote(statement, "agree")
    votes_seen = 0
    while votes_seen < 6:
        batch = await projector.next_message("batch")
        votes_seen += sum(1 for e in batch["events"] if e["type"] == "vote")
    waited = time.perf_counter() - started
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{server.url}/metrics", timeout=scaled(10))).text
    for client in (*phones, projector, host):
        await client.close()
    count = next(line for line in text.splitlines() if line.startswith("facilitation_vote_to_projector_seconds_count"))
    total = next(line for line in text.splitlines() if line.startswith("facilitation_vote_to_projector_seconds_sum"))
    assert float(count.split()[-1]) == 6
    assert 0 < float(total.split()[-1]) < 6 * waited
