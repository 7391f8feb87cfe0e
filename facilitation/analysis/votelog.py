"""A meeting's votes as growable numpy arrays, kept up to date from the event stream.

Why not read ``meeting.votes`` at each run: at 20,000 x 2,000 it is a dict of dicts that takes seconds
of pure Python to walk, on the event loop. The log instead appends one (participant, statement, code)
row per delivered vote (~0.3 µs) and a run takes a copy of the filled prefix (a memcpy). Changed votes are
appended again, later rows win (the library's rule); the worker hands back a compacted copy when the log
has grown well past the distinct pairs (:meth:`replace_prefix`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from facilitation.analysis.worker import VALUE_CODES
from facilitation.core.commands.exclusion import AnalysisExcluded
from facilitation.core.events import (
    Event,
    ParticipantJoined,
    ProfileChanged,
    StatementModerated,
    StatementPosted,
    VoteCast,
)
from facilitation.core.meeting import Meeting

__all__ = ["VoteLog"]

INITIAL_CAPACITY = 1024


def _grow(array: NDArray[np.generic], need: int, fill: float = 0) -> NDArray[np.generic]:
    if need <= len(array):
        return array
    bigger = np.full(max(need, 2 * len(array)), fill, dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class VoteLog:
    """Votes (coordinate form) and stakeholder roles of one meeting, fed by its events."""

    def __init__(self, role_names: tuple[str, ...]) -> None:
        self.role_names = role_names
        self._role_index = {name: i for i, name in enumerate(role_names)}
        self.participants: NDArray[np.int32] = np.zeros(INITIAL_CAPACITY, dtype=np.int32)
        self.statements: NDArray[np.int32] = np.zeros(INITIAL_CAPACITY, dtype=np.int32)
        self.values: NDArray[np.int8] = np.zeros(INITIAL_CAPACITY, dtype=np.int8)
        self.roles: NDArray[np.int16] = np.full(INITIAL_CAPACITY, -1, dtype=np.int16)
        self.times: NDArray[np.float64] = np.full(INITIAL_CAPACITY, np.nan)
        """When each vote was cast (the event's ``at``), NaN for votes loaded from the store or compacted:
        the voting-quality flags time only the votes this server saw arrive."""
        self.size = 0
        self.n_participants = 0
        self.seen_seq = 0
        """Events at or below this sequence number are already in the log (a bus may redeliver)."""

    @classmethod
    def from_meeting(cls, meeting: Meeting) -> VoteLog:
        """The log of a meeting loaded from the store: one pass over its latest votes."""
        log = cls(meeting.settings.roles)
        ps: list[int] = []
        ss: list[int] = []
        vs: list[int] = []
        codes = VALUE_CODES
        for participant, mine in meeting.votes.items():
            ps.extend([participant] * len(mine))
            ss.extend(mine.keys())
            vs.extend(codes[v] for v in mine.values())
        n = len(ps)
        log.participants = _grow(log.participants, n)  # type: ignore[assignment]
        log.statements = _grow(log.statements, n)  # type: ignore[assignment]
        log.values = _grow(log.values, n)  # type: ignore[assignment]
        log.times = _grow(log.times, n, np.nan)  # type: ignore[assignment]
        log.participants[:n] = ps
        log.statements[:n] = ss
        log.values[:n] = vs
        log.size = n
        for p in meeting.participants.values():
            log.set_role(p.id, p.role)
        log.seen_seq = meeting.seq
        return log

    def set_role(self, participant: int, role: str) -> None:
        self.roles = _grow(self.roles, participant + 1, -1)  # type: ignore[assignment]
        self.roles[participant] = self._role_index.get(role, -1)
        self.n_participants = max(self.n_participants, participant + 1)

    def add_vote(self, participant: int, statement: int, value: str, at: float = np.nan) -> None:
        n = self.size
        if n == len(self.participants):
            self.participants = _grow(self.participants, n + 1)  # type: ignore[assignment]
            self.statements = _grow(self.statements, n + 1)  # type: ignore[assignment]
            self.values = _grow(self.values, n + 1)  # type: ignore[assignment]
        if n >= len(self.times):
            self.times = _grow(self.times, len(self.participants), np.nan)  # type: ignore[assignment]
        self.times[n] = at
        self.participants[n] = participant
        self.statements[n] = statement
        self.values[n] = VALUE_CODES[value]
        self.size = n + 1

    def feed(self, events: Iterable[Event]) -> bool:
        """Fold new events in; True when one can change an analysis (a vote, a role, a statement's state)."""
        changed = False
        for event in events:
            if event.seq <= self.seen_seq:
                continue
            self.seen_seq = event.seq
            if isinstance(event, VoteCast):
                self.add_vote(event.participant, event.statement, event.value, event.at)
                changed = True
            elif isinstance(event, ParticipantJoined | ProfileChanged):
                before = self.roles[event.participant] if event.participant < len(self.roles) else -1
                self.set_role(event.participant, event.role)
                changed = changed or bool(self.roles[event.participant] != before)
            elif isinstance(event, StatementPosted | StatementModerated | AnalysisExcluded):
                changed = True
        return changed

    def snapshot(self) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int8], NDArray[np.int16]]:
        """Copies of the filled prefix: what a job ships to a worker."""
        n = self.size
        return (self.participants[:n].copy(), self.statements[:n].copy(), self.values[:n].copy(),
                self.roles[: self.n_participants].copy())

    def timestamps(self) -> NDArray[np.float64]:
        """A copy of the filled prefix's vote times (parallel to :meth:`snapshot`'s arrays)."""
        return self.times[: self.size].copy()

    def replace_prefix(self, upto: int, participants: NDArray[np.int32], statements: NDArray[np.int32],
                       values: NDArray[np.int8]) -> None:
        """Swap the first ``upto`` rows for their compacted equivalent; rows appended since are kept."""
        tail = slice(upto, self.size)
        n = len(participants) + (self.size - upto)
        new_p = np.zeros(max(n * 2, INITIAL_CAPACITY), dtype=np.int32)
        new_s = np.zeros_like(new_p)
        new_v = np.zeros(len(new_p), dtype=np.int8)
        k = len(participants)
        new_p[:k], new_s[:k], new_v[:k] = participants, statements, values
        new_p[k:n], new_s[k:n], new_v[k:n] = self.participants[tail], self.statements[tail], self.values[tail]
        new_t = np.full(len(new_p), np.nan)  # compacted rows lose their times (see ``times``)
        new_t[k:n] = self.times[tail]
        self.participants, self.statements, self.values, self.times, self.size = new_p, new_s, new_v, new_t, n
