"""The frozen result of one analysis, and its JSON form.

Everything is plain data (tuples, dicts, floats, numpy arrays in the private warm-start state), so a
result pickles cheaply across a process pool. Dict fields must be treated as read-only: the dataclass
is frozen but Python cannot freeze a dict without making it unpicklable.

`to_dict()` returns the `facilitation analyze --json` contract (see shared/CONTRACT.md) plus extras;
every id becomes a string there. It is also the persisted form: it carries `"format"` and `"version"`
(`RESULT_FORMAT`, `RESULT_VERSION`), `to_dict(digits=None, warm=True)` keeps every float exact and adds
the warm-start state as plain lists (no pickle), and `AnalysisResult.from_dict` reads it back, so a
stored result rebuilds the same wire messages and summary. Every share comes with its raw counts
(`Tally`, `"counts"` in JSON) so a reader can check it; smoothed shares are for ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from clustering.stability import KSmoother
from clustering.votes import Id

if TYPE_CHECKING:
    from clustering.warm import WarmCache

RESULT_FORMAT = "clustering-analysis-result"
RESULT_VERSION = 2
"""Version of the JSON form. 2: raw counts beside every share, `version`, `ids`, optional `warm`.
(1 was the unversioned `to_dict()` before counts.)"""

DIGITS = 6
"""Decimals of floats in `to_dict()` by default; `digits=None` keeps them exact (the stored form)."""

_digits: list[int | None] = [DIGITS]


def _r(x: float, digits: int | None = None) -> float:
    """Round for output; exact when the current `to_dict` call asked for `digits=None`."""
    places = _digits[-1] if digits is None else digits
    return float(x) if places is None else round(float(x), places)


def _rd(x: float, digits: int) -> float:
    """Round a figure that is rounded in every form (timings): `digits`, or exact in the stored form."""
    return float(x) if _digits[-1] is None else round(float(x), digits)


IdParser = Any
"""`int` or `str`: how `from_dict` turns JSON ids back into the library's ids."""


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

    @property
    def accepted(self) -> int:
        """Agree or acceptable: the numerator of every acceptance share."""
        return self.agree + self.acceptable

    def to_dict(self) -> dict[str, int]:
        return {"agree": self.agree, "acceptable": self.acceptable, "disagree": self.disagree,
                "pass": self.passed, "seen": self.seen}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        return cls(int(data.get("agree", 0)), int(data.get("acceptable", 0)), int(data.get("disagree", 0)),
                   int(data.get("pass", 0)))


def _tallies(data: dict[str, Any] | None) -> dict[str, Tally]:
    return {str(k): Tally.from_dict(v) for k, v in (data or {}).items()}


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
    counts: Tally = field(default_factory=Tally)
    """The group's raw votes on the statement (`share` is the smoothed share of `direction`)."""

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "direction": self.direction, "share": _r(self.share),
                "z": _r(self.z), "repness": _r(self.repness), "repness_z": _r(self.repness_z),
                "best_agree": self.best_agree, "counts": self.counts.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], ids: IdParser) -> Representative:
        return cls(ids(data["statement"]), str(data["direction"]), float(data["share"]), float(data["z"]),
                   float(data["repness"]), float(data["repness_z"]), bool(data.get("best_agree", False)),
                   Tally.from_dict(data.get("counts", {})))


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

    @classmethod
    def from_dict(cls, data: dict[str, Any], ids: IdParser) -> Group:
        x, y = data["center"]
        return cls(str(data["id"]), tuple(ids(m) for m in data["members"]), (float(x), float(y)),
                   tuple(Representative.from_dict(r, ids) for r in data.get("representative", ())))


@dataclass(frozen=True)
class ConsensusScore:
    """Group-informed consensus of one statement."""

    statement: Id
    score: float
    groups: dict[str, Tally] = field(default_factory=dict)
    """Raw votes of each group (or of `"all"` without groups) behind the score."""

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "score": _r(self.score),
                "counts": {g: t.to_dict() for g, t in self.groups.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], ids: IdParser) -> ConsensusScore:
        return cls(ids(data["statement"]), float(data["score"]), _tallies(data.get("counts")))


