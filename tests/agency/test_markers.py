"""Transcript markers set during the meeting (``mark``) place the stenographer's transcript in the record:
numbered 1, 2, 3 in the log, refused once the meeting is closed, and read by the record without being passed
in (the meeting's own markers)."""

from __future__ import annotations

import pytest

from facilitation.core.commands.markers import Markers, SetMarker
from facilitation.core.commands.phases import SetPhase
from facilitation.core.meeting import Meeting, MeetingSettings
from facilitation.core.state import CommandRefused
from facilitation.export.record import build_record, render_record
from facilitation.export.summary import build_summary
from facilitation.export.transcript import parse_transcript

TRANSCRIPT = """# 測試逐字稿

### 主持人：

大家好，會議開始。

〔標記 1〕

### 主持人：

休息結束，我們繼續討論公園的照明。

### 王大明：

我贊成夜間照明。
"""


def test_markers_are_numbered_logged_and_refused_when_closed() -> None:
    meeting, events = Meeting.create("MARKER", MeetingSettings(title="公園"), "h", 1000.0, ["公園要有樹蔭"])
    events += meeting.apply(SetPhase("collecting", op="c"), 1010.0).events
    first = meeting.apply(SetMarker(op="m1"), 1100.0)
    second = meeting.apply(SetMarker("休息後", op="m2"), 1900.0)
    events += first.events + second.events
    assert first.result == {"number": 1} and second.result == {"number": 2}
    assert meeting.part(Markers).placed == [(1, 1100.0, ""), (2, 1900.0, "休息後")]
    assert meeting.public_state()["markers"] == {"count": 2}
    for phase in ("voting", "reviewing", "closed"):
        events += meeting.apply(SetPhase(phase, op=phase), 2000.0).events
    with pytest.raises(CommandRefused) as closed:
        meeting.apply(SetMarker(op="m3"), 2100.0)
    assert closed.value.code == "phase_forbids"
    assert Meeting.replay(events).part(Markers).placed == meeting.part(Markers).placed


def test_the_record_places_the_transcript_at_the_meetings_own_marker() -> None:
    meeting, events = Meeting.create("MARKER", MeetingSettings(title="公園"), "h", 1000.0, ["公園要有樹蔭"])
    events += meeting.apply(SetPhase("collecting", op="c"), 1010.0).events
    events += meeting.apply(SetMarker("休息後", op="m1"), 1800.0).events
    summary = build_summary(events, None)
    assert summary.markers == ((1, 1800.0, "休息後"),)
    record = build_record(summary, parse_transcript(TRANSCRIPT))
    assert record.anchors is not None
    marked = [a for a in record.anchors if "標記" in a[2] or "marker" in a[2].lower()]
    assert marked, record.anchors
    text = render_record(summary, parse_transcript(TRANSCRIPT))
    assert "1 個現場標記" in text
