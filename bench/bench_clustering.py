"""Benchmark the clustering pipeline against red-dwarf's run_pipeline, same run, same machine.

    python bench/bench_clustering.py --out bench/results/clustering.json [--repeat 5] [--skip-reddwarf]

For each shared Pol.is conversation (../shared/data/polis beside the repo) and for synthetic meetings
with planted groups (1,000 x 100, 10,000 x 500, 20,000 x 2,000, ~30 votes per participant): our cold
run, a warm update after one new vote as a running meeting makes it (the previous result is itself a
warm update; "warm": the vote is on the first statement the voter had not seen, which on three of the
six conversations is moderated out; "act": the mean over `WARM_VOTES` different voters, each on the
first such statement that is not moderated out, with each vote's time in `warm_active_ms_each`), whether
each warm update matches a cold run on the same votes ("=cold": the silhouette winner is the cold k,
and where the k shown is the same, ARI 1.0 and equal counts), the warm state's size as stored JSON and
as pickled for a worker process, red-dwarf's cold run, agreement (ARI) between the two and with
Pol.is's exported groups, the silhouette of every k, and peak memory. The runs are timed in the same
process, interleaved round by round (ours cold, ours warm, red-dwarf, ours cold, ...), and reported as
medians over --repeat rounds, so a machine shared with other work slows both sides alike. Building the
vote table (reading files, factorising ids) is excluded, as it is for `elapsed_ms` in the CLI. BLAS is
pinned to one thread for both implementations.
"""

# ruff: noqa: E402  (BLAS thread variables must be set before numpy is imported)
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import pickle
import platform
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clustering import AGREE, AnalysisResult, VoteTable, analyze
from clustering.polis_io import read_polis_export

DATA_DIR = (ROOT / ".." / "shared" / "data" / "polis").resolve()
SYNTHETIC = ((1_000, 100, 4), (10_000, 500, 3), (20_000, 2_000, 3))
"""(participants, statements, planted groups)."""
VOTES_PER_PARTICIPANT = 30
WARM_VOTES = 10
"""Different single votes timed as warm updates ("act"): how long one takes depends on the vote (one
that changes a k-means run's steps costs that run in full, see docs/method.md step 8)."""
REDDWARF_MAX_CELLS = 6_000_000
"""red-dwarf builds a dense pandas pivot; above this many cells it is skipped (minutes, GBs)."""


