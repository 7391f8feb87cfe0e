"""The open-data package: a folder of CSV files an agency can publish on data.gov.tw as it is.

Built from the same :class:`~facilitation.export.summary.Summary` as every report, so its counts agree with
them, but made for strangers to read, not for the room:

- **statement numbers as people saw them** (from 1, :func:`~facilitation.export.summary.statement_number`),
  in every file;
- **no personal data**: no nicknames (the only free-text profile field), no participant tokens, no map
  positions; a participant is a number. The one table with a row per person's act (``votes.csv``) carries
  no role and no group, so the breakdowns below cannot be cut finer by joining it;
- **small cells suppressed**: every breakdown by stakeholder role or opinion group (participants per role or
  group, and each statement's votes per role or group) goes through :func:`~facilitation.export.suppression.rollup`:
  no published row describes fewer than five people;
- **times coarsened to the minute** (rounded down), in Taiwan time with its offset
  (``2026-03-01T14:05+08:00``);
- **only accepted statements' text**: a pending, rejected or hidden statement keeps its row and counts but
  not its words (a host who hid it may have had a reason: a name, an address), and moderation reasons
  (the host's free text) are left out;
- **files Excel opens correctly**: UTF-8 with a byte-order mark, CRLF line ends (RFC 4180), and a text
  cell that starts like a formula gets a leading ``'`` (:func:`~facilitation.export.polis.neutralize`);
- **a data dictionary** (``data-dictionary.csv`` and ``README.md``, zh-TW and English) and the **Open
  Government Data License attribution statement** (``ATTRIBUTION.txt``, :mod:`facilitation.export.ogdl`).

The dictionary (:data:`TABLES`) is declared once: the writers emit columns in its order and a test holds
every file's header against it.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from facilitation.export.i18n import TAIPEI
from facilitation.export.ogdl import LICENSE_NAME_EN, LICENSE_NAME_ZH, LICENSE_URL, SPDX_ID, attribution
from facilitation.export.polis import neutralize
from facilitation.export.questions import question_of_statement
from facilitation.export.summary import Summary, VoteRecord, statement_number
from facilitation.export.suppression import SMALL_CELL, rollup

__all__ = ["TABLES", "Column", "Table", "minute", "opendata_tables", "write_opendata"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    """``integer``, ``text``, ``datetime`` (ISO 8601 to the minute, +08:00) or ``code`` (a value from a
    fixed list the description gives)."""
    zh: str
    en: str


@dataclass(frozen=True)
class Table:
    file: str
    zh: str
    en: str
    columns: tuple[Column, ...]

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


_VOTES = (
    Column("agree", "integer", "贊成票數", "agree votes"),
    Column("acceptable", "integer", "可接受票數（僅共識量表；傳統量表恆為 0）",
           "acceptable votes (consent scale only; always 0 on the classic scale)"),
    Column("disagree", "integer", "反對票數", "disagree votes"),
    Column("pass", "integer", "略過票數", "pass votes"),
)

_WORDS = {"agree": ("贊成", "agree"), "acceptable": ("可接受", "acceptable"), "pass": ("略過", "pass"),
          "disagree": ("反對", "disagree")}
MOVES = tuple((a, b) for a in _WORDS for b in _WORDS if a != b)
"""Every change of vote a round can show, in the order of the shift tables' columns."""
_SHIFT = (
    Column("voters", "integer", "該輪對此意見再表態的人數", "people who voted on it in the round"),
    Column("kept", "integer", "維持原表態的人數", "of them, who kept their vote"),
    Column("new", "integer", "之前未表態、該輪第一次表態的人數", "of them, who had not voted on it before"),
    *(Column(f"{a}_to_{b}", "integer", f"由{_WORDS[a][0]}改為{_WORDS[b][0]}的人數",
             f"of them, who changed from {_WORDS[a][1]} to {_WORDS[b][1]}") for a, b in MOVES),
)
"""A round's shift on one statement: voters = kept + new + every change (the report's "反對 → 可接受 2 人")."""

