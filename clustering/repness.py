"""Representative statements: what sets each group apart (Pol.is `repness.clj`).

For group g and statement j, with pseudocount 1 (Laplace smoothing):
    pa = (agrees + 1) / (votes + 2)                     share of the group agreeing
    pat = 2·sqrt(votes + 1)·((agrees + 1)/(votes + 1) − ½)  one-sample test against ½
    ra = pa / pa(rest)                                   how much more than the other groups
    rat = two-proportion z-test, group vs the rest, each count + 1
and the same with disagrees (pd, pdt, rd, rdt). A statement represents a group when both tests pass
1.2816 (one-sided 90%) in one direction; candidates rank by ra·rat·pa·pat. The group's best agreed
statement goes first even if it is not significant, so each group has at least one thing it agrees on
(shown as agree, see `_pick`).
At most 5 per group, agrees before disagrees.

`acceptable` votes count as seen, not as agree: a representative statement says what a group
*endorses*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from clustering.matrix import Tallies

PSEUDOCOUNT = 1.0
"""Laplace smoothing of every share (Pol.is `(+ 1 na) / (+ 2 ns)`)."""

Z_90 = 1.2816
"""One-sided 90% critical value (Pol.is `z-sig-90?`)."""

REPRESENTATIVE_MAX = 5
"""Representative statements kept per group (Pol.is `(take 5)`)."""


def smoothed_share(successes: NDArray[np.int64], seen: NDArray[np.int64]) -> NDArray[np.float64]:
    """(successes + 1) / (seen + 2)."""
    return (successes + PSEUDOCOUNT) / (seen + 2 * PSEUDOCOUNT)


def one_prop_z(successes: NDArray[np.int64], seen: NDArray[np.int64]) -> NDArray[np.float64]:
    """Pol.is `prop-test`: 2·sqrt(n+1)·((s+1)/(n+1) − ½), a normal approximation with pseudocounts."""
    n = seen + 1.0
    return np.asarray(2.0 * np.sqrt(n) * ((successes + 1.0) / n - 0.5))


def two_prop_z(
    succ_in: NDArray[np.int64], succ_out: NDArray[np.int64],
    seen_in: NDArray[np.int64], seen_out: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Pol.is `two-prop-test` with every count + 1; 0 where the pooled share is 1 (no variance)."""
    s1, s2 = succ_in + 1.0, succ_out + 1.0
    n1, n2 = seen_in + 1.0, seen_out + 1.0
    pooled = (s1 + s2) / (n1 + n2)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (s1 / n1 - s2 / n2) / spread
    return np.asarray(np.where(spread > 0, z, 0.0))


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Per (group, statement) arrays of the Pol.is statistics."""

    na: NDArray[np.int64]
    nd: NDArray[np.int64]
    ns: NDArray[np.int64]
    pa: NDArray[np.float64]
    pd: NDArray[np.float64]
    pat: NDArray[np.float64]
    pdt: NDArray[np.float64]
    ra: NDArray[np.float64]
    rd: NDArray[np.float64]
    rat: NDArray[np.float64]
    rdt: NDArray[np.float64]


def group_stats(tallies: Tallies) -> GroupStats:
    """Compute all statistics at once, each group compared with the union of the others."""
    na, nd, ns = tallies.agree, tallies.disagree, tallies.seen
    na_out, nd_out, ns_out = na.sum(0) - na, nd.sum(0) - nd, ns.sum(0) - ns
    pa, pd = smoothed_share(na, ns), smoothed_share(nd, ns)
    return GroupStats(
        na=na, nd=nd, ns=ns, pa=pa, pd=pd,
        pat=one_prop_z(na, ns), pdt=one_prop_z(nd, ns),
        ra=pa / smoothed_share(na_out, ns_out), rd=pd / smoothed_share(nd_out, ns_out),
        rat=two_prop_z(na, na_out, ns, ns_out), rdt=two_prop_z(nd, nd_out, ns, ns_out),
    )


@dataclass(frozen=True)
class Pick:
    """One representative statement, as column index plus the chosen direction's numbers."""

    column: int
    direction: str
    share: float
    z: float
    repness: float
    repness_z: float
    best_agree: bool = False

    @property
    def metric(self) -> float:
        return self.repness * self.repness_z * self.share * self.z


