"""The exports of an agenda (issue 23): the Markdown, HTML and JSON summaries report each question with its
own statements, lanes and raw counts, and the meeting as a whole as before."""

from __future__ import annotations

from facilitation.core.commands.agenda import GoToQuestion
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, PostStatement, SetPhase, Vote, hash_secret
from facilitation.export.html import render_html
from facilitation.export.markdown import render_markdown
from facilitation.export.summary import build_summary, summary_to_dict

NOW = 1_800_000_000.0


def two_question_meeting() -> list[Event]:
    settings = MeetingSettings(title="夜市", topic="第一題：交通怎麼改？", questions=("第二題：清潔怎麼分工？",))
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, ["增設機車停車區。", "加開公車。"])
    log: list[Event] = list(events)
    log += meeting.apply(SetPhase("collecting", op="p"), NOW).events
    people = []
    for i in range(3):
        joined = meeting.apply(Join(hash_secret(f"token-{i:012d}")), NOW)
        log += joined.events
        people.append(int(joined.result["participant"]))
    for p in people:
        log += meeting.apply(Vote(p, 0, "agree", op=f"a{p}"), NOW).events
    log += meeting.apply(GoToQuestion(1, op="g"), NOW).events
    log += meeting.apply(PostStatement(None, "市府統一清潔。", op="s"), NOW).events
    for p in people[:2]:
        log += meeting.apply(Vote(p, 2, "disagree", op=f"d{p}"), NOW).events
    return log


def test_each_question_has_its_section_with_its_own_statements() -> None:
    summary = build_summary(two_question_meeting(), None, now=NOW)
    first, second = summary.questions
    assert (first.text, first.statements, first.votes) == ("第一題：交通怎麼改？", (0, 1), 3)
    assert (second.text, second.statements, second.votes) == ("第二題：清潔怎麼分工？", (2,), 2)
    markdown = render_markdown(summary)
    one, two = markdown.index("## 問題 1：第一題"), markdown.index("## 問題 2：第二題")
    assert one < two < markdown.index("## 所有意見")
    assert "增設機車停車區" in markdown[one:two] and "市府統一清潔" not in markdown[one:two]
    assert "市府統一清潔" in markdown[two:markdown.index("## 所有意見")]
    assert "| 3 | 市府統一清潔。 |" in markdown[two:]
    assert "0 / 0 / 0 / 2" in markdown[two:markdown.index("## 所有意見")]  # agree / acceptable / pass / disagree
    page = render_html(summary)
    assert 'id="question-1"' in page and 'id="question-2"' in page
    assert [q["number"] for q in summary_to_dict(summary)["questions"]] == [1, 2]


def test_a_meeting_without_an_agenda_reports_as_before() -> None:
    _, events = Meeting.create("ABCDEF", MeetingSettings(title="T"), hash_secret("k"), NOW, ["一。"])
    summary = build_summary(events, None, now=NOW)
    assert summary.questions == () and "## 問題" not in render_markdown(summary)