TABLES: tuple[Table, ...] = (
    Table("meeting.csv", "會議概況（一列）", "the meeting (one row)", (
        Column("code", "text", "會議代碼", "meeting code"),
        Column("title", "text", "會議名稱", "title"),
        Column("topic", "text", "議題", "topic"),
        Column("description", "text", "會議說明", "description"),
        Column("language", "code", "會議語言：zh-TW 或 en", "meeting language: zh-TW or en"),
        Column("scale", "code", "表態量表：consent（贊成／可接受／略過／反對）或 classic（贊成／略過／反對）",
               "vote scale: consent (agree/acceptable/pass/disagree) or classic (agree/pass/disagree)"),
        Column("started_at", "datetime", "會議建立時間", "when the meeting was created"),
        Column("ended_at", "datetime", "會議結束（或最後活動）時間", "when the meeting closed (or was last active)"),
        Column("participants", "integer", "加入的參與者人數", "participants who joined"),
        Column("voters", "integer", "至少表態一次的人數", "participants who voted at least once"),
        Column("questions", "integer", "議程的問題數（只有議題時為 1；各題見 questions.csv）",
               "questions on the agenda (1 when there is only the topic; each in questions.csv)"),
        Column("statements_accepted", "integer", "公開供表態的意見數", "statements open to votes"),
        Column("statements_total", "integer", "所有意見數（含待審、未採用、已隱藏）",
               "every statement, pending, rejected and hidden included"),
        Column("votes", "integer", "有效表態數（每人每則意見取最後一次）",
               "effective votes (the latest per participant and statement)"),
        Column("opinion_groups", "integer", "意見群組數", "opinion groups found"),
        Column("analysis", "code", "群組分析來源：published（現場投影所見）、computed（匯出時計算）、none（無表態）",
               "where the groups come from: published (what the room saw), computed (at export), none (no votes)"),
        Column("small_cell", "integer", "分類統計最少人數：未滿此數的角色或群組併入「其他」",
               "fewest people a breakdown row describes: smaller roles or groups are combined into 'other'"),
        Column("license", "text", "授權條款", "license"),
    )),
    Table("questions.csv", "議程的每個問題與其意見、表態及結論統計（全體見 meeting.csv）",
          "each question of the agenda with its statements, votes and conclusions (the whole meeting: meeting.csv)", (
        Column("question", "integer", "問題編號：與會議畫面相同，從 1 起；問題 1 是會議議題",
               "question number, as the meeting's screens show it, from 1; question 1 is the meeting's topic"),
        Column("text", "text", "問題內容", "the question"),
        Column("statements_accepted", "integer", "此問題下公開供表態的意見數", "its statements open to votes"),
        Column("statements_total", "integer", "此問題下所有意見數（含待審、未採用、已隱藏）",
               "every statement posted under it, pending, rejected and hidden included"),
        Column("voters", "integer", "對此問題至少一則意見表態的人數",
               "participants who voted on at least one of its statements"),
        Column("votes", "integer", "此問題各意見的有效表態數合計（= statements.csv 中此問題各列 votes 之和）",
               "effective votes on its statements (= the sum of votes over its rows in statements.csv)"),
        *_VOTES,
        Column("lane_acceptable", "integer", "結論為 acceptable 的意見數", "its statements in the acceptable lane"),
        Column("lane_disputed", "integer", "結論為 disputed 的意見數", "its statements in the disputed lane"),
        Column("lane_rejected", "integer", "結論為 rejected 的意見數", "its statements in the rejected lane"),
        Column("lane_needs_votes", "integer", "結論為 needs_votes 的意見數", "its statements that need votes"),
    )),
    Table("statements.csv", "每則意見與其表態統計", "every statement and its votes", (
        Column("statement", "integer", "意見編號：與會議畫面及會議報告相同，從 1 起",
               "statement number: as the meeting's screens and reports show it, from 1"),
        Column("question", "integer", "意見提出時所屬的問題編號（同 questions.csv）",
               "the question it was posted under (as in questions.csv)"),
        Column("text", "text", "意見內容；未公開（待審、未採用、已隱藏）的意見留空",
               "its text; empty for a statement that was not published (pending, rejected, hidden)"),
        Column("origin", "code", "來源：host（主持人預設）或 participant（參與者提出）",
               "who wrote it: host (seeded) or participant"),
        Column("state", "code", "狀態：accepted（已採用）、pending（審核中）、rejected（未採用）、hidden（已隱藏）",
               "state: accepted, pending, rejected or hidden"),
        Column("created_at", "datetime", "提出時間", "when it was written"),
        Column("votes", "integer", "有效表態數", "effective votes on it"),
        *_VOTES,
        Column("lane", "code",
               "結論：acceptable（每組多數可接受）、disputed（意見分歧）、rejected（每組多數反對）、needs_votes"
               "（需要更多表態）；未公開的意見留空",
               "conclusion: acceptable (most of every group accepts), disputed, "
               "rejected (most of every group opposes), needs_votes; "
               "empty for a statement that was not published"),
        Column("follow_up", "code",
               "機關後續回應：adopted（採納）、under_study（研議中）、not_adopted（不採納）；無則留空",
               "the agency's follow-up: adopted, under_study or not_adopted; empty when none"),
        Column("follow_up_response", "text", "機關回應內容", "the agency's response"),
        Column("follow_up_at", "datetime", "回應時間", "when the response was recorded"),
    )),
    Table("votes.csv", "每一筆有效表態（不含角色與群組）", "every effective vote (no role, no group)", (
        Column("participant", "integer", "參與者編號（匿名，僅在本會議內有意義）",
               "participant number (anonymous, meaningful within this meeting only)"),
        Column("statement", "integer", "意見編號", "statement number"),
        Column("vote", "code", "表態：agree（贊成）、acceptable（可接受）、pass（略過）、disagree（反對）",
               "vote: agree, acceptable, pass or disagree"),
        Column("at", "datetime", "表態時間（取至分鐘）", "when it was cast (to the minute)"),
    )),
    Table("roles.csv", "各利害關係人角色的人數（小於門檻者合併）",
          "participants per stakeholder role (small ones combined)", (
        Column("role", "text", "角色；「未填」為未選角色者，「其他」為未滿門檻而合併者",
               "role; 'not given' for participants who chose none, 'other' for those combined below the threshold"),
        Column("participants", "integer", "人數", "participants"),
        Column("voters", "integer", "至少表態一次的人數", "of them, who voted at least once"),
        Column("votes", "integer", "有效表態數", "their effective votes"),
    )),
    Table("groups.csv", "各意見群組的人數（小於門檻者合併）", "participants per opinion group (small ones combined)", (
        Column("group", "text", "意見群組；「未分組」為未被分入群組者，「其他」為未滿門檻而合併者",
               "opinion group; 'not in a group' for participants the analysis did not place, 'other' as above"),
        Column("participants", "integer", "人數", "participants"),
        Column("votes", "integer", "有效表態數", "their effective votes"),
    )),
    Table("statement_roles.csv", "每則意見依角色的表態（該意見上未滿門檻者合併）",
          "each statement's votes per role (combined below the threshold on that statement)", (
        Column("statement", "integer", "意見編號", "statement number"),
        Column("role", "text", "角色（同 roles.csv；在此意見上表態未滿門檻的角色合併為「其他」）",
               "role (as in roles.csv; roles with fewer voters than the threshold on this statement become 'other')"),
        Column("voters", "integer", "表態人數", "voters"),
        *_VOTES,
    )),
    Table("statement_groups.csv", "每則意見依意見群組的表態（該意見上未滿門檻者合併）",
          "each statement's votes per opinion group (combined below the threshold on that statement)", (
        Column("statement", "integer", "意見編號", "statement number"),
        Column("group", "text", "意見群組（同 groups.csv；在此意見上表態未滿門檻者合併為「其他」）",
               "opinion group (as in groups.csv; groups with fewer voters than the threshold here become 'other')"),
        Column("voters", "integer", "表態人數", "voters"),
        *_VOTES,
    )),
    Table("rounds.csv", "再表態：每輪每則意見，全體的表態變化",
          "rounds: each statement of each round, how everyone moved", (
        Column("round", "integer", "輪次：2 起（第 1 輪是最初的表態）", "round: from 2 (round 1 is the first votes)"),
        Column("statement", "integer", "意見編號", "statement number"),
        Column("question", "integer", "意見所屬的問題編號（同 questions.csv）", "its question (as in questions.csv)"),
        *_SHIFT,
    )),
    Table("round_roles.csv", "再表態：依角色的表態變化（該輪該意見上未滿門檻者合併）",
          "rounds: how each role moved (combined below the threshold among that statement's round voters)", (
        Column("round", "integer", "輪次", "round"),
        Column("statement", "integer", "意見編號", "statement number"),
        Column("role", "text", "角色（同 roles.csv；未滿門檻者合併為「其他」）",
               "role (as in roles.csv; below the threshold combined into 'other')"),
        *_SHIFT,
    )),
    Table("round_groups.csv", "再表態：依意見群組的表態變化（該輪該意見上未滿門檻者合併）",
          "rounds: how each opinion group moved (combined below the threshold among that statement's round voters)", (
        Column("round", "integer", "輪次", "round"),
        Column("statement", "integer", "意見編號", "statement number"),
        Column("group", "text", "意見群組（同 groups.csv；未滿門檻者合併為「其他」）",
               "opinion group (as in groups.csv; below the threshold combined into 'other')"),
        *_SHIFT,
    )),
    Table("timeline.csv", "會議流程與審核紀錄（不含審核理由）", "phases and moderation (without reasons)", (
        Column("at", "datetime", "時間（取至分鐘）", "when (to the minute)"),
        Column("action", "code", "動作：phase（階段轉換）、accept（採用）、reject（不採用）、hide（隱藏）",
               "action: phase (change of phase), accept, reject or hide"),
        Column("from_phase", "code",
               "原階段：lobby（準備中）、collecting（蒐集意見）、voting（表態）、reviewing（檢視結果）、"
               "closed（已結束）",
               "phase before: lobby, collecting, voting, reviewing or closed"),
        Column("to_phase", "code", "新階段（同上）", "phase after (as above)"),
        Column("statement", "integer", "審核的意見編號", "the moderated statement's number"),
    )),
    Table("data-dictionary.csv", "資料說明（本表）", "data dictionary (this table)", (
        Column("file", "text", "檔案", "file"),
        Column("column", "text", "欄位", "column"),
        Column("type", "code", "型態：integer、text、datetime（ISO 8601，取至分鐘，+08:00）、code（說明所列之值）",
               "type: integer, text, datetime (ISO 8601 to the minute, +08:00) or code (a value the description "
               "lists)"),
        Column("description_zh", "text", "中文說明", "description in Traditional Chinese"),
        Column("description_en", "text", "英文說明", "description in English"),
    )),
)

