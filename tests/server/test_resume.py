"""Reconnects: resume with the last seq, tokens, snapshots when too far behind, and a crashed server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from facilitation.tools.client import MeetingClient
from tests.server.conftest import NO_ANALYSIS, Clients, MeetingInfo, create_meeting, meeting_info
from tests.support.servers import ServerProcess, scaled


async def drain_events(client: MeetingClient, upto: int, timeout: float = 5) -> list[dict[str, Any]]:
    """Every event a client receives (from events and batches) until it has seen seq ``upto``."""
    events: list[dict[str, Any]] = []
    while client.last_seq < upto or not events or events[-1]["seq"] < upto:
        message = await client.next_message(timeout=scaled(timeout))
        if message["type"] == "batch":
            events.extend(message["events"])
        elif message["type"] == "event":
            events.append({**message["event"], "seq": message["seq"]})
    return events


async def make_votes(clients: Clients, phones: int, per_phone: int) -> int:
    """Phones vote concurrently (changing their votes so every command is an event); returns the last seq."""
    opened = [await clients.open() for _ in range(phones)]

    async def vote(phone: MeetingClient) -> int:
        seq = 0
        for i in range(per_phone):
            ack = await phone.vote(i % 5, ("agree", "disagree")[(i // 5) % 2])
            seq = max(seq, ack["seq"])
        return seq

    return max(await asyncio.gather(*(vote(p) for p in opened)))


@pytest.mark.asyncio
async def test_projector_resume_gets_exactly_the_missed_events(host: MeetingClient, clients: Clients) -> None:
    """A projector reconnecting with since gets a resumed marker, then every missed event once, in order."""
    projector = await clients.open("projector")
    snapshot = await projector.next_message("snapshot")
    since = snapshot["seq"]
    await projector.close()
    last = await make_votes(clients, 4, 10)
    again = await clients.open("projector", since=since)
    resumed = await again.next_message()
    assert resumed["type"] == "resumed" and resumed["since"] == since and resumed["seq"] >= last
    events = await drain_events(again, resumed["seq"])
    assert [e["seq"] for e in events] == list(range(since + 1, resumed["seq"] + 1))
    assert sum(e["type"] == "vote" for e in events) == 40


@pytest.mark.asyncio
async def test_phone_resume_with_token_is_same_participant_and_gets_only_its_events(
    host: MeetingClient, clients: Clients
) -> None:
    """A phone back with its token and since is the same participant and gets only what concerns it."""
    phone = await clients.open()
    pid, token = phone.participant, phone.token
    ack = await phone.vote(0, "agree")
    since = max(phone.last_seq, int(ack["seq"]))  # the ack confirms the vote; it is not echoed to this socket
    await phone.close()
    await make_votes(clients, 2, 3)
    changed = await host.command("phase", phase="voting")
    back = await clients.open(since=since, token=token)
    assert back.participant == pid and back.welcome["new"] is False and back.token == token
    resumed = await back.next_message()
    assert resumed["type"] == "resumed" and resumed["since"] == since
    event = await back.next_message("event")
    assert event["event"]["type"] == "phase_changed" and event["seq"] == changed["seq"]
    await asyncio.sleep(scaled(0.3))
    others = [m for m in list(back.messages._queue) if m.get("type") == "event"]  # type: ignore[attr-defined]
    assert others == [], "other phones' votes and joins must not reach this phone"


@pytest.mark.asyncio
async def test_token_reconnect_snapshot_keeps_votes(host: MeetingClient, clients: Clients) -> None:
    """A fresh connection with a known token (no since) gets a snapshot holding that participant's votes."""
    phone = await clients.open(nickname="Ann")
    await phone.vote(2, "disagree")
    await phone.close()
    back = await clients.open(token=phone.token)
    assert back.participant == phone.participant
    snapshot = await back.next_message("snapshot")
    assert snapshot["you"]["votes"] == {"2": "disagree"} and snapshot["you"]["nickname"] == "Ann"
    assert snapshot["next"]["id"] != 2


@pytest.mark.asyncio
async def test_since_from_the_future_gets_a_snapshot(host: MeetingClient, clients: Clients) -> None:
    """A since the server does not know (ahead of its log) is answered with a snapshot, not a resume."""
    projector = await clients.open("projector", since=10_000)
    first = await projector.next_message()
    assert first["type"] == "snapshot"


