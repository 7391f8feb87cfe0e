"""What the room is shown: a steady map over successive exact runs.

Every analysis run is exact and is kept as computed (exports, ``/analysis``). A projector that redrew every
run made the room watch k-means noise: in a demo the group count went 2→5→2→3 within a minute and a letter
appeared and vanished every few seconds (issue 22). This module decides, run by run, *which exact run the
room sees and under which letters*; it changes no number of any run.

The rule (constants below; docs/method.md "The steady map"):

* A run **continues** what is shown when it has as many groups as the screen and each of its groups can be
  paired one-to-one (Hungarian method) with a shown camp sharing at least :data:`SAME_CAMP` of their union
  (Jaccard). Such a run is shown at once, under the shown camps' letters: people moving one by one between
  camps are shown as they move; only a re-formed map waits.
* Any other run is a **candidate**. The candidate is replaced whenever a run does not continue it; once
  the same candidate has held :data:`HOLD_RUNS` consecutive runs and :data:`HOLD_SECONDS` seconds it is
  accepted and shown. Meanwhile the screen keeps the last run that continued it (an exact, older run).
* If no run has been shown for :data:`MAX_STALE` seconds (the analysis never settled), the latest run is
  accepted anyway: the room never looks at figures older than that.
* **Letters**: on acceptance, each new group takes the letter of the camp it continues (shown or
  retired, Jaccard >= :data:`SAME_CAMP`), else of the camp more than half its members come from (a camp
  that split keeps its letter on one part, as a merged camp keeps the larger one's); new camps take the
  lowest free letters, largest first; if letters then skip (a camp in the middle dissolved), the later camps
  move down so the room always reads
  A, B, C... A letter therefore changes camp only at an accepted change, never from one run to the next.
* The first map with groups is shown at once (there is nothing on screen to keep steady).
* A waiting candidate that no newer run contradicts (votes stopped) is shown once it is
  :data:`HOLD_SECONDS` old, and the latest run is shown at once when the meeting moves to reviewing
  (:func:`settle`): the room's final map is the last run, as the exports have it. A run the host forced
  (``recompute``) is settled at once too.
* The map is **forming** while fewer than :data:`FORMING_PARTICIPANTS` people are clustered: the projector
  says so.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from clustering.stability import GROUP_LETTERS

__all__ = [
    "FORMING_PARTICIPANTS",
    "HOLD_RUNS",
    "HOLD_SECONDS",
    "MAX_STALE",
    "SAME_CAMP",
    "Decision",
    "SteadyState",
    "decide",
    "settle",
]

SAME_CAMP = 0.5
"""Jaccard share (|A ∩ B| / |A ∪ B|) at which a computed group is the same camp as a shown one: more
than half of the two together are in both, so no other pairing can claim it."""
HOLD_RUNS = 3
"""Consecutive runs a re-formed map must hold before it is shown (the analysis's own k smoother already
waits 4 runs for a new k; this also covers re-formed memberships at the same k)."""
HOLD_SECONDS = 10.0
"""Seconds a re-formed map must hold as well: live runs come every ~0.5-2 s, and a room needs the map
still long enough to read it."""
MAX_STALE = 60.0
"""Seconds after which the latest run is shown even if unsettled, so the figures on screen are never
older than a minute."""
FORMING_PARTICIPANTS = 12
"""Fewer clustered participants than this: the projector says the map is still forming."""

Members = frozenset[Hashable]


@dataclass(frozen=True)
class SteadyState:
    """What the screen shows and what is waiting; carried from one run to the next."""

    camps: tuple[tuple[str, Members], ...] = ()
    """The shown camps, letter and members (as of the last shown run), in letter order."""
    retired: tuple[tuple[str, Members], ...] = ()
    """Camps no longer shown, so a camp that comes back gets its letter back while the letter is free."""
    shown_at: float | None = None
    """When a run was last shown (None: never)."""
    settled_at: float | None = None
    """When the shown structure was first seen (its candidate's start)."""
    settled_runs: int = 0
    """Runs the shown structure has held since it was first seen."""
    candidate: tuple[Members, ...] | None = None
    candidate_since: float = 0.0
    candidate_runs: int = 0


@dataclass(frozen=True)
class Decision:
    """For one run: show it (under ``letters``, one per computed group in order) or keep the screen."""

    show: bool
    letters: tuple[str, ...] = ()
    changed: bool = False
    """The shown structure (k or camps) changed with this run."""
    forming: bool = True
    held_since: float | None = None
    """When the waiting candidate started, while the screen holds an older run."""
    reasons: tuple[str, ...] = field(default=())


def _jaccard(a: Members, b: Members) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def _pairing(new: Sequence[Members], old: Sequence[Members]) -> list[int | None]:
    """For each new group, the index of the old group it continues (Jaccard >= SAME_CAMP), else None."""
    out: list[int | None] = [None] * len(new)
    if not new or not old:
        return out
    score = np.array([[_jaccard(a, b) for b in old] for a in new])
    rows, cols = linear_sum_assignment(-score)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        if score[r, c] >= SAME_CAMP:
            out[r] = c
    return out


def _continues(new: Sequence[Members], old: Sequence[Members]) -> list[int] | None:
    """The one-to-one pairing when every new group continues an old one and k is the same, else None."""
    if len(new) != len(old):
        return None
    pairs = _pairing(new, old)
    if any(p is None for p in pairs):
        return None
    return [p for p in pairs if p is not None]


def _letters_for(groups: Sequence[Members], state: SteadyState) -> tuple[str, ...]:
    """Letters for an accepted new structure: continuing camps keep theirs, new camps take the lowest free
    ones (largest first), and letters close up so they never skip."""
    known = list(state.camps) + [c for c in state.retired if c[0] not in {x[0] for x in state.camps}]
    pairs = _pairing(groups, [m for _, m in known])
    letters: list[str] = [known[p][0] if p is not None else "" for p in pairs]
    # a camp that split or grew keeps its letter on the group made mostly of its members
    rest = [i for i, p in enumerate(pairs) if p is None]
    left = [j for j in range(len(known)) if j not in set(pairs)]
    if rest and left:
        inside = np.array([[len(groups[i] & known[j][1]) for j in left] for i in rest])
        for r, c in zip(*linear_sum_assignment(-inside), strict=True):
            if 2 * inside[r, c] > len(groups[rest[r]]):
                letters[rest[r]] = known[left[c]][0]
    used = {x for x in letters if x}
    free = (ch for ch in GROUP_LETTERS if ch not in used)
    for i in sorted(range(len(groups)), key=lambda i: -len(groups[i])):
        if not letters[i]:
            letters[i] = next(free)
    order = sorted(range(len(groups)), key=lambda i: letters[i])
    closed = [""] * len(groups)
    for rank, i in enumerate(order):
        closed[i] = GROUP_LETTERS[rank]
    return tuple(closed)


def _accept(
    state: SteadyState, groups: Sequence[Members], at: float, clustered: int, since: float, runs: int,
    reason: str, *, changed: bool,
) -> tuple[SteadyState, Decision]:
    letters = _letters_for(groups, state)
    camps = tuple(sorted(zip(letters, groups, strict=True)))
    gone = tuple((ch, m) for ch, m in state.camps + state.retired if ch not in set(letters))
    retired: dict[str, Members] = {}  # one entry per letter, the most recent camp first
    for ch, m in gone:
        retired.setdefault(ch, m)
    nxt = SteadyState(camps, tuple(sorted(retired.items())), at, since, runs)
    return nxt, Decision(True, letters, changed, clustered < FORMING_PARTICIPANTS, None, (reason,))


def settle(
    state: SteadyState | None, groups: Sequence[Members], at: float, clustered: int,
) -> tuple[SteadyState, Decision]:
    """Show the latest run now, under steady letters: when no newer run can contradict it (votes stopped
    for :data:`HOLD_SECONDS`, or the meeting moved to reviewing, where the room must see the final map).
    A run that continues the shown camps keeps their letters, as in :func:`decide`."""
    state = state or SteadyState()
    groups = [frozenset(g) for g in groups]
    pairs = _continues(groups, [m for _, m in state.camps]) if state.camps else None
    if pairs is not None:
        return decide(state, groups, at, clustered)
    return _accept(state, groups, at, clustered, at, 1, "settled", changed=bool(state.camps))


def decide(
    state: SteadyState | None, groups: Sequence[Members], at: float, clustered: int,
) -> tuple[SteadyState, Decision]:
    """One run's groups (member sets, in the run's order) at time ``at`` (seconds): what to show, and the
    state for the next run. Pure: the same inputs give the same decision."""
    state = state or SteadyState()
    groups = [frozenset(g) for g in groups]
    shown = [m for _, m in state.camps]
    few = clustered < FORMING_PARTICIPANTS
    if state.shown_at is not None:
        pairs = _continues(groups, shown)
        if pairs is not None:
            letters = tuple(state.camps[p][0] for p in pairs)
            camps = tuple(sorted(zip(letters, groups, strict=True)))
            nxt = SteadyState(camps, state.retired, at, state.settled_at, state.settled_runs + 1)
            return nxt, Decision(True, letters, False, few, None, ("continues",))
    # not a continuation: a candidate (or the first map with groups, shown at once)
    if state.candidate is not None and _continues(groups, state.candidate) is not None:
        since, runs = state.candidate_since, state.candidate_runs + 1
    else:
        since, runs = at, 1
    first = not state.camps  # nothing with groups was shown yet: the first groups need no waiting
    held = runs >= HOLD_RUNS and at - since >= HOLD_SECONDS
    stale = state.shown_at is not None and at - state.shown_at >= MAX_STALE
    if first or held or stale:
        reason = "first" if first else ("held" if held else "stale")
        return _accept(state, groups, at, clustered, since, runs, reason, changed=not first)
    nxt = SteadyState(state.camps, state.retired, state.shown_at, state.settled_at, state.settled_runs,
                      tuple(groups), since, runs)
    return nxt, Decision(False, (), False, few, since, ("holding",))