_LABELS = {
    "zh-TW": {"other": "其他", "no_role": "未填", "no_group": "未分組", "dataset": "{title} 會議開放資料 第1版"},
    "en": {"other": "other", "no_role": "not given", "no_group": "not in a group",
           "dataset": "{title} meeting open data, version 1"},
}


def minute(at: float) -> str:
    """A time rounded down to the minute, in Taiwan time: ``2026-03-01T14:05+08:00``."""
    return datetime.fromtimestamp(math.floor(at / 60) * 60, TAIPEI).isoformat(timespec="minutes")


def _label(language: str, key: str) -> str:
    return _LABELS.get(language, _LABELS["zh-TW"])[key]


def _other(language: str, taken: Iterable[str]) -> str:
    """The combined row's name, never the same as a real role or group (a host may call a role 其他)."""
    name, names = _label(language, "other"), set(taken)
    while name in names:
        name += "*"
    return name


def _tally(votes: Iterable[VoteRecord]) -> list[int]:
    counts = Counter(v.value for v in votes)
    return [counts["agree"], counts["acceptable"], counts["disagree"], counts["pass"]]


def _breakdown_rows(statement_votes: Mapping[int, list[VoteRecord]], category_of: Mapping[int, str],
                    other: str) -> list[list[Any]]:
    """Per statement, votes per category, each statement's categories rolled up on its own voters."""
    rows: list[list[Any]] = []
    for sid in sorted(statement_votes):
        by_category: dict[str, list[VoteRecord]] = {}
        for v in statement_votes[sid]:
            by_category.setdefault(category_of[v.participant], []).append(v)
        published = rollup({c: len(vs) for c, vs in by_category.items()}, other)
        merged: dict[str, list[VoteRecord]] = {}
        for c, vs in by_category.items():
            merged.setdefault(published[c], []).extend(vs)
        for name in sorted(merged, key=lambda n: (n == other, n)):
            rows.append([statement_number(sid), name, len(merged[name]), *_tally(merged[name])])
    return rows


