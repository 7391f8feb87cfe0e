"""What still needs votes, from a real server to the export (issue 24): twenty phones of two roles vote on a
real server whose live analysis tells the host console what still needs votes; the JSON export downloaded
over HTTP then gives the same statements, the same fewest votes and the same groups and roles short by the
same amounts, because it runs the console's computation on the same votes and names the groups by the
room's letters."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from facilitation.tools.client import MeetingClient
from tests.analysis.support import close_all, create_meeting, map_with_votes, phones, vote_camps
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.asyncio

ROLES = ("攤商", "住戶")


async def test_the_exported_needs_are_what_the_console_was_told(server: ServerProcess) -> None:
    code, key = await create_meeting(server, 9, roles=ROLES)
    host = MeetingClient(server.url, code, "host", host_key=key)
    await host.connect()
    clients = await phones(server, code, 20, roles=ROLES)
    try:
        await vote_camps(clients, range(8))
        await asyncio.gather(*(c.vote(8, "agree") for c in clients[:3]))  # statement 8: three votes only
        shown = await map_with_votes(host, 20 * 8 + 3)
        console = shown.get("needs") or []
        assert any(n["statement"] == "8" for n in console), console
        exported = await export_of_run(server, code, key, shown["run"])
        assert [(int(n["statement"]), n["votes"], n["reachable"], n["groups"], n["roles"]) for n in console] == [
            (n["statement"], n["votes"], n["reachable"], {g["name"]: g["more"] for g in n["groups"]},
             {r["name"]: r["more"] for r in n["roles"]}) for n in exported["needs"]]
        assert sorted(g["id"] for g in exported["groups"]) == sorted(g["id"] for g in shown["groups"])
    finally:
        await close_all([*clients, host])


async def export_of_run(server: ServerProcess, code: str, key: str, run: int) -> dict[str, Any]:
    """The JSON export once it rests on run ``run`` (the store saves a run just after the room is sent it)."""
    deadline = time.monotonic() + scaled(30)
    async with httpx.AsyncClient(base_url=server.url, headers={"X-Host-Key": key}) as http:
        while True:
            response = await http.get(f"/api/meetings/{code}/export", params={"format": "json"})
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            if data["analysis"]["run"] is not None and data["analysis"]["run"] >= run:
                assert data["analysis"]["run"] == run, "a newer run than the console's: the test raced"
                return data
            assert time.monotonic() < deadline, f"the export never reached run {run}: {data['analysis']}"
            await asyncio.sleep(0.1)
