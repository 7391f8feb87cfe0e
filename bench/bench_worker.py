"""What one live analysis run costs, step by step, as the server's analysis worker runs it.

    python bench/bench_worker.py --out /tmp/worker.json [--repeat 5] [--polis-only]

`bench_clustering.py` times the library's `analyze`; a live meeting pays for more than that. Each run of
`facilitation.analysis.worker.run_job` also builds the vote table from the shipped arrays (`table`),
builds the projector's and the phones' messages (`messages`), and serialises the whole result with its
warm state for the store (`stored`). And the server process itself pickles the job (the votes and the
previous warm state) and unpickles the outcome, holding its GIL while it does (`main_ms`: the event loop
waits that long).

For each shared Pol.is conversation and planted meetings (1,000 x 100, 10,000 x 500, 20,000 x 2,000),
with every third participant given one of three roles: a running meeting's warm run after one new vote
(the previous result is itself a warm run), the median over `VOTES` different voters and `--repeat`
rounds, and a cold run for comparison. Stage times come from `Outcome.stages`, measured inside
`run_job`, so this times the function the server calls, not a copy of it.
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
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_clustering import DATA_DIR, SYNTHETIC, planted

from clustering import VoteTable
from clustering.polis_io import read_polis_export
from facilitation.analysis.worker import CODE_VALUES, Job, Outcome, run_job

VOTES = 10
"""Different single votes timed per case."""
ROLE_NAMES = ("agency", "citizen", "expert")
STAGES = ("table", "analyze", "messages", "stored", "compact")


class Meeting:
    """A meeting's votes as the scheduler ships them: int32 ids, int8 codes, in arrival order."""

    def __init__(self, table: VoteTable, moderated: frozenset[Any]) -> None:
        self.participants = np.asarray(table.participant_ids, dtype=np.int32)[table.rows]
        self.statements = np.asarray(table.statement_ids, dtype=np.int32)[table.cols]
        self.codes = np.searchsorted(-CODE_VALUES, -table.values).astype(np.int8)
        assert np.array_equal(CODE_VALUES[self.codes], table.values)
        top = int(self.participants.max()) + 1 if self.participants.size else 0
        self.roles = np.full(top, -1, dtype=np.int16)
        self.roles[::3] = np.arange(len(self.roles[::3])) % len(ROLE_NAMES)
        self.known = tuple(np.asarray(table.statement_ids, dtype=np.int64).tolist())
        self.moderated = tuple(int(s) for s in moderated)
        self.table = table

    def job(self, run: int, previous: Any, extra: tuple[int, int] | None = None) -> Job:
        """The job for the votes so far, plus one (participant, statement) agree vote when given."""
        p, s, c = self.participants, self.statements, self.codes
        if extra is not None:
            agree = np.int8(int(np.flatnonzero(CODE_VALUES == 1.0)[0]))
            p = np.append(p, np.int32(extra[0]))
            s = np.append(s, np.int32(extra[1]))
            c = np.append(c, agree)
        return Job("BENCH", run, run, p, s, c, self.roles, ROLE_NAMES, self.known, self.moderated, previous)

    def new_votes(self, count: int) -> list[tuple[int, int]]:
        """`count` different participants, each with the first active statement they have not voted on."""
        voted: dict[int, set[int]] = {}
        for p, s in zip(self.participants.tolist(), self.statements.tolist(), strict=True):
            voted.setdefault(p, set()).add(s)
        out = []
        active = [s for s in self.known if s not in set(self.moderated)]
        for p in sorted(voted, key=lambda q: (-len(voted[q]), q)):
            unseen = [s for s in active if s not in voted[p]]
            if unseen:
                out.append((p, unseen[0]))
            if len(out) == count:
                break
        return out


def _round_trip(job: Job) -> tuple[Outcome, dict[str, float]]:
    """Run a job as the process pool does: pickled over, run, the outcome pickled back."""
    start = time.perf_counter()
    sent = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    dumped = time.perf_counter()
    outcome = run_job(pickle.loads(sent))
    back = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    loading = time.perf_counter()
    outcome = pickle.loads(back)
    done = time.perf_counter()
    return outcome, {"job_dumps_ms": (dumped - start) * 1000, "outcome_loads_ms": (done - loading) * 1000,
                     "job_kb": len(sent) / 1000, "outcome_kb": len(back) / 1000}


def bench_case(name: str, table: VoteTable, moderated: frozenset[Any], repeat: int) -> dict[str, Any]:
    meeting = Meeting(table, moderated)
    first = run_job(meeting.job(1, None))
    warm = run_job(meeting.job(2, first.previous)).previous  # a running meeting's state
    votes = meeting.new_votes(VOTES)
    samples: dict[str, list[float]] = {}
    cold: dict[str, list[float]] = {}
    for _ in range(repeat):
        outcome, _sizes = _round_trip(meeting.job(3, None))
        for key, value in [*outcome.stages.items(), ("total", outcome.elapsed * 1000)]:
            cold.setdefault(key, []).append(value)
        for vote in votes:
            outcome, io = _round_trip(meeting.job(4, warm, vote))
            values = {**outcome.stages, "total": outcome.elapsed * 1000, "cpu": outcome.cpu * 1000, **io,
                      "main_ms": io["job_dumps_ms"] + io["outcome_loads_ms"]}
            for key, value in values.items():
                samples.setdefault(key, []).append(value)
    median = {key: round(statistics.median(v), 2) for key, v in samples.items()}
    return {"case": name, "participants": table.n_participants, "statements": table.n_statements,
            "votes": len(table), "warm": median, "warm_runs": len(samples["total"]),
            "cold": {key: round(statistics.median(v), 2) for key, v in cold.items()}}


def cases(polis_only: bool) -> list[tuple[str, VoteTable, frozenset[Any]]]:
    out: list[tuple[str, VoteTable, frozenset[Any]]] = []
    if DATA_DIR.is_dir():
        for folder in sorted(p for p in DATA_DIR.iterdir() if p.is_dir()):
            conv = read_polis_export(folder)
            out.append((folder.name, conv.votes, frozenset(conv.moderated_out)))
    for n, m, g in () if polis_only else SYNTHETIC:
        table, _truth = planted(n, m, g)
        out.append((f"synthetic {n}x{m}", table, frozenset()))
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'case':<28}{'ptpts':>7}" + "".join(f"{s:>10}" for s in STAGES)
    head += f"{'total':>9}{'cold':>9}{'main ms':>9}{'job KB':>9}{'out KB':>9}"
    print(head)
    print("-" * len(head))
    for row in rows:
        w: dict[str, float] = row["warm"]
        line = f"{row['case']:<28}{row['participants']:>7}" + "".join(f"{w.get(s, 0.0):>10.1f}" for s in STAGES)
        line += f"{w['total']:>9.1f}{row['cold']['total']:>9.1f}{w['main_ms']:>9.1f}{w['job_kb']:>9.0f}"
        line += f"{w['outcome_kb']:>9.0f}"
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON figures")
    parser.add_argument("--repeat", type=int, default=5, help="rounds over the votes per case (medians)")
    parser.add_argument("--polis-only", action="store_true", help="the shared conversations only")
    args = parser.parse_args(argv)
    rows = []
    with threadpool_limits(limits=1):
        for name, table, moderated in cases(args.polis_only):
            rows.append(bench_case(name, table, moderated, args.repeat))
            print(f"done {name}", file=sys.stderr)
    print_table(rows)
    out = {"machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                       "platform": platform.platform(), "load_average": os.getloadavg()},
           "cases": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
