"""Measure what continuing k-means from the previous solution (Pol.is's warm start) does to the groups.

    git apply bench/continuation.patch        # adds the CONT switch to clustering/groups.py
    python bench/continuation_chain.py london.youth.policing 60 7
    git apply -R bench/continuation.patch

A chain of random votes (mostly by clustered participants, on statements not moderated out) is applied one
at a time; after each, three analyses run on the same votes: a cold run, the exact warm update (main's
rule: each Pol.is-start k-means run recomputed from its start) and the continued warm update (with the
patch and CONT=1: each run continued from the previous update's solution). It prints every update whose
silhouette winner or groups differ from the cold run, then the counts and the mean milliseconds of each
kind. docs/method.md step 8 quotes its output; this is an experiment kept for whoever revisits the
decision, not a benchmark of main.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_clustering as bc  # noqa: E402

from clustering import AnalysisResult, VoteTable, analyze  # noqa: E402


def winner(result: AnalysisResult) -> int:
    return max(result.silhouettes, key=lambda k: (result.silhouettes[k], -k)) if result.silhouettes else 0


def main(name: str, steps: int, seed: int) -> None:
    if 'os.environ.get("CONT")' not in (ROOT / "clustering" / "groups.py").read_text():
        print("bench/continuation.patch is not applied: the continued updates would be the exact ones",
              file=sys.stderr)
        raise SystemExit(2)
    conv = bc.read_polis_export(bc.DATA_DIR / name)
    table, moderated = conv.votes, conv.moderated_out
    rng = np.random.default_rng(seed)
    people = np.asarray(table.participant_ids, dtype=object)[table.rows]
    topics = np.asarray(table.statement_ids, dtype=object)[table.cols]
    values = table.values.copy()
    active = [s for s in table.statement_ids if s not in moderated]
    cold = analyze(table, moderated_out=moderated)
    exact = continued = cold
    clustered = sorted(cold.positions)  # Pol.is ids are ints
    differs = {"winner": 0, "k_shown": 0, "groups": 0}
    seconds = {"cold": 0.0, "exact": 0.0, "continued": 0.0}
    for step in range(steps):
        voter = (clustered[rng.integers(len(clustered))] if rng.random() < 0.8
                 else table.participant_ids[rng.integers(table.n_participants)])
        people = np.append(people, np.array([voter], dtype=object))
        topics = np.append(topics, np.array([active[rng.integers(len(active))]], dtype=object))
        values = np.append(values, float(rng.choice([-1.0, 0.0, 1.0])))
        votes = VoteTable.from_arrays(people, topics, values)
        runs: dict[str, AnalysisResult] = {}
        for kind, previous, cont in (("cold", None, ""), ("exact", exact, ""), ("continued", continued, "1")):
            os.environ["CONT"] = cont
            start = time.perf_counter()
            runs[kind] = analyze(votes, moderated_out=moderated, previous=previous)
            seconds[kind] += time.perf_counter() - start
        os.environ.pop("CONT", None)
        exact, continued, fresh = runs["exact"], runs["continued"], runs["cold"]
        if winner(continued) != winner(fresh):
            differs["winner"] += 1
            print(step, "winner", winner(continued), "cold", winner(fresh))
        if continued.k != exact.k:
            differs["k_shown"] += 1
        if continued.k == fresh.k and continued.k:
            ours = {p: g.id for g in continued.groups for p in g.members}
            theirs = {p: g.id for g in fresh.groups for p in g.members}
            ids = sorted(theirs, key=str)
            ari = adjusted_rand_score([theirs[p] for p in ids], [ours.get(p, "?") for p in ids])
            if ari < 1.0:
                differs["groups"] += 1
                print(step, "ari", round(ari, 3))
    print(name, steps, differs, {k: round(v / steps * 1000, 2) for k, v in seconds.items()})


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