def peak_mb(fn: Callable[[], Any]) -> float:
    """Peak Python-tracked memory (numpy included) of one call, in MB."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def planted(n: int, m: int, groups: int, seed: int = 0) -> tuple[VoteTable, np.ndarray]:
    """Participants in `groups` opinion groups voting on ~30 random statements each."""
    rng = np.random.default_rng(seed)
    lean = rng.choice([-0.7, 0.7], size=(groups, m))
    truth = np.arange(n) % groups
    each = min(VOTES_PER_PARTICIPANT, m)
    rows = np.repeat(np.arange(n), each)
    cols = (rng.random((n, m)).argsort(axis=1)[:, :each].ravel() if n * m <= 2_000_000
            else np.concatenate([rng.choice(m, each, replace=False) for _ in range(n)]))
    p_agree = (1 + lean[truth[rows], cols]) / 2
    draw = rng.random(rows.size)
    values = np.where(draw < 0.9 * p_agree, 1.0, np.where(draw < 0.9, -1.0, 0.0))
    return VoteTable.from_arrays(rows, cols, values), truth


def with_one_more_vote(table: VoteTable, skip: frozenset[Any] = frozenset(), nth: int = 0) -> VoteTable:
    """The same table plus one agree by a participant with >= 7 votes on a statement they had not seen
    (and that is not in `skip`: pass the moderated-out statements for a vote that moves the map; without,
    the first unseen statement is moderated out on three of the six shared conversations). `nth` picks
    the voter among those participants, spread evenly over them, so different `nth` give different votes."""
    counts = np.bincount(table.rows, minlength=table.n_participants)
    rows = np.flatnonzero((counts >= 7) & (counts < table.n_statements)).tolist()
    if nth:
        rows = rows[(nth * 7919) % len(rows):] + rows[:(nth * 7919) % len(rows)]
    for row in rows:
        seen = set(table.cols[table.rows == row].tolist())
        col = next((c for c in range(table.n_statements) if c not in seen and table.statement_ids[c] not in skip),
                   None)
        if col is not None:
            break
    assert col is not None
    p = np.append(np.asarray(table.participant_ids, dtype=object)[table.rows],
                  np.asarray([table.participant_ids[row]], dtype=object))
    s = np.append(np.asarray(table.statement_ids, dtype=object)[table.cols],
                  np.asarray([table.statement_ids[col]], dtype=object))
    return VoteTable.from_arrays(p, s, np.append(table.values, AGREE))


def with_one_vote_fewer(table: VoteTable) -> VoteTable:
    """The table without the last vote of the participant with the most votes (who stays clustered)."""
    row = int(np.argmax(np.bincount(table.rows, minlength=table.n_participants)))
    drop = int(np.flatnonzero(table.rows == row)[-1])
    keep = np.arange(len(table)) != drop
    return VoteTable.from_arrays(np.asarray(table.participant_ids, dtype=object)[table.rows[keep]],
                                 np.asarray(table.statement_ids, dtype=object)[table.cols[keep]],
                                 table.values[keep])


def labels(result: AnalysisResult) -> dict[Any, str]:
    return {m: g.id for g in result.groups for m in g.members}


def ari(a: dict[Any, Any], b: dict[Any, Any]) -> float | None:
    common = sorted(set(a) & set(b), key=str)
    if len(common) < 2:
        return None
    return round(float(adjusted_rand_score([a[p] for p in common], [b[p] for p in common])), 4)


def warm_equals_cold(warm: AnalysisResult, cold: AnalysisResult) -> dict[str, Any]:
    """Does the warm update match a cold run on the same votes? Same k, or a k the smoothing rule holds
    (the silhouette winner is the cold k); when the k shown is the same, the groups' ARI and whether
    every group's counts are equal."""
    winner = warm.state.smoother.last_k if warm.state is not None else warm.k
    same_k = warm.k == cold.k
    out: dict[str, Any] = {"same_k": same_k, "winner_is_cold_k": winner == cold.k}
    if same_k:
        out["ari"] = ari(labels(cold), labels(warm))
        members = {frozenset(g.members): g.id for g in cold.groups}
        out["same_counts"] = all(
            members.get(frozenset(g.members)) is not None
            and warm.group_votes[g.id] == cold.group_votes[members[frozenset(g.members)]] for g in warm.groups)
    return out


def run_reddwarf(table: VoteTable, moderated: frozenset[Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from reddwarf.implementations.polis import run_pipeline

        votes = [{"participant_id": table.participant_ids[r], "statement_id": table.statement_ids[c], "vote": v}
                 for r, c, v in zip(table.rows.tolist(), table.cols.tolist(), table.values.tolist(), strict=True)]
        return run_pipeline(votes=votes, mod_out_statement_ids=sorted(moderated, key=str), random_state=0)


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def all_equal(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """`warm_equals_cold` over several votes: the first failing check, or the first with a count."""
    failed = [c for c in checks if not (c.get("winner_is_cold_k") and c.get("ari", 1.0) == 1.0
                                        and c.get("same_counts", True))]
    return {**(failed or checks)[0], "votes_checked": len(checks), "votes_failed": len(failed)}


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float, Any]]:
    """Median wall and CPU ms of each function, run in turn within every round (ours, red-dwarf, ours, ...),
    so load from other processes on a shared machine falls on both sides alike."""
    walls: dict[str, list[float]] = {name: [] for name in fns}
    cpus: dict[str, list[float]] = {name: [] for name in fns}
    last: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            start, cpu = time.perf_counter(), time.process_time()
            last[name] = fn()
            walls[name].append((time.perf_counter() - start) * 1000)
            cpus[name].append((time.process_time() - cpu) * 1000)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]), last[name]) for name in fns}


