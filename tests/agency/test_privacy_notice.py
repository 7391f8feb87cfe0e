"""The privacy notice at join (PDPA §8): the host's notice is part of the settings, each join records the
notice it was shown, and with consent required no phone joins, over any path, without ticking the box."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from facilitation.core.errors import ClientError
from facilitation.core.meeting import CommandRefused, Join, Meeting, MeetingSettings, hash_secret
from facilitation.core.privacy import PRIVACY_FIELDS, notice_version
from facilitation.core.registry import parse_new_meeting
from facilitation.storage import open_store
from facilitation.tools.client import MeetingClient, ServerError
from tests.support.servers import ServerProcess, scaled

NOTICE = {
    "agency": "臺北市政府工務局",
    "purpose": "公園規劃公民參與（特定目的：公共關係、輿情）",
    "data": "暱稱、利害關係人身分、表態與意見內容",
    "period": "會議結束後 180 天",
    "area": "臺灣",
    "recipients": "本局",
    "use": "彙整為會議紀錄與統計",
    "rights": "依個資法第三條，可查詢、閱覽、複製、補充更正、停止利用或刪除",
    "contact": "parks@example.gov.tw",
    "decline": "不同意將無法參與手機表態，仍可現場發言",
}


def meeting(require_consent: bool) -> Meeting:
    settings = MeetingSettings(title="公園", privacy=NOTICE, require_consent=require_consent, retention_days=180)
    return Meeting.create("PARK23", settings, hash_secret("k"), 0.0)[0]


def test_consent_required_refuses_a_join_without_it_and_stores_nothing() -> None:
    """Without consent the join is refused (consent_required, 403) and the meeting is unchanged."""
    m = meeting(True)
    seq = m.seq
    with pytest.raises(CommandRefused) as refused:
        m.apply(Join(hash_secret("t" * 24), "小明"), 1.0)
    assert refused.value.code == "consent_required" and refused.value.status == 403
    assert m.participants == {} and m.by_token == {} and m.seq == seq


def test_each_join_records_the_notice_it_was_shown() -> None:
    """A consenting join records the notice's version and the consent; a returning token is not asked again."""
    m = meeting(True)
    applied = m.apply(Join(hash_secret("t" * 24), "小明", consent=True), 1.0)
    joined = applied.events[0].to_dict()
    assert joined["notice"] == m.settings.notice_version == notice_version(NOTICE, True) != ""
    assert joined["consented"] is True
    again = m.apply(Join(hash_secret("t" * 24)), 2.0)
    assert again.events == [] and again.result["participant"] == 0
    informed = meeting(False).apply(Join(hash_secret("u" * 24)), 1.0).events[0].to_dict()
    assert informed["notice"] == notice_version(NOTICE, False) and informed["consented"] is False


def test_the_notice_version_follows_its_text() -> None:
    """Any change of wording (or of whether consent is asked) is another version; none without a notice."""
    assert notice_version(NOTICE, True) != notice_version({**NOTICE, "period": "一年"}, True)
    assert notice_version(NOTICE, True) != notice_version(NOTICE, False)
    assert notice_version({}, False) == ""


def test_creation_checks_the_notice() -> None:
    """POST /api/meetings' fields: every notice field is known (invalid_settings) and within its limit
    (too_long, as every text of the settings); consent needs the agency, the purpose and the kinds of data;
    retention is 0 to 3650 days."""
    settings, _ = parse_new_meeting({"title": "公園", "privacy": NOTICE, "require_consent": True,
                                     "retention_days": 180})
    assert settings.privacy == NOTICE and settings.require_consent and settings.retention_days == 180
    for body in ({"privacy": {"agncy": "x"}}, {"privacy": "agency"}, {"privacy": {"agency": 3}},
                 {"privacy": {"agency": "x" * 201}}, {"require_consent": True, "privacy": {"agency": "局"}},
                 {"retention_days": 3651}, {"retention_days": -1}, {"require_consent": "yes"}):
        with pytest.raises(ClientError) as refused:
            parse_new_meeting({"title": "公園", **body})
        long = "x" * 201 in str(body)
        assert refused.value.code == ("too_long" if long else "invalid_settings"), body
    assert [f.name for f in PRIVACY_FIELDS][:3] == ["agency", "purpose", "data"]