def _pick(s: GroupStats, g: int, j: int, best_agree: bool = False) -> Pick:
    """Pol.is `finalize-cmt-stats`: agree when rat > rdt, else disagree; the group's best agreed
    statement always as agree.

    That statement is chosen for how much the group agrees with it, but Pol.is still labels it by rat >
    rdt, so a statement 76% of the group agree with and others agree with even more came out as
    "disagree, 4%" (held-out scoop-hivemind.freshwater, group B). Pol.is's own client renders that entry
    by its agree count (it ships `n-agree` with `best-agree`); we give it the agree direction and numbers,
    so every screen and export reads it as what it is."""
    if best_agree or s.rat[g, j] > s.rdt[g, j]:
        return Pick(j, "agree", float(s.pa[g, j]), float(s.pat[g, j]), float(s.ra[g, j]),
                    float(s.rat[g, j]), best_agree)
    return Pick(j, "disagree", float(s.pd[g, j]), float(s.pdt[g, j]), float(s.rd[g, j]),
                float(s.rdt[g, j]), best_agree)


def select_representative(s: GroupStats, g: int, eligible: NDArray[np.bool_]) -> list[Pick]:
    """Pol.is `select-rep-comments` for group g over the eligible (not moderated) columns."""
    columns = np.flatnonzero(eligible)
    passes = (((s.pat[g] > Z_90) & (s.rat[g] > Z_90)) | ((s.pdt[g] > Z_90) & (s.rdt[g] > Z_90))) & eligible
    sufficient = np.flatnonzero(passes).tolist()
    best_agree = _best_agree(s, g, columns)
    head = [_pick(s, g, best_agree, best_agree=True)] if best_agree is not None else []
    if not sufficient:
        if head:
            return head
        if columns.size == 0:
            return []
        best = max(columns.tolist(), key=lambda j: max(s.rat[g, j], s.rdt[g, j]))
        return [_pick(s, g, best)]
    candidates = np.array([j for j in sufficient if j != best_agree], dtype=np.int64)
    agree_wins = s.rat[g, candidates] > s.rdt[g, candidates]
    metric = np.where(agree_wins, s.ra[g, candidates] * s.rat[g, candidates] * s.pa[g, candidates]
                      * s.pat[g, candidates],
                      s.rd[g, candidates] * s.rdt[g, candidates] * s.pd[g, candidates] * s.pdt[g, candidates])
    top = candidates[np.argsort(-metric, kind="stable")][:REPRESENTATIVE_MAX]
    chosen = (head + [_pick(s, g, int(j)) for j in top])[:REPRESENTATIVE_MAX]
    return [p for p in chosen if p.direction == "agree"] + [p for p in chosen if p.direction != "agree"]


def _best_agree(s: GroupStats, g: int, columns: NDArray[np.int64]) -> int | None:
    """Pol.is `beats-best-agr?` folded over statements in column order."""
    na, nd, ra, rat = s.na[g].tolist(), s.nd[g].tolist(), s.ra[g].tolist(), s.rat[g].tolist()
    pa, pat = s.pa[g].tolist(), s.pat[g].tolist()
    best: int | None = None
    for j in columns.tolist():
        if na[j] == 0 and nd[j] == 0:
            continue
        if best is None:
            if pat[j] > Z_90 or (ra[j] > 1.0 and pa[j] > 0.5):
                best = j
        elif ra[best] > 1.0:
            if ra[j] * rat[j] * pa[j] * pat[j] > ra[best] * rat[best] * pa[best] * pat[best]:
                best = j
        elif pa[j] * pat[j] > pa[best] * pat[best]:
            best = j
    return best
