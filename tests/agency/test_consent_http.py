"""No way into a meeting that asks for consent but its gate: every HTTP route about a meeting, with every
method it takes, admits nobody and stores nothing of a phone that did not agree; the WebSocket hello is the
one way in, and it takes consent only as a real ``true``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from facilitation.settings import Settings
from facilitation.tools.client import MeetingClient, ServerError
from facilitation.web.app import create_app
from tests.agency.test_privacy_notice import NOTICE
from tests.support.servers import ServerProcess, scaled

TOKEN = "a-phone-that-never-agreed-0123456789"
DECLINED = "網路上沒同意"
AGREED = "網路上同意了"


def stored_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


@pytest.mark.asyncio
async def test_no_http_route_lets_a_phone_in_without_consent(tmp_path: Path) -> None:
    """Each meeting route and method, sent a phone's token, a nickname and consent false, leaves nobody
    joined and the nickname in no byte of the store; a hello with consent "yes" is refused; one with true
    joins (and the scan sees its nickname). The declined nickname is in no server log line either."""
    db = tmp_path / "m.db"
    server = ServerProcess(f"sqlite:///{db}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        async with httpx.AsyncClient(timeout=scaled(30)) as client:
            body = {"title": "公園", "privacy": NOTICE, "require_consent": True, "ask_nickname": True,
                    "seeds": ["公園要有更多樹蔭"]}
            code = (await client.post(f"{server.url}/api/meetings", json=body)).json()["code"]
            routes = [r for r in create_app(Settings.from_env(store=server.store)).routes
                      if isinstance(r, Route) and "{code}" in r.path]
            assert len(routes) >= 15, [r.path for r in routes]
            hello: dict[str, Any] = {"type": "hello", "role": "participant", "token": TOKEN, "nickname": DECLINED,
                     "consent": False, "statement": 0, "text": DECLINED, "value": "agree"}
            tried = []
            for route in routes:
                for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                    path = route.path.replace("{code}", code)
                    answer = await client.request(method, server.url + path, headers={"x-participant-token": TOKEN},
                                                  json=hello if method != "GET" else None,
                                                  params={"format": "json", **{k: str(v) for k, v in hello.items()}}
                                                  if method == "GET" else None)
                    assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:200])
                    tried.append(f"{method} {route.path}")
            assert {"POST /api/meetings/{code}/erase", "GET /api/meetings/{code}/mine", "GET /m/{code}"} <= set(tried)

            async def participants() -> int:
                info = (await client.get(f"{server.url}/api/meetings/{code}")).json()
                return int(info["counters"]["participants"])

            assert await participants() == 0
            assert DECLINED.encode() not in stored_bytes(db)
            refused = MeetingClient(server.url, code, "participant", token=TOKEN, nickname=DECLINED, consent="yes")
            with pytest.raises(ServerError):  # not a boolean: refused at the boundary, never taken as consent
                await refused.connect(timeout=scaled(10))
            await refused.close()
            assert await participants() == 0
            agreed = MeetingClient(server.url, code, "participant", token=TOKEN, nickname=AGREED, consent=True)
            await agreed.connect(timeout=scaled(10))
            await agreed.close()
            assert await participants() == 1
        assert DECLINED not in server.log()  # nor in the server's own log lines
    finally:
        server.stop()
    assert DECLINED.encode() not in stored_bytes(db)
    assert AGREED.encode() in stored_bytes(db)
