"""The publishable record: a PDIS transcript read, placed against the meeting's events, and interleaved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from facilitation.core.events import Event
from facilitation.core.meeting import (
    Join,
    Meeting,
    MeetingSettings,
    Moderate,
    ModerationMode,
    PostStatement,
    SetPhase,
    Vote,
    hash_secret,
)
from facilitation.export.record import Marker, moments_of, render_record
from facilitation.export.summary import Summary, build_summary
from facilitation.export.transcript import TranscriptError, parse_transcript, place
from facilitation.tools import export as export_command
from tests.export.conftest import store_events

SAMPLE = Path(__file__).parent / "data" / "transcript-sample.md"
T0 = 1_767_225_600.0  # 2026-01-01 08:00 Taiwan time
SEEDS = ["公園要有更多樹蔭", "公園夜間要有照明", "公園應該禁止煙火"]
WRITTEN = "公園廁所應該二十四小時開放"


def park_meeting() -> list[Event]:
    """Collecting at +60 s, a participant's statement accepted at +400 s (pre-moderation), voting at +600,
    reviewing at +1500, closed at +1800: the meeting the sample transcript was written for."""
    settings = MeetingSettings(title="市民參與會議", moderation=ModerationMode.PRE)
    meeting, events = Meeting.create("PARK23", settings, hash_secret("k"), T0, SEEDS)

    def apply(command: Any, at: float) -> Any:
        applied = meeting.apply(command, at)
        events.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting"), T0 + 60)
    people = [apply(Join(hash_secret(f"p{i}"), "", ""), T0 + 61 + i)["participant"] for i in range(6)]
    written = apply(PostStatement(people[0], WRITTEN, "w"), T0 + 300)["statement"]
    apply(Moderate(written, "accept", ""), T0 + 400)
    apply(SetPhase("voting"), T0 + 600)
    at = T0 + 700
    for i, p in enumerate(people):
        for s in range(4):
            at += 10
            apply(Vote(p, s, "agree" if s == 0 or i < 3 else "disagree", f"{i}-{s}"), at)
    apply(SetPhase("reviewing"), T0 + 1500)
    apply(SetPhase("closed"), T0 + 1800)
    return events


@pytest.fixture(scope="module")
def summary() -> Summary:
    return build_summary(park_meeting(), None, now=T0 + 86_400)


MARKERS = [Marker(1, T0 + 500, "提案結束")]


def test_parse_reads_speakers_notes_and_markers() -> None:
    """Speakers after '### 名字：' (full-width or ASCII colon, blank line or not), '>' notes, 〔標記 N〕
    markers and the title are read; a BOM and CRLF line ends change nothing."""
    text = SAMPLE.read_text(encoding="utf-8")
    transcript = parse_transcript(text)
    again = parse_transcript("\ufeff" + text.replace("\n", "\r\n"))
    assert again == transcript
    assert transcript.title == "2026-01-01 市民參與會議（測試用逐字稿）"
    assert transcript.speakers == ("主持人", "王大明", "李小華")
    kinds = [p.kind for p in transcript.paragraphs]
    assert kinds.count("marker") == 2 and kinds.count("note") == 2
    assert [p.marker for p in transcript.paragraphs if p.kind == "marker"] == [1, 7]
    assert transcript.paragraphs[3].speaker == "主持人" and transcript.paragraphs[3].text.startswith("現在開始蒐集意見")
    assert transcript.paragraphs[5].speaker == "李小華"  # ASCII colon
    with pytest.raises(TranscriptError):
        parse_transcript("# 只有標題\n\n沒有發言者的段落。\n")


def test_placement_uses_markers_then_phase_announcements(summary: Summary) -> None:
    """Marker 1 and the four phase announcements anchor their paragraphs at the events' exact times; a
    marker the meeting never set (7) is dropped and listed; times never run backwards."""
    transcript = parse_transcript(SAMPLE.read_text(encoding="utf-8"))
    placed = place(transcript, moments_of(summary, MARKERS), summary.started_at, summary.ended_at)
    anchors = [(a.paragraph, a.basis, a.detail, a.at - T0) for a in placed.anchors]
    assert anchors == [(3, "phase", "collecting", 60), (6, "marker", "1", 500), (7, "phase", "voting", 600),
                       (12, "phase", "reviewing", 1500), (14, "phase", "closed", 1800)]
    assert [(a.paragraph, a.detail) for a in placed.dropped] == [(11, "7")]
    times = [p.at for p in placed.placements]
    assert times == sorted(times)
    assert all(T0 <= t <= T0 + 1800 for t in times)


def test_a_quote_is_never_placed_before_its_statement_was_shown(summary: Summary) -> None:
    """The paragraph that reads out the participant's statement goes no earlier than its acceptance (+400 s),
    though by length alone it would sit right after +60 s; the one after it stays between it and marker 1."""
    transcript = parse_transcript(SAMPLE.read_text(encoding="utf-8"))
    placed = place(transcript, moments_of(summary, MARKERS), summary.started_at, summary.ended_at)
    by_index = {p.paragraph.index: p for p in placed.placements}
    assert by_index[4].basis == "quote" and by_index[4].at == T0 + 400
    assert by_index[5].basis == "length" and T0 + 400 <= by_index[5].at <= T0 + 500
    assert by_index[1].basis == "length" and T0 < by_index[1].at < T0 + 60


def test_without_anchors_paragraphs_spread_over_the_meeting_by_length(summary: Summary) -> None:
    """No marker and no announcement: paragraphs keep their order and spread from start to end, a long
    paragraph taking more of the time than a short one."""
    transcript = parse_transcript("### 甲：\n\n短。\n\n### 乙：\n\n" + "長" * 300 + "。\n\n### 甲：\n\n短。\n")
    placed = place(transcript, [], T0, T0 + 1000)
    a, b, c = (p.at - T0 for p in placed.placements)
    assert placed.anchors == () and 0 < a < b < c < 1000
    assert c - b > 400 and b - a > 400  # the long paragraph's half on each side
    assert {p.basis for p in placed.placements} == {"length"}


def test_record_interleaves_and_is_a_draft_until_published(summary: Summary) -> None:
    """The record puts each phase change and shown statement among the transcript's paragraphs where they
    happened, keeps every paragraph in order under its speaker, lists the conclusions with counts and the
    anchors, and says 草稿 until it is published."""
    transcript = parse_transcript(SAMPLE.read_text(encoding="utf-8"))
    draft = render_record(summary, transcript, MARKERS)
    assert draft.startswith("# 市民參與會議 會議紀錄（草稿）\n")
    assert "**草稿**" in draft
    voting = draft.index("蒐集意見 → 表態")
    assert voting < draft.index("我們現在進入表態階段") < draft.index("公園要有更多樹蔭」這一則")
    assert draft.index("意見 #4 公開") < draft.index("公園廁所應該二十四小時開放，晚上")
    assert draft.index("標記 1") < voting
    order = [draft.index(p.text.splitlines()[0][:12]) for p in transcript.paragraphs if p.kind == "speech"]
    assert order == sorted(order)
    assert "### 李小華：" in draft
    assert "公園要有更多樹蔭 — 贊成或可接受 6 / 6 · 100%" in draft
    assert "| 8 | 08:10 | 宣布進入「表態」 |" in draft
    assert "標記 7" not in draft.split("## 定位依據")[0]  # the stray marker is not an event
    published = render_record(summary, transcript, MARKERS, published_at=T0 + 10 * 86_400)
    assert "草稿" not in published and "2026-01-11 08:00" in published


def test_record_escapes_transcript_text(summary: Summary) -> None:
    """Markup in a transcript (a link, a script tag) is shown as typed, never rendered."""
    transcript = parse_transcript("### 甲：\n\n<script>x</script> [點我](javascript:alert(1))\n")
    record = render_record(summary, transcript)
    assert "<script>" not in record and "](javascript" not in record
    assert "&lt;script&gt;" in record


def test_cli_writes_the_record_with_a_transcript(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`export CODE --format record --transcript PATH` prints the draft record with the transcript placed;
    a file that is not a transcript exits 2 with the reason."""
    store = f"sqlite:///{tmp_path / 'm.db'}"
    store_events(store, park_meeting())
    assert export_command.run("PARK23", "record", "-", store, transcript=str(SAMPLE)) == 0
    record = capsys.readouterr().out
    assert record.startswith("# 市民參與會議 會議紀錄（草稿）") and "我們現在進入表態階段" in record
    bad = tmp_path / "notes.md"
    bad.write_text("只是一段筆記。\n", encoding="utf-8")
    assert export_command.run("PARK23", "record", "-", store, transcript=str(bad)) == 2
    assert "### 姓名：" in capsys.readouterr().err


def test_html_record_has_the_same_content_escaped(summary: Summary) -> None:
    """The HTML record holds the Markdown's events, paragraphs and conclusions in the same order, escapes
    markup, says 草稿 until published, and links a stylesheet instead of inlining one when asked."""
    from facilitation.export.record import build_record, render_record_html

    transcript = parse_transcript(SAMPLE.read_text(encoding="utf-8") + "\n### 甲：\n\n<b>粗體</b>\n")
    record = build_record(summary, transcript, MARKERS)
    page = render_record_html(record)
    assert "<title>市民參與會議 會議紀錄（草稿）</title>" in page and "<style>" in page
    assert page.index("蒐集意見 → 表態") < page.index("我們現在進入表態階段") < page.index("每組多數可接受</h3>")
    assert "&lt;b&gt;粗體&lt;/b&gt;" in page and "<b>粗體" not in page
    published = build_record(summary, transcript, MARKERS, published_at=T0 + 86_400)
    linked = render_record_html(published, "/static/css/record.css")
    assert '<link rel="stylesheet" href="/static/css/record.css">' in linked and "<style>" not in linked
    assert "草稿" not in linked