def bench_case(name: str, table: VoteTable, moderated: frozenset[Any], repeat: int, use_reddwarf: bool,
               polis_groups: dict[Any, int] | None = None, truth: dict[Any, int] | None = None) -> dict[str, Any]:
    cells = table.n_participants * table.n_statements
    with_rd = use_reddwarf and cells <= REDDWARF_MAX_CELLS
    analyze(table, moderated_out=moderated)  # warm caches and imports
    # A running meeting: the previous result is itself a warm update (the one before the last vote)
    first = analyze(table, moderated_out=moderated,
                    previous=analyze(with_one_vote_fewer(table), moderated_out=moderated))
    updated = with_one_more_vote(table)
    actives = [with_one_more_vote(table, moderated, nth) for nth in range(WARM_VOTES)]

    def each_active() -> AnalysisResult:
        """One warm update per sampled vote; the timing is divided by their number."""
        results = [analyze(a, moderated_out=moderated, previous=first) for a in actives]
        return results[0]

    fns: dict[str, Callable[[], Any]] = {
        "cold": lambda: analyze(table, moderated_out=moderated),
        "warm": lambda: analyze(updated, moderated_out=moderated, previous=first),
        "warm_active": each_active,
    }
    if with_rd:
        run_reddwarf(table, moderated)
        fns["reddwarf"] = lambda: run_reddwarf(table, moderated)
    times = interleaved(fns, repeat)
    cold_ms, cold_cpu, cold = times["cold"]
    warm_ms, warm_cpu, warm = times["warm"]
    active_ms, active_cpu, warm_active = times["warm_active"]
    active_ms, active_cpu = active_ms / len(actives), active_cpu / len(actives)
    per_vote = sorted(_timed(lambda a=a: analyze(a, moderated_out=moderated, previous=first)) for a in actives)
    active_equal = [warm_equals_cold(analyze(a, moderated_out=moderated, previous=first),
                                     analyze(a, moderated_out=moderated)) for a in actives]
    state = AnalysisResult(state=first.state)
    row: dict[str, Any] = {
        "case": name, "participants": table.n_participants, "statements": table.n_statements,
        "votes": len(table), "clustered": cold.clustered, "k": cold.k,
        "silhouettes": {str(k): round(v, 4) for k, v in cold.silhouettes.items()},
        "silhouette_sample": cold.silhouette_sample,
        "ours_ms": round(cold_ms, 2), "ours_warm_ms": round(warm_ms, 2),
        "ours_cpu_ms": round(cold_cpu, 2), "ours_warm_cpu_ms": round(warm_cpu, 2),
        "warm_speedup": round(cold_ms / warm_ms, 1), "warm_speedup_cpu": round(cold_cpu / warm_cpu, 1),
        "ours_stage_ms": {k: round(v, 2) for k, v in cold.timings.items()},
        "ours_warm_stage_ms": {k: round(v, 2) for k, v in warm.timings.items()},
        "warm_keeps_ids": ari(labels(cold), labels(warm)),
        "ours_warm_active_ms": round(active_ms, 2), "ours_warm_active_cpu_ms": round(active_cpu, 2),
        "warm_active_speedup": round(cold_ms / active_ms, 1),
        "warm_active_speedup_cpu": round(cold_cpu / active_cpu, 1),
        "warm_equals_cold": warm_equals_cold(warm, analyze(updated, moderated_out=moderated)),
        "warm_active_equals_cold": all_equal(active_equal),
        "warm_active_votes": len(actives),
        "warm_active_ms_each": [round(ms, 2) for ms in per_vote],
        "warm_silhouette_bound": warm_active.silhouette_bound,
        "warm_state_json_kb": round(len(json.dumps(first.state.to_dict() if first.state else {})) / 1e3, 1),
        "warm_state_pickle_kb": round(len(pickle.dumps(state)) / 1e3, 1),
        "ours_peak_mb": round(peak_mb(lambda: analyze(table, moderated_out=moderated)), 1),
    }
    if polis_groups:
        row["ari_ours_vs_polis"] = ari(labels(cold), polis_groups)
    if truth is not None:
        row["ari_ours_vs_planted"] = ari(labels(cold), truth)
    if not with_rd:
        row["reddwarf"] = f"skipped ({'--skip-reddwarf' if not use_reddwarf else f'{cells:,} cells: too slow'})"
        return row
    rd_ms, rd_cpu, rd = times["reddwarf"]
    rd_labels = {p: int(g) for p, g in rd.participants_df["cluster_id"].dropna().items()}
    row.update({
        "reddwarf_ms": round(rd_ms, 2), "speedup": round(rd_ms / cold_ms, 1),
        "reddwarf_cpu_ms": round(rd_cpu, 2), "speedup_cpu": round(rd_cpu / cold_cpu, 1),
        "reddwarf_k": int(rd.clusterer.n_clusters) if rd.clusterer is not None else 0,
        "ari_ours_vs_reddwarf": ari(labels(cold), rd_labels),
        "reddwarf_peak_mb": round(peak_mb(lambda: run_reddwarf(table, moderated)), 1) if cells < 1_000_000 else None,
    })
    if polis_groups:
        row["ari_reddwarf_vs_polis"] = ari(rd_labels, polis_groups)
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'case':30s} {'ptpts':>6s} {'stmts':>6s} {'votes':>8s} {'k':>2s} {'ours ms':>8s} {'warm ms':>8s} "
            f"{'warm x':>6s} {'act ms':>7s} {'act x':>6s} {'=cold':>5s} {'rd ms':>8s} {'x':>6s} {'x cpu':>6s} "
            f"{'ARI rd':>6s} {'ARI polis':>9s} {'peak MB':>7s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        rd_ms = f"{r['reddwarf_ms']:8.1f}" if "reddwarf_ms" in r else f"{'skipped':>8s}"
        speed = (f"{r['speedup']:6.1f} {r['speedup_cpu']:6.1f}" if "speedup" in r else f"{'':>6s} {'':>6s}")
        ari_rd = r.get("ari_ours_vs_reddwarf")
        ari_p = r.get("ari_ours_vs_polis", r.get("ari_ours_vs_planted"))
        same = all(e.get("winner_is_cold_k") and e.get("ari", 1.0) == 1.0 and e.get("same_counts", True)
                   for e in (r["warm_equals_cold"], r["warm_active_equals_cold"]))
        print(f"{r['case']:30s} {r['participants']:6d} {r['statements']:6d} {r['votes']:8d} {r['k']:2d} "
              f"{r['ours_ms']:8.1f} {r['ours_warm_ms']:8.1f} {r['warm_speedup']:6.1f} "
              f"{r['ours_warm_active_ms']:7.1f} {r['warm_active_speedup']:6.1f} {'yes' if same else 'NO':>5s} "
              f"{rd_ms} {speed} "
              f"{'' if ari_rd is None else f'{ari_rd:.3f}':>6s} {'' if ari_p is None else f'{ari_p:.3f}':>9s} "
              f"{r['ours_peak_mb']:7.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON figures")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds per case (medians)")
    parser.add_argument("--polis-only", action="store_true", help="the shared conversations only, no synthetic")
    parser.add_argument("--skip-reddwarf", action="store_true", help="time our pipeline only")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with threadpool_limits(limits=1):
        if DATA_DIR.is_dir():
            for folder in sorted(p for p in DATA_DIR.iterdir() if p.is_dir()):
                conv = read_polis_export(folder)
                rows.append(bench_case(folder.name, conv.votes, conv.moderated_out, args.repeat,
                                       not args.skip_reddwarf, polis_groups=conv.polis_groups))
                print(f"done {folder.name}", file=sys.stderr)
        else:
            print(f"no Pol.is data at {DATA_DIR}: synthetic cases only", file=sys.stderr)
        for n, m, g in () if args.polis_only else SYNTHETIC:
            table, truth = planted(n, m, g)
            rows.append(bench_case(f"synthetic {n}x{m} ({g} groups)", table, frozenset(), args.repeat,
                                   not args.skip_reddwarf, truth=dict(enumerate(truth.tolist()))))
            print(f"done synthetic {n}x{m}", file=sys.stderr)
    print_table(rows)
    out = {"machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                       "platform": platform.platform(), "blas_threads": 1},
           "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "cases": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
