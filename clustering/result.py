"""The frozen result of one analysis, and its JSON form.

Everything is plain data (tuples, dicts, floats, numpy arrays in the private warm-start state), so a
result pickles cheaply across a process pool. Dict fields must be treated as read-only: the dataclass
is frozen but Python cannot freeze a dict without making it unpicklable.

`to_dict()` returns the `facilitation analyze --json` contract (see shared/CONTRACT.md) plus extras;
every id becomes a string there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clustering.stability import KSmoother
from clustering.votes import Id


def _r(x: float, digits: int = 6) -> float:
    return round(float(x), digits)


@dataclass(frozen=True)
class Tally:
    """Votes on one statement by one group or role."""

    agree: int = 0
    acceptable: int = 0
    disagree: int = 0
    passed: int = 0

    @property
    def seen(self) -> int:
        return self.agree + self.acceptable + self.disagree + self.passed

    def to_dict(self) -> dict[str, int]:
        return {"agree": self.agree, "acceptable": self.acceptable, "disagree": self.disagree,
                "pass": self.passed}


@dataclass(frozen=True)
class Representative:
    """A statement that sets a group apart: `share` of the group voting `direction` (smoothed),
    `z` its one-sample test, `repness` how many times more than the other groups, `repness_z` that
    comparison's two-proportion test."""

    statement: Id
    direction: str
    share: float
    z: float
    repness: float
    repness_z: float
    best_agree: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "direction": self.direction, "share": _r(self.share),
                "z": _r(self.z), "repness": _r(self.repness), "repness_z": _r(self.repness_z),
                "best_agree": self.best_agree}


@dataclass(frozen=True)
class Group:
    """An opinion group with a stable letter id."""

    id: str
    members: tuple[Id, ...]
    center: tuple[float, float]
    representative: tuple[Representative, ...]

    @property
    def size(self) -> int:
        return len(self.members)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "size": self.size, "members": [str(m) for m in self.members],
                "center": [_r(c) for c in self.center],
                "representative": [r.to_dict() for r in self.representative]}


@dataclass(frozen=True)
class ConsensusScore:
    """Group-informed consensus of one statement."""

    statement: Id
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "score": _r(self.score)}


@dataclass(frozen=True)
class Opinion:
    """A majority opinion over all voters."""

    statement: Id
    direction: str
    share: float
    z: float

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "direction": self.direction, "share": _r(self.share),
                "z": _r(self.z)}


@dataclass(frozen=True)
class AcceptanceScore:
    """How acceptable a statement is to each opinion group and role (share agreeing or finding it
    acceptable, smoothed). `worst_share` is the least accepting group's share (the maximin key)."""

    statement: Id
    worst_share: float
    acceptable: bool
    group_shares: dict[str, float]
    role_shares: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "worst_share": _r(self.worst_share),
                "acceptable": self.acceptable,
                "groups": {g: _r(s) for g, s in self.group_shares.items()},
                "roles": {r: _r(s) for r, s in self.role_shares.items()}}


@dataclass(frozen=True)
class Divisive:
    """A statement the groups split on: `most` accepts it by `spread` more than `least`."""

    statement: Id
    spread: float
    z: float
    most: str
    least: str

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "spread": _r(self.spread), "z": _r(self.z),
                "most": self.most, "least": self.least}


@dataclass(frozen=True)
class RoleSummary:
    """A stakeholder role: how many voters hold it and their tallies per statement."""

    role: str
    participants: int
    votes: dict[Id, Tally]

    def to_dict(self) -> dict[str, Any]:
        return {"participants": self.participants,
                "votes": {str(s): t.to_dict() for s, t in self.votes.items()}}


@dataclass(frozen=True, eq=False)
class WarmState:
    """What the next update needs from this one: not part of the public output."""

    statement_ids: tuple[Id, ...]
    components: NDArray[np.float64]
    centers: dict[int, NDArray[np.float64]]
    smoother: KSmoother
    previous_groups: dict[str, frozenset[Id]]
    clustered: frozenset[Id]


@dataclass(frozen=True)
class AnalysisResult:
    """One analysis of a meeting.

    Counts: `participants` distinct voters, `statements` statements analysed (moderated-out ones
    excluded), `votes` effective votes (latest per pair, all statements), `clustered` participants
    placed in groups. `groups` are ordered by id; `positions` hold every clustered participant's map
    position. `consensus` lists every analysed statement by group-informed consensus, best first.
    `acceptance` ranks every analysed statement by its least accepting group (maximin);
    `acceptable_to_all` is its significant head. `lanes` and `priority` cover every known statement
    that is not moderated out. `group_votes[g][s]` is group g's tally on statement s. Times are in ms.
    """

    participants: int = 0
    statements: int = 0
    votes: int = 0
    clustered: int = 0
    k: int = 0
    groups: tuple[Group, ...] = ()
    positions: dict[Id, tuple[float, float]] = field(default_factory=dict)
    consensus: tuple[ConsensusScore, ...] = ()
    majority: tuple[Opinion, ...] = ()
    acceptance: tuple[AcceptanceScore, ...] = ()
    acceptable_to_all: tuple[AcceptanceScore, ...] = ()
    divisive: tuple[Divisive, ...] = ()
    lanes: dict[Id, str] = field(default_factory=dict)
    priority: dict[Id, float] = field(default_factory=dict)
    group_votes: dict[str, dict[Id, Tally]] = field(default_factory=dict)
    roles: dict[str, RoleSummary] = field(default_factory=dict)
    silhouettes: dict[int, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    state: WarmState | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: the CLI contract's keys plus this library's extras, ids as strings."""
        return {
            "participants": self.participants,
            "statements": self.statements,
            "votes": self.votes,
            "clustered": self.clustered,
            "groups": [g.to_dict() for g in self.groups],
            "consensus": [c.to_dict() for c in self.consensus],
            "positions": {str(p): [_r(x), _r(y)] for p, (x, y) in self.positions.items()},
            "elapsed_ms": _r(self.elapsed_ms, 3),
            "k": self.k,
            "majority": [o.to_dict() for o in self.majority],
            "acceptable_to_all": [a.to_dict() for a in self.acceptable_to_all],
            "acceptance": [a.to_dict() for a in self.acceptance],
            "divisive": [d.to_dict() for d in self.divisive],
            "lanes": {str(s): lane for s, lane in self.lanes.items()},
            "priority": {str(s): _r(p) for s, p in self.priority.items()},
            "group_votes": {g: {str(s): t.to_dict() for s, t in votes.items()}
                            for g, votes in self.group_votes.items()},
            "roles": {r: summary.to_dict() for r, summary in self.roles.items()},
            "silhouettes": {str(k): _r(s) for k, s in self.silhouettes.items()},
            "timings": {name: _r(ms, 3) for name, ms in self.timings.items()},
        }
