"""The speaking queue in the reports (issue 23): was every side heard? Finished turns and speaking time by
stakeholder role and by opinion group (the group the report shows each speaker in), and the roles present in
the room that never had the floor, from the turns the log keeps (:mod:`facilitation.core.commands.floor`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facilitation.core.commands.agenda import Agenda, QuestionChanged
from facilitation.core.commands.floor import Floor
from facilitation.core.events import Event

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting
    from facilitation.export.i18n import Catalog

__all__ = ["FloorInfo", "QuestionFloor", "SpeakingShare", "floor_info", "floor_lines"]


@dataclass(frozen=True, slots=True)
class SpeakingShare:
    name: str
    """A role ("" for none given) or an opinion group ("" for speakers the map did not place)."""
    turns: int
    seconds: float


@dataclass(frozen=True, slots=True)
class QuestionFloor:
    """The turns that began while the room was on one question of the agenda."""

    question: int
    """Its number, from 1."""
    turns: int
    seconds: float
    by_role: tuple[SpeakingShare, ...]
    unheard_roles: tuple[str, ...]
    """Roles someone in the room gave that had no turn on this question."""


@dataclass(frozen=True, slots=True)
class FloorInfo:
    turns: int
    seconds: float
    by_role: tuple[SpeakingShare, ...]
    by_group: tuple[SpeakingShare, ...]
    unheard_roles: tuple[str, ...]
    """Roles someone in the room gave that had no turn (no role given is not a side)."""
    asked: int
    """People still in the queue when the report was made."""
    by_question: tuple[QuestionFloor, ...] = ()
    """With an agenda: the same per question (a turn counts where it began); empty without one."""


def _shares(turns: list[dict[str, object]], key: Mapping[int, str] | None) -> tuple[SpeakingShare, ...]:
    totals: dict[str, list[float]] = {}
    for turn in turns:
        name = str(turn["role"]) if key is None else key.get(int(str(turn["participant"])), "")
        row = totals.setdefault(name, [0, 0.0])
        row[0] += 1
        row[1] += float(str(turn["ended_at"])) - float(str(turn["started_at"]))
    return tuple(SpeakingShare(name, int(n), round(s, 1)) for name, (n, s) in sorted(totals.items()))


def floor_info(meeting: Meeting, group_of: Mapping[int, str], events: Iterable[Event] = ()) -> FloorInfo | None:
    """None when nobody ever asked for the floor; ``events`` (the log) places each turn in the question the
    room was on when it began."""
    floor = meeting.part(Floor)
    if not floor.turns and not floor.queue and floor.speaking is None:
        return None
    by_role = _shares(floor.turns, None)
    spoke = {s.name for s in by_role}
    present = sorted({p.role for p in meeting.participants.values() if p.role})
    return FloorInfo(len(floor.turns), round(sum(s.seconds for s in by_role), 1), by_role,
                     _shares(floor.turns, group_of), tuple(r for r in present if r not in spoke), len(floor.queue),
                     _by_question(meeting, floor.turns, present, events))


def _by_question(meeting: Meeting, turns: list[dict[str, object]], present: list[str],
                 events: Iterable[Event]) -> tuple[QuestionFloor, ...]:
    questions = len(meeting.part(Agenda).questions)
    if questions == 1:
        return ()
    moves = sorted((e.at, e.to_question) for e in events if isinstance(e, QuestionChanged))

    def question_at(at: float) -> int:
        index = bisect.bisect_right(moves, (at, questions)) - 1
        return moves[index][1] if index >= 0 else 0

    out = []
    for question in range(questions):
        mine = [t for t in turns if question_at(float(str(t["started_at"]))) == question]
        shares = _shares(mine, None)
        spoke = {s.name for s in shares}
        out.append(QuestionFloor(question + 1, len(mine), round(sum(s.seconds for s in shares), 1), shares,
                                 tuple(r for r in present if r not in spoke)))
    return tuple(out)


def _duration(seconds: float, cat: Catalog) -> str:
    s = round(seconds)
    return cat.t("floor.report_time", m=s // 60, s=s % 60)


def floor_lines(info: FloorInfo, cat: Catalog) -> list[str]:
    """Turns and time by role, then by group, then the roles never heard, in the meeting's language."""
    lines = [cat.t("floor.report_turns", n=info.turns, time=_duration(info.seconds, cat))]
    for s in info.by_role:
        lines.append(cat.t("floor.report_row", name=s.name or cat.t("spotlight.no_role"), n=s.turns,
                           time=_duration(s.seconds, cat)))
    for s in info.by_group:
        name = cat.t("spotlight.group", group=s.name) if s.name else cat.t("spotlight.no_group")
        lines.append(cat.t("floor.report_row", name=name, n=s.turns, time=_duration(s.seconds, cat)))
    lines.append(cat.t("floor.report_unheard", list="、".join(info.unheard_roles)) if info.unheard_roles
                 else cat.t("floor.report_all_heard"))
    separator = "；" if cat.language == "zh-TW" else "; "
    for q in info.by_question:  # one line per question: its turns, by role, and who was not heard on it
        parts = [cat.t("floor.report_turns", n=q.turns, time=_duration(q.seconds, cat))]
        parts += [cat.t("floor.report_row", name=s.name or cat.t("spotlight.no_role"), n=s.turns,
                        time=_duration(s.seconds, cat)) for s in q.by_role]
        if q.unheard_roles:
            parts.append(cat.t("floor.report_unheard", list="、".join(q.unheard_roles)))
        lines.append(f"{cat.t('agenda.of_question', n=q.question)}{cat.t('colon')}{separator.join(parts)}")
    return lines
