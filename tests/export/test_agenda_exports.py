"""An agenda in the open-data package, the publishable record and the Pol.is folder (issue 23): each question
is reported on its own (its statements, votes and lanes) and the meeting as a whole, every per-question figure
a sum a reader can redo from the rows beside it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

from facilitation.core.commands.agenda import GoToQuestion
from facilitation.core.commands.floor import AskFloor, EndFloor, GiveFloor
from facilitation.core.commands.rounds import CloseRound, OpenRound
from facilitation.core.events import Event
from facilitation.core.meeting import (
    Join,
    Meeting,
    MeetingSettings,
    Moderate,
    PostStatement,
    SetPhase,
    Vote,
    hash_secret,
)
from facilitation.export.markdown import render_markdown
from facilitation.export.opendata import write_opendata
from facilitation.export.polis import write_polis
from facilitation.export.record import build_record, moments_of, record_markdown, render_record_html
from facilitation.export.summary import Summary, build_summary
from facilitation.export.transcript import parse_transcript, place

T0 = 1_800_000_000.0
TOPIC = "第一題：交通怎麼改？"
QUESTION_2 = "第二題：清潔怎麼分工？"
Q1 = ["增設機車停車區。", "加開公車。"]
Q2_SEED = "市府統一清潔。"
HIDDEN = "某某攤商都亂丟垃圾，地址是夜市路一號。"
PEOPLE = 6


def agenda_meeting() -> tuple[list[Event], dict[int, dict[int, str]]]:
    """Two questions, six people. Question 1: both seeds, everyone votes (statement 0 agreed by all, 1 split).
    Question 2: a host seed everyone rejects and a participant's statement voted on then hidden. Returns the
    log and the votes cast (statement -> participant -> value)."""
    settings = MeetingSettings(title="夜市", topic=TOPIC, questions=(QUESTION_2,), roles=("住戶", "攤商"))
    meeting, events = Meeting.create("AGENDA", settings, hash_secret("k"), T0, Q1)
    log: list[Event] = list(events)
    at = T0

    def apply(command: Any) -> Any:
        nonlocal at
        at += 7
        applied = meeting.apply(command, at)
        log.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting", op="p"))
    people = [int(apply(Join(hash_secret(f"token-{i:012d}"), "", "住戶" if i < 4 else "攤商"))["participant"])
              for i in range(PEOPLE)]
    cast: dict[int, dict[int, str]] = {0: {}, 1: {}}
    for i, p in enumerate(people):
        cast[0][p] = "agree"
        cast[1][p] = "agree" if i % 2 else "disagree"
    apply(GoToQuestion(1, op="g"))
    seed = int(apply(PostStatement(None, Q2_SEED, op="s"))["statement"])
    hidden = int(apply(PostStatement(people[0], HIDDEN, op="h"))["statement"])
    cast[seed] = {p: "disagree" for p in people}
    cast[hidden] = {p: "agree" for p in people[1:3]} | {people[0]: "agree"}  # its author agrees by posting it
    # question 1's votes are cast while it is current: go back, vote, and return to question 2
    apply(GoToQuestion(0, op="back"))
    apply(AskFloor(people[4], op="ask-1"))  # a vendor speaks on question 1
    apply(GiveFloor(people[4], op="give-1"))
    apply(EndFloor(op="end-1"))
    for sid in (0, 1):
        for p, value in cast[sid].items():
            apply(Vote(p, sid, value, op=f"{sid}-{p}"))
    apply(GoToQuestion(1, op="again"))
    for p, value in cast[seed].items():
        apply(Vote(p, seed, value, op=f"s-{p}"))
    for p in people[1:3]:
        apply(Vote(p, hidden, "agree", op=f"h-{p}"))
    # round 2 on the rejected seed: two residents and a vendor move to acceptable, one resident keeps 反對
    apply(OpenRound([seed], op="round"))
    for p, value in ((people[0], "acceptable"), (people[1], "acceptable"), (people[2], "disagree"),
                     (people[4], "acceptable")):
        apply(Vote(p, seed, value, op=f"r-{p}"))
        cast[seed][p] = value
    apply(CloseRound(op="round-end"))
    # a resident has the floor; the vendors never do
    apply(AskFloor(people[1], op="ask"))
    apply(GiveFloor(people[1], op="give"))
    apply(EndFloor(op="end"))
    apply(Moderate(hidden, "hide", "含地址"))
    apply(SetPhase("voting", op="v"))
    apply(SetPhase("reviewing", op="r"))
    return log, cast


def summary_of() -> tuple[Summary, dict[int, dict[int, str]]]:
    log, cast = agenda_meeting()
    return build_summary(log, None, now=T0 + 3600), cast


def read(path: Path) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_the_open_data_package_reports_each_question_and_the_meeting(tmp_path: Path) -> None:
    summary, cast = summary_of()
    write_opendata(summary, tmp_path, agency="臺北市市場處")
    statements = read(tmp_path / "statements.csv")
    assert [(int(s["statement"]), int(s["question"])) for s in statements] == [(1, 1), (2, 1), (3, 2), (4, 2)]
    assert statements[3]["text"] == ""  # the hidden statement keeps its question, not its words
    (meeting,) = read(tmp_path / "meeting.csv")
    assert meeting["questions"] == "2"
    questions = read(tmp_path / "questions.csv")
    assert [(q["question"], q["text"]) for q in questions] == [("1", TOPIC), ("2", QUESTION_2)]
    for q in questions:  # every figure, recomputed from the votes cast here
        mine = [sid for sid in cast if (sid < len(Q1)) == (q["question"] == "1")]
        values = Counter(v for sid in mine for v in cast[sid].values())
        assert int(q["statements_total"]) == len(mine)
        assert int(q["voters"]) == len({p for sid in mine for p in cast[sid]})
        assert int(q["votes"]) == sum(values.values())
        assert [int(q[k]) for k in ("agree", "acceptable", "disagree", "pass")] == [
            values["agree"], values["acceptable"], values["disagree"], values["pass"]]
    q1, q2 = questions
    assert (q1["statements_accepted"], q2["statements_accepted"]) == ("2", "1")
    for q in questions:  # and from the rows of statements.csv beside it
        rows = [s for s in statements if s["question"] == q["question"]]
        assert int(q["votes"]) == sum(int(s["votes"]) for s in rows)
        lanes = Counter(s["lane"] for s in rows if s["lane"])
        assert {k: int(q[f"lane_{k}"]) for k in ("acceptable", "disputed", "rejected", "needs_votes")} == {
            k: lanes[k] for k in ("acceptable", "disputed", "rejected", "needs_votes")}
    # the questions add up to the meeting
    assert sum(int(q["statements_accepted"]) for q in questions) == int(meeting["statements_accepted"])
    assert sum(int(q["statements_total"]) for q in questions) == int(meeting["statements_total"])
    assert sum(int(q["votes"]) for q in questions) == sum(int(s["votes"]) for s in statements)


def test_the_open_data_package_holds_each_round_shift(tmp_path: Path) -> None:
    summary, _ = summary_of()
    write_opendata(summary, tmp_path, agency="臺北市市場處")
    (everyone,) = read(tmp_path / "rounds.csv")
    # round 2 on #3 (question 2): four voted again, three moved 反對 -> 可接受, one kept 反對
    moved = {k: int(v) for k, v in everyone.items() if "_to_" in k and int(v)}
    assert (everyone["round"], everyone["statement"], everyone["question"]) == ("2", "3", "2")
    assert (everyone["voters"], everyone["kept"], everyone["new"], moved) == (
        "4", "1", "0", {"disagree_to_acceptable": 3})
    # by role: 住戶 3 and 攤商 1 voted again, both under five: one combined row, the whole, never a cell of 1
    for name in ("round_roles.csv", "round_groups.csv"):
        rows = read(tmp_path / name)
        assert len(rows) == 1 and rows[0]["voters"] == "4" and list(rows[0].values())[2] == "其他", (name, rows)
        assert {k: v for k, v in rows[0].items() if k not in ("role", "group")} == {
            k: v for k, v in everyone.items() if k != "question"}


def test_a_meeting_without_an_agenda_is_one_question_in_the_package(tmp_path: Path) -> None:
    _, events = Meeting.create("SINGLE", MeetingSettings(title="T", topic="議題"), hash_secret("k"), T0, ["一。"])
    write_opendata(build_summary(events, None, now=T0), tmp_path, agency="機關")
    (only,) = read(tmp_path / "questions.csv")
    assert (only["question"], only["text"], only["statements_accepted"]) == ("1", "議題", "1")
    assert [s["question"] for s in read(tmp_path / "statements.csv")] == ["1"]


def test_the_record_lists_conclusions_per_question_under_the_whole_meeting() -> None:
    summary, cast = summary_of()
    record = build_record(summary)
    text = record_markdown(record)
    whole = text.index("全體會議：")
    one, two = text.index(f"### 問題 1：{TOPIC}"), text.index(f"### 問題 2：{QUESTION_2}")
    assert text.index("## 結論") < whole < one < two
    votes_1 = sum(len(cast[sid]) for sid in (0, 1))
    votes_2 = len(cast[2])  # the hidden statement is no conclusion: its votes are not counted here
    assert f"意見 2 則、表態 {votes_1} 次" in text[one:two]
    assert f"意見 1 則、表態 {votes_2} 次" in text[two:]
    assert f"意見 3 則、表態 {votes_1 + votes_2} 次" in text[whole:one]
    assert Q1[0] in text[one:two] and Q2_SEED not in text[one:two]
    assert Q2_SEED in text[two:] and HIDDEN not in text
    assert text[one:two].count("\n#### ") == text[two:].count("\n#### ") == 4  # each question, every lane
    assert ("議程", "2 個問題，結論依問題分列") in record.facts
    happened = text[text.index("## 會議經過"):text.index("## 結論")]
    moves = [line for line in happened.splitlines() if "議程：進入問題" in line]  # 2, back to 1, 2 again
    assert [line.split("議程：進入問題 ")[1][:1] for line in moves] == ["2", "1", "2"]
    assert moves[0].endswith(f"**: {QUESTION_2}")
    page = render_record_html(record)
    assert 'id="question-1"' in page and 'id="question-2"' in page and "<h4>" in page


def test_a_transcript_is_anchored_where_the_host_moved_to_a_question() -> None:
    """A paragraph announcing question 2 (第二題, 第一個問題, or the question read out) is placed when the room
    moved there."""
    summary, _ = summary_of()
    moves = {q.number: q.opened_at for q in summary.questions}
    transcript = parse_transcript("# 逐字稿\n\n### 主持人：\n\n大家好，今天有兩個問題。\n\n"
                                  "### 主持人：\n\n好，接下來進入第二題。\n\n### 里長：\n\n我有意見。\n\n"
                                  "### 主持人：\n\n我們回到第一個問題。\n\n### 主持人：\n\n"
                                  f"再回來讀一次題目：{QUESTION_2}\n")
    record = build_record(summary, transcript)
    assert record.anchors is not None
    assert [(n, basis) for n, _, basis in record.anchors] == [
        (2, "宣布進入問題 2"), (4, "宣布進入問題 1"), (5, "宣布進入問題 2")]
    placed = place(transcript, moments_of(summary), summary.started_at, summary.ended_at)
    assert [a.at for a in placed.anchors] == [moves[2][0], moves[1][0], moves[2][1]]
    text = record_markdown(record)
    assert "2 處階段或議程宣布比對" not in text and "3 處階段或議程宣布比對" in text


def test_the_record_holds_the_rounds_and_the_floor_as_the_report_does() -> None:
    summary, _ = summary_of()
    record = record_markdown(build_record(summary))
    report = render_markdown(summary)
    rounds = record.index("## 再表態與意見變化")
    assert f"### 第 2 輪 · 問題 2：{QUESTION_2}" in record[rounds:]  # the round, and the question it was on
    assert summary.rounds[0].statements[0].question == 2
    assert "**\\#3 市府統一清潔。**" in record[rounds:]
    assert "- 住戶：反對 → 可接受 2 人 · 維持 1 人" in record[rounds:]  # people 0 and 1 moved, person 2 kept
    assert "- 攤商：反對 → 可接受 1 人" in record[rounds:]
    floor = record.index("## 發言紀錄")
    lines = [line for line in record[floor:].splitlines() if line.startswith("- ")]
    assert lines and all(line in report for line in lines)  # the report's own words and figures
    # both sides spoke in the meeting, but each on one question only: the split says who was not heard where
    assert "- 在場的每種身分都有人發言。" in lines
    assert "- 問題 1：共 1 次發言，0 分 7 秒；攤商：1 次，0 分 7 秒；在場但沒有發言的身分：住戶" in lines
    assert "- 問題 2：共 1 次發言，0 分 7 秒；住戶：1 次，0 分 7 秒；在場但沒有發言的身分：攤商" in lines
    assert summary.floor is not None
    assert [(q.question, q.turns, q.unheard_roles) for q in summary.floor.by_question] == [
        (1, 1, ("住戶",)), (2, 1, ("攤商",))]


def test_a_record_without_an_agenda_lists_conclusions_as_before() -> None:
    _, events = Meeting.create("SINGLE", MeetingSettings(title="T", topic="議題"), hash_secret("k"), T0, ["一。"])
    text = record_markdown(build_record(build_summary(events, None, now=T0)))
    assert "### 問題" not in text and "全體會議" not in text and "#### " not in text
    assert "再表態" not in text and "發言紀錄" not in text


def test_the_polis_folder_places_each_comment_in_its_question(tmp_path: Path) -> None:
    summary, _ = summary_of()
    write_polis(summary, tmp_path)
    rows = list(csv.DictReader((tmp_path / "questions.csv").open(encoding="utf-8")))
    assert [(r["comment-id"], r["question"]) for r in rows] == [("0", "1"), ("1", "1"), ("2", "2"), ("3", "2")]
