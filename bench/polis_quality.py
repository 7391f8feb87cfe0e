"""Voting-quality flags and readiness on the shared Pol.is conversations: how many voters each rule flags,
whether any lane changes without them, and how many statements still need votes.

    python bench/polis_quality.py [--data ../shared/data/polis]

Flags (clustering/quality.py) read every vote of votes.csv with its timestamp (a changed vote is timed too)
and each comment's reading time; authors' own votes are not counted. Lanes are `clustering.analyze` on the
latest votes with moderated-out comments out, then again without the flagged voters. Readiness
(clustering/readiness.py) counts every voter as present. Prints JSON, one entry per conversation.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clustering import VoteTable, analyze  # noqa: E402
from clustering.polis_io import read_polis_export  # noqa: E402
from clustering.quality import flags, reading_seconds  # noqa: E402
from clustering.readiness import shortfalls  # noqa: E402


def conversation(folder: Path) -> dict[str, Any]:
    with (folder / "comments.csv").open(encoding="utf-8") as f:
        comments = list(csv.DictReader(f))
    reading = {int(c["comment-id"]): reading_seconds(c["comment-body"]) for c in comments}
    authors = {int(c["comment-id"]): int(c["author-id"]) for c in comments}
    with (folder / "votes.csv").open(encoding="utf-8") as f:
        rows = [(int(r["voter-id"]), int(r["comment-id"]), float(r["vote"]), int(r["timestamp"]) / 1000.0)
                for r in csv.DictReader(f)]
    p, s, v, t = (np.array(x) for x in zip(*rows, strict=True))
    found = flags(p, s, v, t, reading, authors)
    polis = read_polis_export(folder)
    everyone = analyze(polis.votes, moderated_out=polis.moderated_out)
    flagged = {f.participant for f in found}
    table = polis.votes
    keep = [i for i, r in enumerate(table.rows.tolist()) if table.participant_ids[r] not in flagged]
    without = analyze(VoteTable.from_arrays(np.asarray(table.participant_ids)[table.rows[keep]],
                                            np.asarray(table.statement_ids)[table.cols[keep]],
                                            table.values[keep]), moderated_out=polis.moderated_out)
    changed = {str(sid): [lane, without.lanes.get(sid)] for sid, lane in everyone.lanes.items()
               if without.lanes.get(sid) != lane}
    group_of = {m: g.id for g in everyone.groups for m in g.members}
    short = shortfalls(table, everyone.lanes, group_of, {}, table.participant_ids)
    return {
        "voters": table.n_participants,
        "flagged": len(found),
        "same_answer": sum(1 for f in found if "same_answer" in f.reasons),
        "too_fast": sum(1 for f in found if "too_fast" in f.reasons),
        "both": sum(1 for f in found if len(f.reasons) == 2),
        "lanes_changed_without_flagged": changed,
        "needs_votes": sum(1 for lane in everyone.lanes.values() if lane == "needs_votes"),
        "short_statements": len(short),
        "votes_to_settle_all": sum(x.votes for x in short.values()),
        "unreachable": sum(1 for x in short.values() if not x.reachable),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "polis"))
    args = parser.parse_args()
    data = Path(args.data)
    folders = [folder for folder in sorted(data.iterdir()) if (folder / "votes.csv").is_file()]
    report = {folder.name: conversation(folder) for folder in folders}
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
