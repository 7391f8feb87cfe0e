"""The reports' check on the voting-quality flags (issue 24): who was flagged and whether any lane changes
without them, counted from the log's votes and their times."""

from __future__ import annotations

import json
import shutil
import subprocess
from html import escape
from pathlib import Path
from typing import Any

import pytest

from facilitation.core.commands.statements import Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.summary import build_summary
from tests.core.helpers import NOW

STATEMENTS = 20


def test_a_flagged_voter_is_reported_with_the_lanes_without_them() -> None:
    events, people = meeting_log(flagged=True)
    summary = build_summary(events, None, now=NOW + 10_000)
    quality = summary.quality
    assert quality is not None and quality.flagged == (people[0],)
    assert quality.same_answer == 1 and quality.too_fast == 1 and quality.compared
    data = json.loads(render(summary, "json"))
    assert data["quality"]["flagged"] == [people[0]]
    md = render(summary, "md").decode()
    assert "投票品質檢查提示了 1 位參與者（幾乎每題同一答案：1 位；快過能讀完題目：1 位）。" in md
    if quality.changes:
        assert "不含他們的票，這些意見會改變分類：" in md
        assert all(c.lane != c.without for c in quality.changes)
    else:
        assert "不含他們的票，沒有任何意見改變分類。" in md
    assert len(data["votes"]) == 6 * STATEMENTS, "a flag removes no vote from the exports"


def test_no_flag_no_note() -> None:
    events, _ = meeting_log(flagged=False)
    summary = build_summary(events, None, now=NOW + 10_000)
    assert summary.quality is None
    assert "投票品質檢查" not in render(summary, "md").decode()


def meeting_log(flagged: bool) -> tuple[list[Event], list[int]]:
    """Six phones on twenty statements at a reader's pace (30 s a card, answers that vary); with
    ``flagged``, the first agrees to every card a tenth of a second apart."""
    texts = [f"第 {i} 則：夜市應該延長營業到午夜，並加強垃圾分類與清潔。" for i in range(STATEMENTS)]
    m, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市"), hash_secret("k"), NOW, texts)

    def do(command: Any, at: float = NOW) -> dict[str, Any]:
        applied = m.apply(command, at)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h1"))
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx")))["participant"]) for i in range(6)]
    for i, p in enumerate(people):
        for s in range(STATEMENTS):
            if flagged and i == 0:
                do(Vote(p, s, "agree", op=f"v{p}-{s}"), NOW + 100 + s * 0.1)
            else:
                value = ("agree", "disagree", "pass")[(i + s) % 3] if s % 4 else ("agree" if i % 2 else "disagree")
                do(Vote(p, s, value, op=f"v{p}-{s}"), NOW + 100 + i * 1000 + s * 30)
    return events, people


def test_the_html_and_pdf_give_the_markdowns_lane_check(tmp_path: Path) -> None:
    """The HTML report (and the PDF printed from it) carries the flags line and the lane verdict, word for
    word as the Markdown; without a flag none of it."""
    summary = build_summary(meeting_log(flagged=True)[0], None, now=NOW + 10_000)
    md = render(summary, "md").decode()
    (line,) = [x for x in md.splitlines() if x.startswith("投票品質檢查")]
    assert "不含他們的票" in line
    html = render(summary, "html").decode()
    assert f'<p class="note">{escape(line)}</p>' in html
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is required: apt-get install poppler-utils")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(summary, "pdf"))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "".join(line.split()) in "".join(text.split())
    unflagged = render(build_summary(meeting_log(flagged=False)[0], None, now=NOW + 10_000), "html").decode()
    assert "投票品質檢查" not in unflagged and "lane-check" not in unflagged
