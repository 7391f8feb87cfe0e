"""Publishing the record: an explicit, logged host action once the meeting is closed; the record is a draft
(草稿) until then; the public page (/record/CODE, no key) exists only after it, with the transcript kept for
the meeting (``facilitation import-transcript``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from facilitation.core.commands.phases import SetPhase
from facilitation.core.commands.publication import Publication, PublishRecord
from facilitation.core.meeting import Meeting, MeetingSettings
from facilitation.core.state import CommandRefused
from facilitation.tools.client import MeetingClient, ServerError
from tests.support.servers import ServerProcess, scaled

SAMPLE = Path(__file__).resolve().parents[1] / "export" / "data" / "transcript-sample.md"


def test_publish_needs_a_closed_meeting_happens_once_and_is_logged() -> None:
    meeting, events = Meeting.create("PUBLSH", MeetingSettings(title="t"), "h", 1.0, ["seed"])
    with pytest.raises(CommandRefused) as early:
        meeting.apply(PublishRecord(op="p0"), 2.0)
    assert early.value.code == "phase_forbids" and "closed" in early.value.message
    for phase in ("collecting", "voting", "reviewing", "closed"):
        events += meeting.apply(SetPhase(phase, op=phase), 3.0).events
    applied = meeting.apply(PublishRecord(op="p1"), 4.0)
    events += applied.events
    assert applied.result == {"published_at": 4.0}
    assert meeting.part(Publication).published_at == 4.0
    assert meeting.moderation_log[-1] == {"seq": applied.events[0].seq, "at": 4.0, "action": "publish"}
    assert meeting.apply(PublishRecord(op="p1"), 5.0).duplicate  # the same op: acknowledged again
    with pytest.raises(CommandRefused) as again:
        meeting.apply(PublishRecord(op="p2"), 5.0)
    assert again.value.code == "no_change"
    replayed = Meeting.replay(events)
    assert replayed.part(Publication).published_at == 4.0
    assert replayed.public_state()["publication"] == {"published_at": 4.0}


@pytest.mark.asyncio
async def test_the_record_is_a_draft_until_published_then_public_with_its_transcript(tmp_path: Path) -> None:
    """Over a real server: no public page and a 草稿 record before; ``import-transcript`` keeps the
    transcript with the meeting; after ``publish`` the record says when it was published, the log says it
    was, and /record/CODE serves it without a key, transcript included."""
    store = f"sqlite:///{tmp_path / 'm.db'}"
    server = ServerProcess(store, env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        created = httpx.post(f"{server.url}/api/meetings", json={"title": "公園規劃", "seeds": ["公園要有更多樹蔭"]},
                             timeout=scaled(10)).json()
        code, key = created["code"], created["host_key"]
        host = MeetingClient(server.url, code, "host", host_key=key)
        await host.connect(timeout=scaled(10))
        assert httpx.get(f"{server.url}/record/{code}", timeout=scaled(10)).status_code == 404
        with pytest.raises(ServerError) as refused:
            await host.command("publish")
        assert refused.value.code == "phase_forbids"
        for phase in ("collecting", "voting", "reviewing", "closed"):
            await host.command("phase", phase=phase)
        imported = subprocess.run([sys.executable, "-m", "facilitation.tools.cli", "import-transcript", code,
                                   str(SAMPLE), "--store", store], capture_output=True, text=True,
                                  timeout=scaled(60))
        assert imported.returncode == 0, imported.stderr
        assert "paragraphs" in imported.stdout
        draft = httpx.get(f"{server.url}/api/meetings/{code}/export", params={"format": "record"},
                          headers={"x-host-key": key}, timeout=scaled(30)).text
        assert "草稿" in draft and "王大明" in draft  # the stored transcript is in the record
        assert httpx.get(f"{server.url}/record/{code}", timeout=scaled(10)).status_code == 404

        published = await host.command("publish")
        assert published["type"] == "ack" and isinstance(published["result"]["published_at"], float)
        record = httpx.get(f"{server.url}/api/meetings/{code}/export", params={"format": "record"},
                           headers={"x-host-key": key}, timeout=scaled(30)).text
        assert "草稿" not in record and "主持人於" in record
        page = httpx.get(f"{server.url}/record/{code}", timeout=scaled(10))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "公園規劃" in page.text and "王大明" in page.text and "草稿" not in page.text
        assert "<style" not in page.text and "/static/css/record.css" in page.text  # under the page's CSP
        log = httpx.get(f"{server.url}/api/meetings/{code}/log", timeout=scaled(10)).json()["log"]
        assert log[-1]["action"] == "publish"
        with pytest.raises(ServerError) as again:
            await host.command("publish")
        assert again.value.code == "no_change"
        md = httpx.get(f"{server.url}/api/meetings/{code}/export", params={"format": "md"},
                       headers={"x-host-key": key}, timeout=scaled(30)).text
        assert "公開會議紀錄" in md  # the report's log names the act
        await host.close()
    finally:
        server.stop()
