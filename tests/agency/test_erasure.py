"""A participant's erasure, a host's deletion and the purge past retention, on a real server and store:
nothing of the participant stays in the log, the analyses, any export, or any byte of the SQLite file.
Every scan first finds the planted words, so it is shown to see what it looks for."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from facilitation.core.commands.participants import Join
from facilitation.core.commands.phases import SetPhase
from facilitation.core.commands.statements import Moderate, PostStatement, Vote
from facilitation.core.erasure import ParticipantErased, Redacted, erase, redactions
from facilitation.core.meeting import Meeting, MeetingSettings, hash_secret
from facilitation.core.state import CommandRefused
from facilitation.live.erasure import purge
from facilitation.storage import open_store
from facilitation.tools.client import MeetingClient
from tests.support.servers import ServerProcess, scaled

TEXT = "種在會議裡的秘密意見：東側應設夜間照明"
NICKNAME = "陳秘密暱稱"
PLANTED = (TEXT.encode(), NICKNAME.encode())
FORMATS = ("md", "html", "pdf", "json", "record", "polis", "opendata")


def planted_in_files(folder: Path) -> list[str]:
    """Which files of ``folder`` (the SQLite file, its WAL and journal) hold a planted word."""
    return [f"{p.name}: {n.decode()}" for p in sorted(folder.iterdir()) if p.is_file()
            for n in PLANTED if n in p.read_bytes()]


def _texts(body: bytes) -> str:
    """A download as text: every file of a zip, a PDF's text (pdftotext, without the line breaks and spaces
    its layout puts inside a long statement: the planted words have none), or the body itself."""
    if body[:5] == b"%PDF-":
        if shutil.which("pdftotext") is None:
            pytest.fail("poppler-utils (pdftotext) is required: apt-get install poppler-utils")
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=body, capture_output=True,
                              timeout=scaled(60), check=True).stdout.decode("utf-8")
        return re.sub(r"\s+", "", text)
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "\n".join(z.read(name).decode("utf-8", "replace") for name in z.namelist())
    return body.decode("utf-8", "replace")


def exports(url: str, code: str, key: str) -> dict[str, str]:
    found = {}
    for fmt in FORMATS:
        params = {"format": fmt, **({"agency": "測試機關"} if fmt == "opendata" else {})}
        response = httpx.get(f"{url}/api/meetings/{code}/export", params=params, headers={"x-host-key": key},
                             timeout=scaled(60))
        assert response.status_code == 200, (fmt, response.text[:300])
        found[fmt] = _texts(response.content)
    return found


def _meeting_with_three() -> tuple[Meeting, list[Any]]:
    meeting, events = Meeting.create("ABCDEF", MeetingSettings(title="t", roles=("resident",)), "h", 1.0, ["seed one"])
    for command in (SetPhase("collecting"), Join("t0", NICKNAME, "resident"), Join("t1", "b", ""),
                    PostStatement(0, TEXT, op="p"), Vote(0, 0, "agree", op="v0"), Vote(1, 0, "disagree", op="v1"),
                    Vote(1, 1, "agree", op="v2")):
        events += meeting.apply(command, 2.0).events
    return meeting, events


def test_erasure_folds_the_participant_out_and_the_redacted_log_replays_the_same() -> None:
    """The live fold and a replay of the redacted log agree: no nickname, no statement text, no vote of
    the participant, no vote on their statement; the other participant's other vote stays."""
    meeting, events = _meeting_with_three()
    assert meeting.vote_count == 4  # the author's implicit agree on their own statement, and three votes
    erased = ParticipantErased(meeting.seq + 1, 3.0, 0)
    meeting.evolve(erased)
    replaced = {e.seq: e for e in redactions(events, 0)}
    stored = [replaced.get(e.seq, e) for e in events] + [erased]
    assert TEXT not in repr(stored) and NICKNAME not in repr(stored) and "t0" not in repr(stored)
    assert any(isinstance(e, Redacted) for e in stored)
    replayed = Meeting.replay(stored)
    for m in (meeting, replayed):
        assert m.vote_count == 1 and m.votes == {1: {0: "disagree"}}
        assert m.participants[0].nickname == "" and m.participants[0].role == ""
        assert m.statements[1].text == "" and m.statements[1].state.value == "hidden"
        assert {k: n for k, n in m.statements[0].tally.items() if n} == {"disagree": 1}
        assert m.statements[0].votes == 1 and m.accepted_count == 1 and m.remaining(1) == 0
        assert m.participant_for_token(hash_secret("t0")) is None
    erase(replayed, 0)  # harmless twice
    assert replayed.vote_count == 1
    assert redactions(stored, 0) == []  # a second redaction finds nothing left