def _question_rows(summary: Summary, questions: Sequence[tuple[int, str]],
                   question_of: Mapping[int, int]) -> list[list[Any]]:
    """One row per question, every figure summed from the rows statements.csv and votes.csv give it (a
    statement without an agenda, or posted before one, is under question 1, the topic)."""
    rows = []
    for number, text in questions:
        mine = [s for s in summary.statements if question_of.get(s.id, 1) == number]
        accepted = [s for s in mine if s.state == "accepted"]
        ids = {s.id for s in mine}
        voters = {v.participant for v in summary.votes if v.statement in ids}
        lanes = Counter(s.lane for s in accepted)
        rows.append([number, text, len(accepted), len(mine), len(voters), sum(s.tally.seen for s in mine),
                     sum(s.tally.agree for s in mine), sum(s.tally.acceptable for s in mine),
                     sum(s.tally.disagree for s in mine), sum(s.tally.passed for s in mine),
                     lanes["acceptable"], lanes["disputed"], lanes["rejected"], lanes["needs_votes"]])
    return rows


def _shift(votes: Iterable[tuple[int, str, str]]) -> list[int]:
    """voters, kept, new and each change of :data:`MOVES`, over (participant, before or "", vote) triples."""
    cells = Counter((before, value) for _, before, value in votes)
    voters = sum(cells.values())
    kept = sum(n for (before, value), n in cells.items() if before == value)
    new = sum(n for (before, _), n in cells.items() if not before)
    return [voters, kept, new, *(cells[move] for move in MOVES)]