@dataclass(frozen=True)
class Opinion:
    """A majority opinion over all voters."""

    statement: Id
    direction: str
    share: float
    z: float
    counts: Tally = field(default_factory=Tally)
    """Raw votes of every voter on the statement (`share` is the smoothed share of `direction`)."""

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "direction": self.direction, "share": _r(self.share),
                "z": _r(self.z), "counts": self.counts.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], ids: IdParser) -> Opinion:
        return cls(ids(data["statement"]), str(data["direction"]), float(data["share"]), float(data["z"]),
                   Tally.from_dict(data.get("counts", {})))


@dataclass(frozen=True)
class AcceptanceScore:
    """How acceptable a statement is to each opinion group and role (share agreeing or finding it
    acceptable, smoothed). `worst_share` is the least accepting group's share (the maximin key)."""

    statement: Id
    worst_share: float
    acceptable: bool
    group_shares: dict[str, float]
    role_shares: dict[str, float]
    group_counts: dict[str, Tally] = field(default_factory=dict)
    """Raw votes per group (or `"all"`): the share is (accepted + 1) / (seen + 2) of these."""
    role_counts: dict[str, Tally] = field(default_factory=dict)
    """Raw votes per stakeholder role, for the roles in `role_shares`."""

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "worst_share": _r(self.worst_share),
                "acceptable": self.acceptable,
                "groups": {g: _r(s) for g, s in self.group_shares.items()},
                "roles": {r: _r(s) for r, s in self.role_shares.items()},
                "group_counts": {g: t.to_dict() for g, t in self.group_counts.items()},
                "role_counts": {r: t.to_dict() for r, t in self.role_counts.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], ids: IdParser) -> AcceptanceScore:
        return cls(ids(data["statement"]), float(data["worst_share"]), bool(data["acceptable"]),
                   {str(g): float(v) for g, v in data.get("groups", {}).items()},
                   {str(r): float(v) for r, v in data.get("roles", {}).items()},
                   _tallies(data.get("group_counts")), _tallies(data.get("role_counts")))


@dataclass(frozen=True)
class Divisive:
    """A statement the groups split on: `most` accepts it by `spread` more than `least`."""

    statement: Id
    spread: float
    z: float
    most: str
    least: str
    counts: dict[str, Tally] = field(default_factory=dict)
    """Raw votes of the `most` and `least` accepting groups."""

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "spread": _r(self.spread), "z": _r(self.z),
                "most": self.most, "least": self.least,
                "counts": {g: t.to_dict() for g, t in self.counts.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], ids: IdParser) -> Divisive:
        return cls(ids(data["statement"]), float(data["spread"]), float(data["z"]), str(data["most"]),
                   str(data["least"]), _tallies(data.get("counts")))


@dataclass(frozen=True)
class RoleSummary:
    """A stakeholder role: how many voters hold it and their tallies per statement."""

    role: str
    participants: int
    votes: dict[Id, Tally]

    def to_dict(self) -> dict[str, Any]:
        return {"participants": self.participants,
                "votes": {str(s): t.to_dict() for s, t in self.votes.items()}}

    @classmethod
    def from_dict(cls, role: str, data: dict[str, Any], ids: IdParser) -> RoleSummary:
        return cls(role, int(data["participants"]),
                   {ids(s): Tally.from_dict(t) for s, t in data.get("votes", {}).items()})