def test_an_erased_participant_and_their_statements_are_refused() -> None:
    """After the erasure, nothing of theirs comes back: their commands and any command about their
    statement are refused with ``erased``."""
    meeting, _ = _meeting_with_three()
    meeting.evolve(ParticipantErased(meeting.seq + 1, 3.0, 0))
    for command in (Vote(0, 0, "pass", op="again"), Moderate(1, "accept", "", op="m"), Vote(1, 1, "agree", op="x")):
        with pytest.raises(CommandRefused) as refused:
            meeting.apply(command, 4.0)
        assert refused.value.code == "erased"
    assert meeting.apply(Join("t0", "", ""), 4.0).result["new"] is True  # the old token is a stranger now


async def _wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _analysis(url: str, code: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/api/meetings/{code}/analysis", timeout=scaled(10))
    return response.json() if response.status_code == 200 else None


async def run_a_meeting(url: str) -> tuple[dict[str, Any], MeetingClient, list[MeetingClient]]:
    """A meeting where the planted participant (nickname, a statement) and five others voted."""
    created = httpx.post(f"{url}/api/meetings", json={"title": "公聽會", "ask_nickname": True, "live_results": True,
                                                      "seeds": [f"意見 {i}" for i in range(4)]},
                         timeout=scaled(10)).json()
    code = created["code"]
    host = MeetingClient(url, code, "host", host_key=created["host_key"])
    await host.connect(timeout=scaled(10))
    await host.command("phase", phase="collecting")
    planted = MeetingClient(url, code, "participant", nickname=NICKNAME)
    await planted.connect(timeout=scaled(10))
    mine = (await planted.post(TEXT))["result"]["statement"]
    others = []
    for i in range(5):
        other = MeetingClient(url, code, "participant", nickname=f"旁人{i}")
        await other.connect(timeout=scaled(10))
        for statement in (*range(4), mine):
            await other.vote(statement, ("agree", "disagree")[(i + statement) % 2])
        others.append(other)
    for statement in range(4):
        await planted.vote(statement, "disagree")
    await host.close()
    return created, planted, others


@pytest.mark.asyncio
async def test_a_phone_erases_itself_from_log_analyses_exports_and_the_sqlite_file(tmp_path: Path) -> None:
    """Through the real endpoints: the receipt lists the phone's statement and votes; after the erasure the
    receipt is gone, the map has no point of theirs (the analysis ran again), no export and no byte of the
    database (file, WAL) holds the nickname or the statement, and the other phones were told to reload."""
    folder = tmp_path / "db"
    folder.mkdir()
    server = ServerProcess(f"sqlite:///{folder / 'm.db'}").start()
    try:
        created, planted, others = await run_a_meeting(server.url)
        code, key = created["code"], created["host_key"]
        me = planted.participant
        token = {"x-participant-token": planted.token or ""}
        first = await _wait_for(lambda: _analysis(server.url, code), 60, "a first map")
        await _wait_for(lambda: _has_point(server.url, code, me), 60, "the planted phone on the map")
        assert first is not None
        receipt = httpx.get(f"{server.url}/api/meetings/{code}/mine", headers=token, timeout=scaled(10)).json()
        assert receipt["nickname"] == NICKNAME and [s["text"] for s in receipt["statements"]] == [TEXT]
        assert receipt["statements"][0]["voters"] == 6 and len(receipt["votes"]) == 5
        before = exports(server.url, code, key)
        assert all(NICKNAME in text or TEXT in text for fmt, text in before.items() if fmt != "opendata"), \
            "the scan must see the planted words in the exports before the erasure"
        assert TEXT in before["opendata"]
        assert planted_in_files(folder), "the scan must see the planted words on disk before the erasure"

        erased = httpx.post(f"{server.url}/api/meetings/{code}/erase", headers=token, timeout=scaled(60))
        assert erased.status_code == 200, erased.text
        assert erased.json()["erased"] == me and erased.json()["events_replaced"] >= 11

        await _wait_for(lambda: _closed(others[0]), 10, "the other phones told to reload")
        assert others[0].close_code == 4010
        gone = httpx.get(f"{server.url}/api/meetings/{code}/mine", headers=token, timeout=scaled(10))
        assert gone.status_code == 404
        rerun = await _wait_for(lambda: _rerun(server.url, code, first["run"]), 60, "the analysis to run again")
        assert me not in rerun["points"]["participants"] and len(rerun["points"]["participants"]) == 5
        after = exports(server.url, code, key)
        assert {fmt: [n.decode() for n in PLANTED if n.decode() in text] for fmt, text in after.items()} == \
            {fmt: [] for fmt in FORMATS}
        assert planted_in_files(folder) == []
        info = httpx.get(f"{server.url}/api/meetings/{code}", timeout=scaled(10)).json()
        assert info["counters"]["votes"] == 4 * 5  # the others' votes on the seeds; theirs on it went with it
        for client in (planted, *others):
            await client.close()
    finally:
        server.stop()
    assert planted_in_files(folder) == []


async def _closed(client: MeetingClient) -> bool:
    return client.closed.is_set()


async def _has_point(url: str, code: str, participant: int | None) -> bool:
    found = await _analysis(url, code)
    return found is not None and participant in found["points"]["participants"]


async def _rerun(url: str, code: str, old: int) -> dict[str, Any] | None:
    found = await _analysis(url, code)
    return found if found is not None and len(found["points"]["participants"]) == 5 else None


@pytest.mark.asyncio
async def test_the_host_deletes_a_meeting_and_nothing_is_left_in_the_file(tmp_path: Path) -> None:
    """DELETE with the host key (header only): phones are closed with 4004, the code is unknown after, and
    neither the nickname nor the statement is in the database file; a wrong key deletes nothing."""
    folder = tmp_path / "db"
    folder.mkdir()
    server = ServerProcess(f"sqlite:///{folder / 'm.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        created, planted, others = await run_a_meeting(server.url)
        code = created["code"]
        assert planted_in_files(folder)
        wrong = httpx.delete(f"{server.url}/api/meetings/{code}", headers={"x-host-key": "nope" * 8},
                             timeout=scaled(10))
        assert wrong.status_code == 403
        in_url = httpx.delete(f"{server.url}/api/meetings/{code}", params={"key": created["host_key"]},
                              timeout=scaled(10))
        assert in_url.status_code == 403  # the key in a URL ends up in logs: the header only
        deleted = httpx.delete(f"{server.url}/api/meetings/{code}", headers={"x-host-key": created["host_key"]},
                               timeout=scaled(60))
        assert deleted.status_code == 200, deleted.text
        await _wait_for(lambda: _closed(planted), 10, "the phones closed")
        assert planted.close_code == 4004
        assert httpx.get(f"{server.url}/api/meetings/{code}", timeout=scaled(10)).status_code == 404
        assert planted_in_files(folder) == []
        for client in (planted, *others):
            await client.close()
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_purge_deletes_only_meetings_past_their_retention(tmp_path: Path) -> None:
    """``purge`` deletes a meeting whose retention ended (counted from its close) and keeps one still within
    it and one kept until deleted (0 days); the deleted one's words are in no byte of the file."""
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'm.db'}"
    store = open_store(url)
    await store.start()
    try:
        codes = {}
        for name, days in (("expired", 30), ("kept", 365), ("forever", 0)):
            meeting, events = Meeting.create(name.upper()[:6].ljust(6, "X"), MeetingSettings(title=name,
                                             retention_days=days), "h", 1000.0, [TEXT if name == "expired" else name])
            events += meeting.apply(Join("tok" * 8, NICKNAME if name == "expired" else "x", ""), 1000.0).events
            for phase in ("collecting", "voting", "reviewing", "closed"):
                events += meeting.apply(SetPhase(phase), 2000.0).events
            await store.create_meeting(meeting.code, events)
            codes[name] = meeting.code
        assert planted_in_files(folder)
        now = 2000.0 + 31 * 86_400
        listed = await purge(store, now, dry_run=True)
        assert [e.code for e in listed] == [codes["expired"]] and await store.load(codes["expired"])
        done = await purge(store, now)
        assert [e.code for e in done] == [codes["expired"]]
        assert await store.load(codes["expired"]) is None
        assert await store.load(codes["kept"]) and await store.load(codes["forever"])
        assert await purge(store, now + 3650 * 86_400) != []  # "kept" expires in its turn, "forever" never
        assert [c for c in await store.meeting_codes()] == [codes["forever"]]
    finally:
        await store.close()
    assert planted_in_files(folder) == []