def _round_rows(summary: Summary, category_of: Mapping[int, str] | None, other: str,
                question_of: Mapping[int, int]) -> list[list[Any]]:
    """Each round's statements: everyone's shift (``category_of`` None, with the statement's question), or the
    shift per category, categories rolled up on that statement's round voters as the other breakdowns are."""
    rows: list[list[Any]] = []
    for r in summary.rounds:
        for st in r.statements:
            if category_of is None:
                rows.append([r.round, statement_number(st.statement), question_of.get(st.statement, 1),
                             *_shift(st.votes)])
                continue
            by_category: dict[str, list[tuple[int, str, str]]] = {}
            for vote in st.votes:
                by_category.setdefault(category_of[vote[0]], []).append(vote)
            published = rollup({c: len(vs) for c, vs in by_category.items()}, other)
            merged: dict[str, list[tuple[int, str, str]]] = {}
            for c, vs in by_category.items():
                merged.setdefault(published[c], []).extend(vs)
            for name in sorted(merged, key=lambda n: (n == other, n)):
                rows.append([r.round, statement_number(st.statement), name, *_shift(merged[name])])
    return rows


def opendata_tables(summary: Summary) -> dict[str, list[list[Any]]]:
    """Every CSV file's rows (header first), keyed by file name, as :data:`TABLES` declares them."""
    lang = summary.language
    no_role, no_group = _label(lang, "no_role"), _label(lang, "no_group")
    statements = summary.statements
    published_text = {s.id for s in statements if s.state == "accepted"}
    votes = sorted(summary.votes, key=lambda v: (v.at, v.participant, v.statement))
    votes_of: dict[int, list[VoteRecord]] = {}
    for v in votes:
        votes_of.setdefault(v.participant, []).append(v)
    by_statement: dict[int, list[VoteRecord]] = {}
    for v in votes:
        by_statement.setdefault(v.statement, []).append(v)

    role = {p.id: p.role or no_role for p in summary.participants}
    group_of = {m.participant: m.group for m in summary.map if m.group is not None}
    group = {p.id: group_of.get(p.id) or no_group for p in summary.participants}
    role_other = _other(lang, role.values())
    group_other = _other(lang, group.values())
    role_published = rollup(Counter(role.values()), role_other)
    group_published = rollup(Counter(group.values()), group_other)
    role_of = {pid: role_published[r] for pid, r in role.items()}
    group_of_published = {pid: group_published[g] for pid, g in group.items()}

    def per_category(category_of: Mapping[int, str], other: str, with_voters: bool) -> list[list[Any]]:
        people: dict[str, list[int]] = {}
        for pid, name in category_of.items():
            people.setdefault(name, []).append(pid)
        order = sorted(people, key=lambda n: (n == other, n))
        rows = []
        for name in order:
            members = people[name]
            voters = sum(1 for pid in members if votes_of.get(pid))
            cast = sum(len(votes_of.get(pid, ())) for pid in members)
            rows.append([name, len(members), voters, cast] if with_voters else [name, len(members), cast])
        return rows

    tables = {t.file: t for t in TABLES}
    out: dict[str, list[list[Any]]] = {name: [t.header] for name, t in tables.items()}
    p = summary.participation
    question_of = question_of_statement(summary.questions)
    questions = [(q.number, q.text) for q in summary.questions] or [(1, summary.topic or summary.title)]
    out["meeting.csv"].append([
        summary.code, summary.title, summary.topic, summary.description, summary.language, summary.scale,
        minute(summary.started_at), minute(summary.ended_at), p.participants, p.voters, len(questions),
        p.statements,
        p.statements_total, p.votes, len(summary.groups), summary.analysis.source, SMALL_CELL,
        f"{LICENSE_NAME_ZH} {LICENSE_NAME_EN} ({SPDX_ID}) {LICENSE_URL}",
    ])
    for s in statements:
        shown = s.id in published_text
        f = s.follow_up
        out["statements.csv"].append([
            statement_number(s.id), question_of.get(s.id, 1), s.text if shown else "",
            "host" if s.seed else "participant", s.state,
            minute(s.created_at),
            s.tally.seen, s.tally.agree, s.tally.acceptable, s.tally.disagree, s.tally.passed,
            (s.lane or "") if shown else "",
            "" if f is None else f.status, "" if f is None else f.response, "" if f is None else minute(f.at),
        ])
    out["questions.csv"].extend(_question_rows(summary, questions, question_of))
    out["votes.csv"].extend([v.participant, statement_number(v.statement), v.value, minute(v.at)] for v in votes)
    out["roles.csv"].extend(per_category(role_of, role_other, True))
    out["groups.csv"].extend(per_category(group_of_published, group_other, False))
    out["statement_roles.csv"].extend(_breakdown_rows(by_statement, role_of, role_other))
    out["statement_groups.csv"].extend(_breakdown_rows(by_statement, group_of_published, group_other))
    out["rounds.csv"].extend(_round_rows(summary, None, "", question_of))
    out["round_roles.csv"].extend(_round_rows(summary, role_of, role_other, question_of))
    out["round_groups.csv"].extend(_round_rows(summary, group_of_published, group_other, question_of))
    for entry in summary.moderation_log:
        if entry.action == "phase":
            out["timeline.csv"].append([minute(entry.at), "phase", entry.from_phase, entry.to_phase, ""])
        elif entry.action in ("accept", "reject", "hide"):
            out["timeline.csv"].append([minute(entry.at), entry.action, "", "",
                                        "" if entry.statement is None else statement_number(entry.statement)])
    out["data-dictionary.csv"].extend(
        [t.file, c.name, c.kind, c.zh, c.en] for t in TABLES for c in t.columns
    )
    return out


