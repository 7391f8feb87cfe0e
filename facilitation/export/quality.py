"""Would any lane change without the flagged voters? (issue 24) The reports' check on the voting-quality flags.

``clustering.quality`` flags people who gave the same answer to nearly everything or voted faster than the
cards can be read. A flag is a question, not a verdict, so the reports do not drop anyone: they run the
analysis again without the flagged people (and without anyone the host already excluded) and say which
statements would land in another lane. "No lane changes" is then a checkable claim: the flagged votes did
not decide any outcome.

The flags here are counted over every vote in the log with its time (a changed vote counts again, as
``clustering.quality.flags`` expects), so they match what the host was shown live when the server saw every
vote arrive.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from facilitation.core.commands.exclusion import excluded
from facilitation.core.events import Event, VoteCast
from facilitation.core.meeting import Meeting, StatementState
from facilitation.core.vocabulary import VOTE_WEIGHTS

__all__ = ["ExclusionCheck", "LaneChange", "QualityCheck", "exclusion_check", "quality_check"]

MODERATED_OUT = frozenset({StatementState.REJECTED, StatementState.HIDDEN})


@dataclass(frozen=True)
class LaneChange:
    statement: int
    lane: str
    """Its lane in the report."""
    without: str
    """Its lane without the flagged voters."""


@dataclass(frozen=True)
class QualityCheck:
    flagged: tuple[int, ...]
    """Participants the voting-quality checks flagged."""
    same_answer: int
    """How many of them gave the same answer to nearly everything."""
    too_fast: int
    """How many voted faster than the cards can be read."""
    compared: bool
    """Whether the lanes were compared (False: the report has no lanes, or nobody is left without them)."""
    changes: tuple[LaneChange, ...] = ()
    """Statements whose lane differs without the flagged voters (empty: none changes)."""


@dataclass(frozen=True)
class ExclusionCheck:
    """The participants the host left out of the analysis, why the flags would say, and what their votes
    would change: the report's lanes are without them, so the question is the other way round."""

    excluded: tuple[int, ...]
    same_answer: int
    """How many of them the voting-quality checks flag for the same answer to nearly everything."""
    too_fast: int
    """How many for voting faster than the cards can be read."""
    unflagged: int
    """How many no check flags (the host excluded them for a reason of their own)."""
    compared: bool
    """Whether the lanes were compared (False: the report has no lanes)."""
    changes: tuple[LaneChange, ...] = ()
    """Statements whose lane differs with their votes put back: ``lane`` the report's, ``without`` here the
    lane *with* them (empty: none changes)."""


def _flags(meeting: Meeting, events: Sequence[Event]) -> list[Any]:
    """``clustering.quality.flags`` over every vote in the log with its time (the excluded included)."""
    from clustering.quality import flags, reading_seconds

    cast = [e for e in events if isinstance(e, VoteCast) and e.participant in meeting.participants]
    if not cast:
        return []
    return flags(np.array([e.participant for e in cast]), np.array([e.statement for e in cast]),
                 np.array([VOTE_WEIGHTS[e.value] for e in cast], dtype=np.float64),
                 np.array([e.at for e in cast], dtype=np.float64),
                 {s.id: reading_seconds(s.text) for s in meeting.statements.values()},
                 {s.id: s.author for s in meeting.statements.values() if s.author is not None})


def _lane_changes(meeting: Meeting, lanes: Mapping[str, str], left_out: set[int]) -> tuple[LaneChange, ...] | None:
    """The statements of ``lanes`` (the report's) whose lane differs in an analysis of every vote but those of
    ``left_out``; None when nobody's votes are left to analyse."""
    from clustering import analyze

    triples = [(p, s, VOTE_WEIGHTS[v]) for p, mine in meeting.votes.items() if p not in left_out
               for s, v in mine.items()]
    if not triples:
        return None
    roles: dict[Hashable, str] = {p.id: p.role for p in meeting.participants.values() if p.role}
    other = analyze(triples, moderated_out=frozenset(s.id for s in meeting.statements.values()
                                                      if s.state in MODERATED_OUT),
                    roles=roles or None, random_state=0,
                    statements=[s.id for s in meeting.accepted_statements()]).lanes
    return tuple(LaneChange(int(s), lane, str(other.get(int(s), "")))
                 for s, lane in sorted(lanes.items(), key=lambda item: int(item[0]))
                 if str(other.get(int(s), "")) != lane)


def quality_check(meeting: Meeting, events: Sequence[Event], lanes: Mapping[str, str]) -> QualityCheck | None:
    """The flags over the log's votes and what the lanes (``lanes``: statement id as text -> lane, the
    report's) would be without the flagged; None when nobody is flagged."""
    found = _flags(meeting, events)
    if not found:
        return None
    flagged = tuple(sorted(int(str(f.participant)) for f in found))
    same = sum("same_answer" in f.reasons for f in found)
    fast = sum("too_fast" in f.reasons for f in found)
    changes = _lane_changes(meeting, lanes, set(flagged) | excluded(meeting)) if lanes else None
    if changes is None:
        return QualityCheck(flagged, same, fast, False)
    return QualityCheck(flagged, same, fast, True, changes)


def exclusion_check(meeting: Meeting, events: Sequence[Event], lanes: Mapping[str, str]) -> ExclusionCheck | None:
    """Who the host excluded, with the flags each has, and what the report's lanes (statement id as text ->
    lane) would be with their votes put back; None when nobody is excluded."""
    left_out = excluded(meeting)
    if not left_out:
        return None
    reasons = {int(str(f.participant)): f.reasons for f in _flags(meeting, events)}
    mine = [reasons.get(p, ()) for p in left_out]
    changes = _lane_changes(meeting, lanes, set()) if lanes else None
    return ExclusionCheck(tuple(sorted(left_out)), sum("same_answer" in r for r in mine),
                          sum("too_fast" in r for r in mine), sum(not r for r in mine),
                          changes is not None, changes or ())
