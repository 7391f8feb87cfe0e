"""Helpers for the live-analysis tests: a meeting with opposing camps, voted on by real phones."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from facilitation.client import MeetingClient
from tests.support.servers import ServerProcess, scaled


async def create_meeting(server: ServerProcess, statements: int = 8, roles: tuple[str, ...] = (),
                         **settings: Any) -> tuple[str, str]:
    """A meeting in phase collecting with ``statements`` seed statements; returns (code, host key)."""
    body = {"title": "analysis test", "roles": list(roles), "seeds": [f"statement number {i}" for i in range(statements)],
            **settings}
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/api/meetings", json=body)
        response.raise_for_status()
        data = response.json()
    host = MeetingClient(server.url, data["code"], "host", host_key=data["host_key"])
    await host.connect()
    await host.command("phase", phase="collecting")
    await host.close()
    return data["code"], data["host_key"]


def camp_vote(camp: int, statement: int) -> str:
    """Camp 0 agrees with even statements and rejects odd ones; camp 1 the opposite."""
    return "agree" if (statement + camp) % 2 == 0 else "disagree"


async def phones(server: ServerProcess, code: str, n: int, roles: tuple[str, ...] = ()) -> list[MeetingClient]:
    clients = []
    for i in range(n):
        stakeholder = roles[i % len(roles)] if roles else None
        client = MeetingClient(server.url, code, "participant", nickname=f"p{i}", stakeholder=stakeholder)
        await client.connect()
        clients.append(client)
    return clients


async def vote_camps(clients: list[MeetingClient], statements: range) -> None:
    """Half the phones in camp 0, half in camp 1, each voting on every statement; each phone passes on one
    statement so no two phones sit on the same spot (identical points make k-means degenerate)."""
    for i, client in enumerate(clients):
        quirk = statements[(i // 2) % len(statements)]
        await asyncio.gather(*(client.vote(s, "pass" if s == quirk else camp_vote(i % 2, s)) for s in statements))


async def next_analysis(client: MeetingClient, timeout: float = 15.0, after_run: int = 0) -> dict[str, Any]:
    return await client.next_message("analysis", timeout=scaled(timeout), where=lambda m: m["run"] > after_run)


async def close_all(clients: list[MeetingClient]) -> None:
    await asyncio.gather(*(c.close() for c in clients))