@dataclass(frozen=True, eq=False)
class WarmState:
    """What the next update needs from this one: not part of the public output."""

    statement_ids: tuple[Id, ...]
    components: NDArray[np.float64]
    centers: dict[int, NDArray[np.float64]]
    smoother: KSmoother
    previous_groups: dict[str, frozenset[Id]]
    clustered: frozenset[Id]
    rivals: dict[int, NDArray[np.float64]] = field(default_factory=dict)
    """Per k, the k-means restart candidate's centers where it differed from the Pol.is start's solution:
    the next update refines both and applies the cold-start rule (`groups.fit_candidates`)."""
    cache: WarmCache | None = None
    """Reusable work for the next warm update (`clustering.warm`): pickled with the state, left out of
    `to_dict`, so a state read back from JSON has none and the next update recomputes it."""

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers (exact floats). Groups and the clustered set are not repeated: they are
        the result's `groups` and `positions`, from which `from_dict` rebuilds them."""
        return {"statements": [str(x) for x in self.statement_ids],
                "components": self.components.tolist(),
                "centers": {str(k): c.tolist() for k, c in self.centers.items()},
                "rivals": {str(k): c.tolist() for k, c in self.rivals.items()},
                "smoother": [self.smoother.last_k, self.smoother.last_k_count, self.smoother.smoothed_k]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], ids: IdParser, groups: tuple[Group, ...],
                  clustered: frozenset[Id]) -> WarmState:
        last_k, count, smoothed = (int(x) for x in data["smoother"])
        statements = tuple(ids(x) for x in data["statements"])
        components = np.asarray(data["components"], dtype=np.float64).reshape(len(data["components"]), len(statements))
        return cls(statements, components,
                   {int(k): np.asarray(c, dtype=np.float64).reshape(-1, 2) for k, c in data["centers"].items()},
                   KSmoother(last_k, count, smoothed), {g.id: frozenset(g.members) for g in groups}, clustered,
                   {int(k): np.asarray(c, dtype=np.float64).reshape(-1, 2)
                    for k, c in data.get("rivals", {}).items()})


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
    silhouette_sample: int = 0
    """Participants whose silhouette was computed (all of them = exact; see groups.score_silhouettes)."""
    silhouette_bound: float = 0.0
    """0 when the silhouettes were computed in this run; on a warm update that carried them over from an
    earlier exact run (`clustering.anchor`), how far they may be from this run's exact values."""
    lane_votes: dict[Id, dict[str, Tally]] = field(default_factory=dict)
    """For each statement in `lanes`: the raw votes of each unit its lane was decided on (the groups,
    or `"all"` without groups)."""
    timings: dict[str, float] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    state: WarmState | None = field(default=None, repr=False, compare=False)

    def to_dict(self, *, digits: int | None = DIGITS, warm: bool = False) -> dict[str, Any]:
        """JSON-ready data: the CLI contract's keys plus this library's extras, ids as strings.

        `digits=None` keeps floats exact and `warm=True` adds the warm-start state: the stored form, which
        `from_dict` reads back into an equal result (and a usable `previous`)."""
        _digits.append(digits)
        try:
            return self._to_dict(warm)
        finally:
            _digits.pop()

    def _to_dict(self, warm: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "participants": self.participants,
            "statements": self.statements,
            "votes": self.votes,
            "clustered": self.clustered,
            "groups": [g.to_dict() for g in self.groups],
            "consensus": [c.to_dict() for c in self.consensus],
            "positions": _positions(self.positions),
            "elapsed_ms": _rd(self.elapsed_ms, 3),
            "format": RESULT_FORMAT,
            "version": RESULT_VERSION,
            "ids": _id_kind(self),
            "k": self.k,
            "majority": [o.to_dict() for o in self.majority],
            "acceptable_to_all": [a.to_dict() for a in self.acceptable_to_all],
            "acceptance": [a.to_dict() for a in self.acceptance],
            "divisive": [d.to_dict() for d in self.divisive],
            "lanes": {str(s): lane for s, lane in self.lanes.items()},
            "lane_votes": {str(s): {u: t.to_dict() for u, t in units.items()}
                           for s, units in self.lane_votes.items()},
            "priority": {str(s): _r(p) for s, p in self.priority.items()},
            "group_votes": {g: {str(s): t.to_dict() for s, t in votes.items()}
                            for g, votes in self.group_votes.items()},
            "roles": {r: summary.to_dict() for r, summary in self.roles.items()},
            "silhouettes": {str(k): _r(s) for k, s in self.silhouettes.items()},
            "silhouette_sample": self.silhouette_sample,
            "silhouette_bound": _r(self.silhouette_bound),
            "timings": {name: _rd(ms, 3) for name, ms in self.timings.items()},
        }
        if warm and self.state is not None:
            out["warm"] = self.state.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisResult:
        """Read `to_dict()` output back (version 2; ids as ints when `"ids"` is `"int"`). Raises
        `ValueError` for another format or a newer version."""
        if data.get("format", RESULT_FORMAT) != RESULT_FORMAT or int(data.get("version", 0)) != RESULT_VERSION:
            raise ValueError(f"not a version {RESULT_VERSION} analysis result: format {data.get('format')!r}, "
                             f"version {data.get('version')!r}")
        ids: IdParser = int if data.get("ids") == "int" else str
        groups = tuple(Group.from_dict(g, ids) for g in data.get("groups", ()))
        positions = {ids(p): (float(xy[0]), float(xy[1])) for p, xy in data.get("positions", {}).items()}
        acceptance = tuple(AcceptanceScore.from_dict(a, ids) for a in data.get("acceptance", ()))
        by_statement = {a.statement: a for a in acceptance}
        acceptable = tuple(by_statement.get(ids(a["statement"])) or AcceptanceScore.from_dict(a, ids)
                           for a in data.get("acceptable_to_all", ()))
        clustered = frozenset(positions)
        state = (WarmState.from_dict(data["warm"], ids, groups, clustered)
                 if isinstance(data.get("warm"), dict) else None)
        return cls(
            participants=int(data.get("participants", 0)),
            statements=int(data.get("statements", 0)),
            votes=int(data.get("votes", 0)),
            clustered=int(data.get("clustered", 0)),
            k=int(data.get("k", len(groups))),
            groups=groups,
            positions=positions,
            consensus=tuple(ConsensusScore.from_dict(c, ids) for c in data.get("consensus", ())),
            majority=tuple(Opinion.from_dict(o, ids) for o in data.get("majority", ())),
            acceptance=acceptance,
            acceptable_to_all=acceptable,
            divisive=tuple(Divisive.from_dict(d, ids) for d in data.get("divisive", ())),
            lanes={ids(s): str(lane) for s, lane in data.get("lanes", {}).items()},
            priority={ids(s): float(p) for s, p in data.get("priority", {}).items()},
            group_votes={str(g): {ids(s): Tally.from_dict(t) for s, t in votes.items()}
                         for g, votes in data.get("group_votes", {}).items()},
            roles={str(r): RoleSummary.from_dict(str(r), v, ids) for r, v in data.get("roles", {}).items()},
            silhouettes={int(k): float(v) for k, v in data.get("silhouettes", {}).items()},
            silhouette_sample=int(data.get("silhouette_sample", 0)),
            silhouette_bound=float(data.get("silhouette_bound", 0.0)),
            lane_votes={ids(s): _tallies(units) for s, units in data.get("lane_votes", {}).items()},
            timings={str(k): float(v) for k, v in data.get("timings", {}).items()},
            elapsed_ms=float(data.get("elapsed_ms", 0.0)),
            state=state,
        )


def _positions(positions: dict[Id, tuple[float, float]]) -> dict[str, list[float]]:
    """The positions with string keys; each coordinate rounded, or exact in the stored form, where the
    per-value calls are skipped (the server stores every live run: at 10,000 participants they were
    ~25 ms of it)."""
    if _digits[-1] is None:
        return {str(p): [float(x), float(y)] for p, (x, y) in positions.items()}
    return {str(p): [_r(x), _r(y)] for p, (x, y) in positions.items()}


def _is_int_type(kind: type) -> bool:
    return issubclass(kind, int | np.integer) and not issubclass(kind, bool)


def _id_kind(result: AnalysisResult) -> str:
    """`"int"` when every participant and statement id is an int (the server, Pol.is files), so
    `from_dict` restores ints; `"str"` otherwise. Judged by the set of the ids' types (one C-level
    pass), not id by id."""
    state = result.state
    keys: list[object] = [*result.positions, *result.lanes, *result.priority]
    keys += [a.statement for a in result.acceptance]
    if state is not None:
        keys += list(state.statement_ids)
    return "int" if all(_is_int_type(kind) for kind in set(map(type, keys))) else "str"
