"""Measures of common ground: group-informed consensus, majority opinions, acceptable-to-all, lanes
and divisive statements.

Every acceptance measure counts `acceptable` votes together with agrees ("accepted"); majority opinions
are Pol.is's endorsement measure and count agrees only. All shares use pseudocount 1 and all tests the
Pol.is one-sample `prop-test` at one-sided 90% (z > 1.2816), so small groups need several votes before
anything about them counts as significant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from clustering.matrix import Tallies
from clustering.repness import Z_90, one_prop_z, smoothed_share, two_prop_z

MAJORITY_MAX = 5
"""Majority opinions kept per direction (Pol.is `select-consensus-comments`, top 5)."""

MAJORITY_MIN_SHARE = 0.5
"""A majority opinion's smoothed share must exceed one half (Pol.is `(> (prob %) 0.5)`)."""

LANE_MIN_VOTES = 5
"""A statement needs this many votes from every opinion group (or all of a smaller group's members)
before its lane is decided; below it the projector shows "needs_votes"."""

ROLE_MIN_VOTERS = 5
"""A stakeholder role takes part in acceptable-to-all only on statements at least 5 of its members voted
on: fewer is noise, and a role of 2 must not veto a room of 200."""

DIVISIVE_MAX = 10
"""Divisive statements reported, most divided first."""

LANES = ("acceptable", "disputed", "rejected", "needs_votes")
"""The projector's traffic light, see `lanes`."""


def group_informed_consensus(tallies: Tallies) -> NDArray[np.float64]:
    """Product over groups of (accepted + 1) / (seen + 2) (Pol.is `group-aware-consensus`).

    A product is high only when every group accepts, whatever the groups' sizes; one opposed group
    pulls it towards 0.
    """
    return np.asarray(np.prod(smoothed_share(tallies.accepted, tallies.seen), axis=0))


@dataclass(frozen=True)
class MajorityPick:
    """A statement most of the room agrees (or disagrees) with."""

    column: int
    direction: str
    share: float
    z: float


def majority_opinions(total: Tallies, eligible: NDArray[np.bool_]) -> list[MajorityPick]:
    """Pol.is consensus statements over all voters: share > ½ and z > 1.2816, ranked by share·z,
    top 5 agrees then top 5 disagrees."""
    seen = total.seen[0]
    picks: list[MajorityPick] = []
    for direction, counts in (("agree", total.agree[0]), ("disagree", total.disagree[0])):
        share, z = smoothed_share(counts, seen), one_prop_z(counts, seen)
        ok = eligible & (share > MAJORITY_MIN_SHARE) & (z > Z_90)
        columns = np.flatnonzero(ok)
        ranked = columns[np.argsort(-(share * z)[columns], kind="stable")][:MAJORITY_MAX]
        picks += [MajorityPick(int(j), direction, float(share[j]), float(z[j])) for j in ranked]
    return picks


@dataclass(frozen=True, eq=False)
class Acceptance:
    """Per (unit, statement) acceptance and rejection, where units are opinion groups or roles."""

    share: NDArray[np.float64]
    z: NDArray[np.float64]
    reject_z: NDArray[np.float64]
    seen: NDArray[np.int64]


def acceptance(tallies: Tallies) -> Acceptance:
    """Smoothed accepted share with its test against ½, and the same test for disagreement."""
    seen = tallies.seen
    return Acceptance(smoothed_share(tallies.accepted, seen), one_prop_z(tallies.accepted, seen),
                      one_prop_z(tallies.disagree, seen), seen)


def acceptable_to_all(groups: Acceptance, roles: Acceptance | None) -> NDArray[np.bool_]:
    """Significantly accepted in every opinion group and in every role with enough voters on it."""
    ok: NDArray[np.bool_] = np.all(groups.z > Z_90, axis=0)
    if roles is not None and roles.z.shape[0]:
        counted = roles.seen >= ROLE_MIN_VOTERS
        ok &= np.all((roles.z > Z_90) | ~counted, axis=0)
    return ok


def rejected_by_all(groups: Acceptance, roles: Acceptance | None) -> NDArray[np.bool_]:
    """Significantly disagreed with in every opinion group and every role with enough voters."""
    ok: NDArray[np.bool_] = np.all(groups.reject_z > Z_90, axis=0)
    if roles is not None and roles.z.shape[0]:
        counted = roles.seen >= ROLE_MIN_VOTERS
        ok &= np.all((roles.reject_z > Z_90) | ~counted, axis=0)
    return ok


def lanes(
    groups: Acceptance, group_sizes: NDArray[np.int64], roles: Acceptance | None, *, whole_room: bool = False,
) -> NDArray[np.str_]:
    """Classify each statement column into a lane, checked in this order:

    1. needs_votes: some group has fewer than min(5, its size) votes on it; a verdict would rest on
       a handful of people. Without opinion groups (`whole_room`: the one unit is everyone who voted so
       far) it needs 5 votes whatever the unit's size: one voter in a room of twelve made a statement
       "acceptable to all" with its one vote (found by a client written from docs/protocol.md).
    2. acceptable: acceptable to all (every group and every role with >= 5 voters).
    3. rejected: disagreed with by all, same rule with disagree counts.
    4. disputed: everything else, the statements that still need discussion.
    """
    needed = (np.full_like(group_sizes, LANE_MIN_VOTES) if whole_room
              else np.minimum(LANE_MIN_VOTES, np.maximum(group_sizes, 1)))[:, None]
    thin = np.any(groups.seen < needed, axis=0)
    out = np.full(groups.seen.shape[1], "disputed", dtype=object)
    out[rejected_by_all(groups, roles)] = "rejected"
    out[acceptable_to_all(groups, roles)] = "acceptable"
    out[thin] = "needs_votes"
    return np.asarray(out, dtype=np.str_)


@dataclass(frozen=True)
class DivisivePick:
    """A statement the groups split on: the most and least accepting groups differ significantly."""

    column: int
    spread: float
    z: float
    most: int
    least: int


def divisive(tallies: Tallies, eligible: NDArray[np.bool_]) -> list[DivisivePick]:
    """Spread = highest minus lowest group acceptance share; kept when the two-proportion test between
    those two groups passes 1.2816; the most divided first."""
    if tallies.seen.shape[0] < 2:
        return []
    share = smoothed_share(tallies.accepted, tallies.seen)
    most, least = np.argmax(share, axis=0), np.argmin(share, axis=0)
    cols = np.arange(share.shape[1])
    acc, seen = tallies.accepted, tallies.seen
    z = two_prop_z(acc[most, cols], acc[least, cols], seen[most, cols], seen[least, cols])
    spread = share[most, cols] - share[least, cols]
    ok = np.flatnonzero(eligible & (z > Z_90))
    ranked = ok[np.argsort(-spread[ok], kind="stable")][:DIVISIVE_MAX]
    return [DivisivePick(int(j), float(spread[j]), float(z[j]), int(most[j]), int(least[j]))
            for j in ranked]