@pytest.mark.asyncio
async def test_a_phone_without_consent_is_refused_over_the_websocket_and_leaves_nothing(tmp_path: Path) -> None:
    """A real server: a hello without consent is refused with consent_required and nothing about the phone
    reaches the store; with consent it joins and its join records the notice."""
    db = tmp_path / "m.db"
    server = ServerProcess(f"sqlite:///{db}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        body = {"title": "公園", "privacy": NOTICE, "require_consent": True, "retention_days": 180}
        created = httpx.post(f"{server.url}/api/meetings", json=body, timeout=scaled(10)).json()
        code = created["code"]
        info = httpx.get(f"{server.url}/api/meetings/{code}", timeout=scaled(10)).json()
        assert info["settings"]["privacy"] == NOTICE and info["settings"]["require_consent"] is True
        declining = MeetingClient(server.url, code, "participant", nickname="拒絕者")
        with pytest.raises(ServerError) as refused:
            await declining.connect(timeout=scaled(10))
        assert refused.value.code == "consent_required"
        await declining.close()
        agreeing = MeetingClient(server.url, code, "participant", nickname="同意者", consent=True)
        welcome: dict[str, Any] = await agreeing.connect(timeout=scaled(10))
        assert welcome["participant"] == 0
        await agreeing.close()
    finally:
        server.stop()
    store = open_store(f"sqlite:///{db}")
    await store.start()
    try:
        events = await store.load(code)
    finally:
        await store.close()
    assert events is not None
    stored = json.dumps([e.to_dict() for e in events], ensure_ascii=False)
    assert "拒絕者" not in stored and "同意者" in stored
    joins = [e.to_dict() for e in events if e.type == "participant_joined"]
    assert len(joins) == 1 and joins[0]["consented"] is True and joins[0]["notice"] == notice_version(NOTICE, True)
    assert "拒絕者".encode() not in db.read_bytes()
    await asyncio.sleep(0)


def test_the_pages_know_the_same_fields() -> None:
    """static/js/notice.js lists the notice's fields exactly as facilitation/core/privacy.py declares them."""
    import re

    source = (Path(__file__).resolve().parents[2] / "static" / "js" / "notice.js").read_text("utf-8")
    listed = re.search(r"PRIVACY_FIELDS = \[([^\]]*)\]", source)
    assert listed is not None
    assert re.findall(r'"(\w+)"', listed.group(1)) == [f.name for f in PRIVACY_FIELDS]


def test_a_saved_default_is_checked_at_start(tmp_path: Path) -> None:
    """FACILITATION_PRIVACY_NOTICE: a good file is offered as the create form sends it; a bad one stops the
    app with the file and the problem named."""
    from facilitation.web.privacy import load_default

    good = tmp_path / "notice.json"
    good.write_text(json.dumps({"privacy": NOTICE, "require_consent": True, "retention_days": 180},
                               ensure_ascii=False), encoding="utf-8")
    assert load_default(str(good)) == {"privacy": NOTICE, "require_consent": True, "retention_days": 180}
    assert load_default(None) is None
    bad = tmp_path / "bad.json"
    for content in ('{"privacy": {"agency": "局"}, "require_consent": true}', '{"title": "x"}', "not json"):
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match="FACILITATION_PRIVACY_NOTICE"):
            load_default(str(bad))


def test_the_notice_in_force_is_in_every_report() -> None:
    """Markdown, HTML and JSON reports carry the notice as phones showed it, its version, how many
    participants consented and the retention; a meeting without a notice has no such section."""
    from facilitation.export import render
    from facilitation.export.summary import build_summary

    m = meeting(True)
    events = list(Meeting.create("PARK23", m.settings, hash_secret("k"), 0.0)[1])
    replayed = Meeting.replay(events)
    events += replayed.apply(Join(hash_secret("t" * 24), "小明", consent=True), 1.0).events
    summary = build_summary(events, None, now=2.0)
    md = render(summary, "md").decode()
    html = render(summary, "html").decode()
    data = json.loads(render(summary, "json"))
    version = notice_version(NOTICE, True)
    for report in (md, html):
        assert "個人資料告知" in report and version in report and "1 位參與者同意" in report
        assert "保存 180 天" in report
        shown = report.replace("\\", "")  # Markdown escapes punctuation with a backslash
        assert all(value in shown for value in NOTICE.values()), report
    assert data["privacy"] == NOTICE and data["consented"] == 1 and data["notice_version"] == version
    plain = build_summary(Meeting.create("PARK24", MeetingSettings(title="無告知"), hash_secret("k"), 0.0)[1],
                          None, now=2.0)
    assert "個人資料告知" not in render(plain, "md").decode()


def test_the_notice_in_force_is_in_the_meeting_record() -> None:
    """The publishable record (Markdown and the HTML of /record/CODE), draft or published, ends with the
    notice phones showed, its version, the consent count and the retention; none without a notice."""
    from facilitation.export.record import build_record, render_record, render_record_html
    from facilitation.export.summary import build_summary

    m = meeting(True)
    events = list(Meeting.create("PARK23", m.settings, hash_secret("k"), 0.0)[1])
    replayed = Meeting.replay(events)
    events += replayed.apply(Join(hash_secret("t" * 24), "小明", consent=True), 1.0).events
    summary = build_summary(events, None, now=2.0)
    version = notice_version(NOTICE, True)
    for published_at in (None, 3.0):
        md = render_record(summary, published_at=published_at)
        html = render_record_html(build_record(summary, published_at=published_at))
        for record in (md, html):
            assert "個人資料告知" in record and version in record, record
            assert "1 位參與者同意" in record and "保存 180 天" in record
            shown = record.replace("\\", "")  # Markdown escapes punctuation with a backslash
            assert all(value in shown for value in NOTICE.values()), record
        assert '<h2 id="privacy">個人資料告知</h2>' in html
    plain = build_summary(Meeting.create("PARK24", MeetingSettings(title="無告知"), hash_secret("k"), 0.0)[1],
                          None, now=2.0)
    assert "個人資料告知" not in render_record(plain)
