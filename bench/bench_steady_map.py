"""The steady map on real conversations: shown changes of k and of group letters per minute, before and after
the display rule (clustering/steady.py), replaying each Pol.is conversation vote by vote.

    OMP_NUM_THREADS=1 python bench/bench_steady_map.py [--data ../shared/data/polis] [--minutes 3]
        [--only vtaiwan.uberx] [--trace] [--out bench/results/steady_map.json]

Each conversation's votes, in timestamp order, are compressed linearly into ``--minutes`` of meeting time.
The analysis runs as the live server schedules it (facilitation/analysis/scheduler.py): a run starts
DEBOUNCE after the first vote it has not seen and never sooner than max(MIN_GAP, the last run's duration)
after the last run ended; each run is the library's warm update of the previous one (``previous=``), with
moderated-out comments out, and lasts as long as it really took on this machine (so a slow machine makes
fewer, bigger runs, as the server would). "before" is every run shown as computed (the analysis's own k
smoother and letters); "after" is what `clustering.steady.decide` lets the room see.

Counted per conversation: ``k_changes`` (the shown number of groups differs from the previous shown map),
``letter_changes`` (the shown set of letters differs), ``letter_reuses`` (a letter now names a group that
shares less than `SAME_CAMP` with the group it last named), each also per minute; and for "after" the
oldest figures the room looked at (``max_lag_s``: seconds between the newest run and the run on screen).
Prints JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clustering import AnalysisResult, VoteTable, analyze  # noqa: E402
from clustering.polis_io import MODERATED_REJECTED  # noqa: E402
from clustering.steady import SAME_CAMP, SteadyState, decide  # noqa: E402
from facilitation.analysis.scheduler import COOLDOWN_FACTOR, DEBOUNCE, MIN_GAP  # noqa: E402


def _votes(folder: Path) -> tuple[list[tuple[float, int, int, float]], frozenset[int]]:
    with (folder / "votes.csv").open(encoding="utf-8") as f:
        rows = [(int(r["timestamp"]) / 1000.0, int(r["voter-id"]), int(r["comment-id"]), float(r["vote"]))
                for r in csv.DictReader(f)]
    rows.sort(key=lambda r: r[0])
    out: set[int] = set()
    with (folder / "comments.csv").open(encoding="utf-8") as f:
        for c in csv.DictReader(f):
            if int(c.get("moderated") or 0) == MODERATED_REJECTED:
                out.add(int(c["comment-id"]))
    return rows, frozenset(out)


def _jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


class _Counter:
    """Shown changes of one screen: k, the set of letters, and letters that changed camp."""

    def __init__(self) -> None:
        self.k: int | None = None
        self.letters: tuple[str, ...] | None = None
        self.named: dict[str, frozenset[Any]] = {}
        self.k_changes = self.letter_changes = self.letter_reuses = self.shown = 0

    def show(self, groups: dict[str, frozenset[Any]]) -> None:
        self.shown += 1
        letters = tuple(sorted(groups))
        if self.k is not None and len(letters) != self.k:
            self.k_changes += 1
        if self.letters is not None and letters != self.letters:
            self.letter_changes += 1
        for letter, members in groups.items():
            before = self.named.get(letter)
            if before is not None and _jaccard(before, members) < SAME_CAMP:
                self.letter_reuses += 1
            self.named[letter] = members
        self.k, self.letters = len(letters), letters

    def figures(self, minutes: float) -> dict[str, Any]:
        return {"shown_maps": self.shown, "k_changes": self.k_changes, "letter_changes": self.letter_changes,
                "letter_reuses": self.letter_reuses,
                "k_changes_per_min": round(self.k_changes / minutes, 2),
                "letter_changes_per_min": round(self.letter_changes / minutes, 2),
                "letter_reuses_per_min": round(self.letter_reuses / minutes, 2)}


def replay(folder: Path, minutes: float, trace: bool = False) -> dict[str, Any]:
    """Replay one conversation at the live cadence; the figures before and after the steady map."""
    rows, moderated_out = _votes(folder)
    t0, t1 = rows[0][0], rows[-1][0]
    span = minutes * 60.0
    at = np.array([(r[0] - t0) / max(t1 - t0, 1e-9) * span for r in rows])
    before, after = _Counter(), _Counter()
    previous: AnalysisResult | None = None
    steady: SteadyState | None = None
    latest: dict[int, float] = {}
    seen = 0
    last_end, last_elapsed = -1e9, 0.0
    runs: list[dict[str, Any]] = []
    shown_run_at = 0.0
    max_lag = 0.0
    compute = 0.0
    while seen < len(rows):
        dirty_since = float(at[seen])
        start = max(dirty_since + DEBOUNCE, last_end + max(MIN_GAP, COOLDOWN_FACTOR * last_elapsed))
        upto = int(np.searchsorted(at, start, side="right"))
        for _, p, s, v in rows[seen:upto]:
            latest[p * 1_000_003 + s] = v
        seen = upto
        triples = [(key // 1_000_003, key % 1_000_003, v) for key, v in latest.items()]
        started = time.perf_counter()
        result = analyze(VoteTable.from_triples(triples), moderated_out=moderated_out, previous=previous,
                         random_state=0)
        elapsed = time.perf_counter() - started
        compute += elapsed
        previous = AnalysisResult(state=result.state)
        end = start + elapsed
        last_end, last_elapsed = end, elapsed
        groups = {g.id: frozenset(g.members) for g in result.groups}
        before.show(groups)
        ordered = [frozenset(g.members) for g in result.groups]
        steady, decision = decide(steady, ordered, end, result.clustered)
        if decision.show:
            after.show(dict(zip(decision.letters, ordered, strict=True)))
            shown_run_at = end
        max_lag = max(max_lag, end - shown_run_at)
        if trace:
            runs.append({"at": round(end, 3), "k": result.k, "votes": len(latest), "clustered": result.clustered,
                         "shown": decision.show, "letters": list(decision.letters), "changed": decision.changed,
                         "forming": decision.forming, "reason": decision.reasons[0] if decision.reasons else "",
                         "groups": [sorted(int(m) for m in g) for g in ordered]})
    out: dict[str, Any] = {
        "conversation": folder.name, "votes": len(rows), "minutes": minutes, "runs": before.shown,
        "compute_s": round(compute, 1),
        "before": before.figures(minutes),
        "after": {**after.figures(minutes), "max_lag_s": round(max_lag, 1)},
    }
    if trace:
        out["trace"] = runs
        out["cold_final"] = {g.id: sorted(int(m) for m in g.members) for g in analyze(
            VoteTable.from_triples([(key // 1_000_003, key % 1_000_003, v) for key, v in latest.items()]),
            moderated_out=moderated_out, random_state=0).groups}
        out["warm_final"] = {g.id: sorted(int(m) for m in g.members) for g in result.groups}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "polis")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--trace", action="store_true", help="every run's decision (for tests)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folders = sorted(p for p in args.data.iterdir() if (p / "votes.csv").exists())
    if args.only:
        folders = [p for p in folders if p.name in args.only]
    report = {"minutes": args.minutes, "conversations": [replay(p, args.minutes, args.trace) for p in folders]}
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
