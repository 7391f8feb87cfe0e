"""Helpers for the live-analysis tests: a meeting with opposing camps, voted on by real phones."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from facilitation.tools.client import MeetingClient
from tests.support.servers import ServerProcess, scaled


async def create_meeting(server: ServerProcess, statements: int = 8, roles: tuple[str, ...] = (),
                         **settings: Any) -> tuple[str, str]:
    """A meeting in phase collecting with ``statements`` seed statements; returns (code, host key)."""
    seeds = [f"statement number {i}" for i in range(statements)]
    body = {"title": "analysis test", "roles": list(roles), "seeds": seeds, "live_results": True, **settings}
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


async def map_with_votes(client: MeetingClient, votes: int, timeout: float = 30.0) -> dict[str, Any]:
    """The room's map once it counts ``votes`` votes. The room is shown a re-formed map only once it has
    held (clustering/steady.py), or once no newer run contradicted it for HOLD_SECONDS: a test that needs
    the settled map of its votes waits here rather than on the first map."""
    return await client.next_message("analysis", timeout=scaled(timeout),
                                     where=lambda m: m["counts"]["votes"] >= votes)


async def close_all(clients: list[MeetingClient]) -> None:
    await asyncio.gather(*(c.close() for c in clients))


async def build_big_meeting(store_url: str, participants: int, statements: int, votes_each: int,
                            host_key: str = "big-meeting-host-key") -> str:
    """Write a meeting straight into a store (joining 20,000 phones over sockets would take minutes).

    The events are made by the real core (creation, seeds, joins, phase) plus vote events in the log's own
    format; the server replays them on first use exactly as after a restart. Three opinion camps.
    """
    import time as _time

    import numpy as np

    from facilitation.core.events import VoteCast
    from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
    from facilitation.storage import open_store

    now = _time.time()
    code = "BGMTG" + "23456789ABCDEFGHJKMNPQRSTUVWXYZ"[participants % 31]
    meeting, events = Meeting.create(code, MeetingSettings(title="big"), hash_secret(host_key), now,
                                     [f"statement {i}" for i in range(statements)])
    for i in range(participants):
        events += meeting.apply(Join(hash_secret(f"token-{i:08d}-padding")), now).events
    events += meeting.apply(SetPhase("collecting"), now).events
    rng = np.random.default_rng(0)
    seq = meeting.seq
    values = ("agree", "disagree", "pass", "acceptable")
    for p in range(participants):
        camp = p % 3
        for s in rng.choice(statements, size=votes_each, replace=False).tolist():
            value = "agree" if s % 3 == camp else values[int(rng.integers(0, 4))]
            seq += 1
            events.append(VoteCast(seq, now, p, s, value, ""))
    store = open_store(store_url)
    await store.start()
    try:
        await store.create_meeting(code, events[:1])
        for start in range(1, len(events), 50_000):
            await store.append(code, events[start:start + 50_000])
    finally:
        await store.close()
    return code
