"""Voting-quality flags reach the host and nobody else (issue 24), against a real server: a phone that
answers twelve cards in the same instant is flagged too fast, with the counts the flag rests on; phones
that voted at a person's pace on a few cards are not; the projector and the phones never hear of it; a
host that reconnects finds the flags in its snapshot's analysis; an excluded participant stays flagged
(the host sees why) while the map leaves them out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from facilitation.tools.client import MeetingClient
from tests.analysis.support import close_all, create_meeting, phones
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.asyncio

STATEMENTS = 12


async def test_a_too_fast_voter_is_flagged_to_the_host_only(server: ServerProcess) -> None:
    code, key = await create_meeting(server, STATEMENTS)
    host = MeetingClient(server.url, code, "host", host_key=key)
    await host.connect()
    projector = MeetingClient(server.url, code, "projector")
    await projector.connect()
    seen: dict[str, list[dict[str, Any]]] = {"projector": [], "phone": []}
    projector.on_message = seen["projector"].append
    clients = await phones(server, code, 5)
    clients[1].on_message = seen["phone"].append
    try:
        fast = clients[0]
        await asyncio.gather(*(fast.vote(s, "agree") for s in range(STATEMENTS)))  # twelve cards at once
        for i, client in enumerate(clients[1:]):
            for s in range(4):  # a few cards each: too few to time (FAST_MIN_VOTES is 10)
                await client.vote(s, "agree" if (s + i) % 2 else "disagree")
        message = await host.next_message("quality_flags", timeout=scaled(30),
                                          where=lambda m: any(f["participant"] == str(fast.participant)
                                                              for f in m["flags"]))
        flags = {f["participant"]: f for f in message["flags"]}
        flag = flags[str(fast.participant)]
        assert "too_fast" in flag["reasons"]
        assert flag["votes"] == STATEMENTS and flag["timed"] == STATEMENTS - 1 and flag["fast"] >= (STATEMENTS - 1) // 2
        assert set(flags) == {str(fast.participant)}, "the phones that voted a few cards are not flagged"

        ack = await host.command("analysis_exclude", participant=fast.participant, excluded=True)
        after = await host.next_message("quality_flags", timeout=scaled(30), where=lambda m: m["run"] > message["run"])
        assert str(fast.participant) in {f["participant"] for f in after["flags"]}, "still flagged once excluded"
        shown = await projector_map_after(projector, seen["projector"], ack["seq"])
        assert fast.participant not in shown["points"]["participants"]

        again = MeetingClient(server.url, code, "host", host_key=key)  # a reconnecting console
        welcome = await again.connect()
        snapshot = welcome if welcome.get("type") == "snapshot" else await again.next_message("snapshot")
        assert str(fast.participant) in {f["participant"] for f in snapshot["analysis"]["quality_flags"]}
        await again.close()

        for role, messages in seen.items():
            assert messages, f"the {role} heard nothing at all: the check below would be empty"
            assert not [m for m in messages if m.get("type") == "quality_flags" or "quality_flags" in m], role
    finally:
        await close_all([*clients, host, projector])


async def projector_map_after(projector: MeetingClient, seen: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    """The projector's map covering ``seq`` (its messages are recorded in ``seen``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + scaled(30)
    while loop.time() < deadline:
        for m in seen:
            if m.get("type") == "analysis" and m["upto_seq"] >= seq:
                return m
        await asyncio.sleep(0.05)
    raise TimeoutError("the projector's map never covered the exclusion")