@pytest.mark.slow
@pytest.mark.asyncio
async def test_too_far_behind_gets_a_snapshot(host: MeetingClient, clients: Clients) -> None:
    """More than 2,000 events behind, a reconnecting projector gets a fresh snapshot instead of events."""
    projector = await clients.open("projector")
    since = (await projector.next_message("snapshot"))["seq"]
    await projector.close()
    last = await make_votes(clients, 42, 50)
    assert last - since > 2000
    again = await clients.open("projector", since=since)
    first = await again.next_message()
    assert first["type"] == "snapshot" and first["seq"] >= last
    assert first["meeting"]["counters"]["votes"] == 42 * 5


@pytest.mark.slow
@pytest.mark.asyncio
async def test_acked_votes_survive_sigkill_and_clients_resume(tmp_path: Path) -> None:
    """Kill -9 the server mid-voting, restart it on the same SQLite file: every acked vote is there."""
    db = f"sqlite:///{tmp_path / 'crash.db'}"
    server = ServerProcess(db, env=NO_ANALYSIS).start()
    try:
        info = create_meeting(server.url)
        host = MeetingClient(server.url, info.code, "host", host_key=info.host_key)
        await host.connect()
        await host.command("phase", phase="collecting")
        projector = MeetingClient(server.url, info.code, "projector")
        await projector.connect()
        phones = [MeetingClient(server.url, info.code) for _ in range(10)]
        for phone in phones:
            await phone.connect()
        acked: set[tuple[int, int]] = set()
        sent: dict[MeetingClient, list[tuple[str, int, str]]] = {p: [] for p in phones}

        async def keep_voting(phone: MeetingClient) -> None:
            for i in range(1000):
                op = f"crash-{phone.participant}-{i}"
                statement, value = i % 5, ("agree", "pass", "disagree")[i % 3]
                sent[phone].append((op, statement, value))
                try:
                    await phone.vote(statement, value, op=op)
                except Exception:  # the server was killed mid-command
                    return
                acked.add((phone.participant, statement))  # type: ignore[arg-type]

        tasks = [asyncio.create_task(keep_voting(p)) for p in phones]
        await asyncio.sleep(scaled(1.0))
        server.kill()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), scaled(15))
        projector_seq = projector.last_seq
        for client in [host, projector, *phones]:
            await client.close()
        assert len(acked) >= 10, "some votes were acked before the kill"

        server.start()
        counters = (await asyncio.to_thread(meeting_info, server.url, info.code))["counters"]
        # Every acked (participant, statement) pair is stored; at most the in-flight ones on top.
        host2 = MeetingClient(server.url, info.code, "host", host_key=info.host_key)
        await host2.connect()
        snapshot = await host2.next_message("snapshot")
        tallied = sum(sum(s["tally"].values()) for s in snapshot["all_statements"])
        assert tallied == counters["votes"]
        assert counters["votes"] >= len(acked)
        assert counters["votes"] <= len(acked) + len(phones)
        # Each phone resumes with its token: its snapshot holds every vote it had acked, and resending
        # its unacked commands with their original op ids applies them at most once.
        total = 0
        for phone in phones:
            back = MeetingClient(server.url, info.code, token=phone.token)
            await back.connect()
            assert back.participant == phone.participant and back.welcome["new"] is False
            mine = (await back.next_message("snapshot"))["you"]["votes"]
            assert {(phone.participant, int(s)) for s in mine} >= {a for a in acked if a[0] == phone.participant}
            op, statement, value = sent[phone][-1]
            ack = await back.vote(statement, value, op=op)
            assert ack["result"] == {"statement": statement, "value": value}
            total += len(mine)
            await back.close()
        assert total == counters["votes"]
        # A projector resumes from the store (the new process has nothing in memory) without gaps.
        projector2 = MeetingClient(server.url, info.code, "projector")
        await projector2.connect(since=projector_seq)
        resumed = await projector2.next_message()
        assert resumed["type"] == "resumed" and resumed["since"] == projector_seq
        events = await drain_events(projector2, resumed["seq"])
        assert [e["seq"] for e in events] == list(range(projector_seq + 1, resumed["seq"] + 1))
        await projector2.close()
        await host2.close()
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_meeting_survives_clean_restart(server: ServerProcess, meeting: MeetingInfo) -> None:
    """A stopped and restarted server serves the same meeting, phase and votes."""
    host = MeetingClient(server.url, meeting.code, "host", host_key=meeting.host_key)
    await host.connect()
    await host.command("phase", phase="collecting")
    phone = MeetingClient(server.url, meeting.code)
    await phone.connect()
    await phone.vote(0, "agree")
    await host.close()
    await phone.close()
    server.stop()
    server.start()
    info = await asyncio.to_thread(meeting_info, server.url, meeting.code)
    assert info["phase"] == "collecting" and info["counters"]["votes"] == 1
    assert info["counters"]["participants"] == 1
