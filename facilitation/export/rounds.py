"""Rounds and opinion shift in the reports (issue 23): for every round after the first, each statement's votes
before it (everyone's vote when it opened) and in it, and who moved from what to what by stakeholder role and
by opinion group, counted by :func:`facilitation.core.commands.rounds.shift` from the round's tables, which the
log rebuilds exactly. The summary's JSON holds these figures; Markdown and HTML print them as the projector did
("住戶：反對 → 可接受 2 人 · 維持 1 人"); the Pol.is folder gets ``rounds.csv`` with one row per vote cast in a
round and the vote it replaced, so every count can be checked against the votes.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facilitation.core.commands.agenda import question_of
from facilitation.core.commands.rounds import Rounds, shift

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting
    from facilitation.export.i18n import Catalog

__all__ = ["RoundInfo", "RoundStatement", "round_lines", "round_shifts", "write_rounds_csv"]


@dataclass(frozen=True, slots=True)
class RoundStatement:
    statement: int
    text: str
    before: dict[str, int]
    """Vote value -> how many had that vote on it when the round opened."""
    after: dict[str, int]
    """Vote value -> how many voted that in the round (their last vote in it)."""
    by_role: dict[str, dict[str, Any]]
    """Role ("" for none) -> ``{voted, kept, new, moved: {"from->to": n}}`` (:func:`shift`)."""
    by_group: dict[str, dict[str, Any]]
    """Opinion group ("" for people the map did not place) -> the same."""
    votes: tuple[tuple[int, str, str], ...]
    """The round's votes: (participant, before or "", value), for rounds.csv."""
    question: int = 1
    """The number (from 1) of the agenda's question the statement belongs to (1, the topic, without one)."""


@dataclass(frozen=True, slots=True)
class RoundInfo:
    round: int
    opened_at: float
    closed_at: float | None
    statements: tuple[RoundStatement, ...]


def _counts(values: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def round_shifts(meeting: Meeting, group_of: Mapping[int, str]) -> tuple[RoundInfo, ...]:
    """Every round of ``meeting`` (2, 3, ...) with each statement's shift; ``group_of``: participant -> the
    opinion group the report shows them in."""
    role_of = {p.id: p.role for p in meeting.participants.values()}
    out = []
    for r in meeting.part(Rounds).rounds:
        statements = []
        for sid in r.statements:
            before, after = r.before.get(sid, {}), r.after.get(sid, {})
            statement = meeting.statements.get(sid)
            statements.append(RoundStatement(
                sid, "" if statement is None else statement.text, _counts(list(before.values())),
                _counts(list(after.values())), shift(before, after, lambda p: role_of.get(p, "")),
                shift(before, after, lambda p: group_of.get(p, "")),
                tuple((p, before.get(p, ""), v) for p, v in sorted(after.items())), question_of(meeting, sid) + 1))
        out.append(RoundInfo(r.number, r.opened_at, r.closed_at, tuple(statements)))
    return tuple(out)


def _line(label: str, row: Mapping[str, Any], cat: Catalog) -> str:
    parts = [cat.t("round.moved", **{"from": cat.vote(move.split("->")[0]), "to": cat.vote(move.split("->")[1])},
                   n=n) for move, n in sorted(row["moved"].items(), key=lambda item: -item[1])]
    if row["kept"]:
        parts.append(cat.t("round.kept", n=row["kept"]))
    if row["new"]:
        parts.append(cat.t("round.fresh", n=row["new"]))
    return f"{label}：{' · '.join(parts)}" if cat.language == "zh-TW" else f"{label}: {' · '.join(parts)}"


def round_lines(info: RoundInfo, statement: RoundStatement, cat: Catalog) -> list[str]:
    """What moved on one statement, one line per role then per opinion group, as the projector showed it."""
    lines = [cat.t("round.count", round=info.round, n=sum(statement.after.values()),
                   before=sum(statement.before.values()))]
    lines.append(cat.t("round.before_after",
                       before=" · ".join(f"{cat.vote(v)} {n}" for v, n in statement.before.items()) or "-",
                       after=" · ".join(f"{cat.vote(v)} {n}" for v, n in statement.after.items()) or "-"))
    for role, row in statement.by_role.items():
        lines.append(_line(role or cat.t("spotlight.no_role"), row, cat))
    for group, row in statement.by_group.items():
        lines.append(_line(cat.t("spotlight.group", group=group) if group else cat.t("spotlight.no_group"), row, cat))
    return lines


def write_rounds_csv(rounds: Sequence[RoundInfo], path: Path, participant: Any, statement: Any) -> None:
    """One row per vote cast in a round: round, comment-id, voter-id, the vote before it ("" if none), the vote
    (``participant`` and ``statement`` map our ids to the folder's)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["round", "comment-id", "voter-id", "before", "vote"])
        for r in rounds:
            for s in r.statements:
                for p, before, value in s.votes:
                    writer.writerow([r.round, statement(s.statement), participant(p), before, value])