def _write_csv(path: Path, rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerows([neutralize(x) if isinstance(x, str) else x for x in row] for row in rows)


def _readme(summary: Summary, agency: str, zh: str, en: str) -> str:
    files_zh = "\n".join(f"- `{t.file}`：{t.zh}" for t in TABLES)
    files_en = "\n".join(f"- `{t.file}`: {t.en}" for t in TABLES)
    return f"""# {summary.title}（{summary.code}）

## 顯名聲明 Attribution

```
{zh}
```

```
{en}
```

本資料依「{LICENSE_NAME_ZH}」釋出；該條款與「創用CC 姓名標示 4.0 國際版」相容（條款第四點第二項）。
Released under the {LICENSE_NAME_EN}, which is compatible with Creative Commons Attribution 4.0 International
(its section 4.2).

## 檔案

{files_zh}

各欄位的型態與說明見 `data-dictionary.csv`（中文、英文）。檔案為 UTF-8（含 BOM）編碼之 CSV。

## 去識別化

- 不含暱稱、代碼或任何個人資料；參與者以編號表示。`votes.csv` 不含角色與群組。
- 依角色或意見群組的統計，每列至少 {SMALL_CELL} 人：未滿者併入「{_label('zh-TW', 'other')}」，
  若合併後仍未滿 {SMALL_CELL} 人，再併入最小的類別，直到滿 {SMALL_CELL} 人。
- 時間取至分鐘（無條件捨去），為臺灣時間（+08:00）。
- 未公開的意見（待審、未採用、已隱藏）不含內容；不含審核理由。

## Files

{files_en}

Column types and descriptions (Traditional Chinese and English): `data-dictionary.csv`. CSV files are UTF-8
with a byte-order mark.

## De-identification

- No nicknames, tokens or other personal data; participants are numbers. `votes.csv` has no role or group.
- Every row of a breakdown by role or opinion group describes at least {SMALL_CELL} people: smaller ones
  are combined into "{_label('en', 'other')}" (「{_label('zh-TW', 'other')}」), and while that row holds
  fewer than {SMALL_CELL}, the smallest shown category joins it.
- Times are rounded down to the minute, in Taiwan time (+08:00).
- Statements that were not published (pending, rejected, hidden) have no text; moderation reasons are left out.

資料提供機關 Data providing agency: {agency}
"""


def write_opendata(summary: Summary, folder: str | Path, *, agency: str, dataset: str = "",
                   year: int | None = None) -> list[Path]:
    """Write the package into ``folder`` (created if needed); returns the files written.

    ``agency`` is the providing agency the attribution statement names (required: the license makes the
    statement mandatory); ``dataset`` its name and version (default: the title and 第1版); ``year`` the
    release year (default: the year the summary was generated, Taiwan time).
    """
    agency = agency.strip()
    if not agency:
        raise ValueError("the open-data attribution statement names the providing agency: give --agency NAME")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    name = dataset.strip() or _label(summary.language, "dataset").format(title=summary.title)
    released = year or datetime.fromtimestamp(summary.generated_at, TAIPEI).year
    zh, en = attribution(agency, released, name)
    paths = []
    for file, rows in opendata_tables(summary).items():
        _write_csv(out / file, rows)
        paths.append(out / file)
    (out / "ATTRIBUTION.txt").write_text(f"{zh}\n\n{en}\n", encoding="utf-8")
    (out / "README.md").write_text(_readme(summary, agency, zh, en), encoding="utf-8")
    return [*paths, out / "ATTRIBUTION.txt", out / "README.md"]
