"""How well near-duplicate suggestions (facilitation/core/similarity.py) work on the shared Pol.is
conversations, and what a post costs.

    python bench/bench_near_duplicates.py [--data ../shared/data/polis] [--threshold 0.55]

Each conversation is replayed in comment-id order as a live meeting posts it: every comment is scored
against the earlier ones with the meeting's index, then indexed. The labelled pairs
(bench/data/near_duplicate_labels.csv: conversation, a, b, duplicate) are every pair in the top 110 of the
six conversations by character n-gram Jaccard or by containment, plus every pair the method suggests,
each read and marked 1 when a host would merge the two (same claim, perhaps reworded or extended) and 0
otherwise (a different age bracket, the opposite claim, a related but distinct proposal). So precision is
measured on every suggestion made; recall is measured against the duplicates in that pool, which is an
upper bound on recall over all pairs (a paraphrase sharing few characters is in no pool). Prints JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facilitation.core.similarity import SIMILAR_THRESHOLD, NearDuplicateIndex  # noqa: E402

LABELS = ROOT / "bench" / "data" / "near_duplicate_labels.csv"
TRADITIONAL_CHINESE = ("vtaiwan.uberx",)


def comments(folder: Path) -> dict[int, str]:
    with (folder / "comments.csv").open(encoding="utf-8") as f:
        return {int(row["comment-id"]): row["comment-body"] for row in csv.DictReader(f)}


def replay(texts: dict[int, str]) -> tuple[dict[tuple[int, int], float], list[float]]:
    """Every pair's score as the later statement is posted, and the milliseconds each post took."""
    index = NearDuplicateIndex()
    scores: dict[tuple[int, int], float] = {}
    costs = []
    for statement in sorted(texts):
        started = time.perf_counter()
        found = index.similar(texts[statement], threshold=0.0, limit=len(texts))
        costs.append((time.perf_counter() - started) * 1000)
        for earlier, score in found:
            scores[(earlier, statement)] = score
        index.add(statement, texts[statement])
    return scores, costs


def figures(rows: list[tuple[str, int, int, int, float]], threshold: float) -> dict[str, Any]:
    positives = sum(1 for r in rows if r[3])
    suggested = [r for r in rows if r[4] >= threshold]
    hits = sum(1 for r in suggested if r[3])
    return {"labelled_pairs": len(rows), "duplicates": positives, "suggested": len(suggested), "correct": hits,
            "precision": round(hits / len(suggested), 3) if suggested else None,
            "recall": round(hits / positives, 3) if positives else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "polis"))
    parser.add_argument("--threshold", type=float, default=SIMILAR_THRESHOLD)
    args = parser.parse_args()
    data = Path(args.data)
    with LABELS.open(encoding="utf-8") as f:
        labels = [(r["conversation"], int(r["a"]), int(r["b"]), int(r["duplicate"])) for r in csv.DictReader(f)]
    labelled = {(c, a, b) for c, a, b, _ in labels}
    rows: list[tuple[str, int, int, int, float]] = []
    unlabelled: list[list[Any]] = []
    suggestions = 0
    pairs = 0
    costs: list[float] = []
    for conversation in sorted({c for c, *_ in labels}):
        texts = comments(data / conversation)
        scores, cost = replay(texts)
        costs += cost
        pairs += len(texts) * (len(texts) - 1) // 2
        suggestions += sum(1 for s in scores.values() if s >= args.threshold)
        rows += [(c, a, b, y, scores.get((min(a, b), max(a, b)), 0.0)) for c, a, b, y in labels if c == conversation]
        unlabelled += [[conversation, a, b, round(s, 3)] for (a, b), s in scores.items()
                       if s >= args.threshold and (conversation, a, b) not in labelled]
    big = NearDuplicateIndex()
    corpus = [text for conversation in sorted({c for c, *_ in labels})
              for text in comments(data / conversation).values()]
    for i in range(5000):
        big.add(i, corpus[i % len(corpus)] + f" {i}")
    started = time.perf_counter()
    for text in corpus[:100]:
        big.similar(text)
    at_5000 = (time.perf_counter() - started) * 10
    report = {
        "threshold": args.threshold,
        "all": figures(rows, args.threshold),
        "traditional_chinese": figures([r for r in rows if r[0] in TRADITIONAL_CHINESE], args.threshold),
        "other": figures([r for r in rows if r[0] not in TRADITIONAL_CHINESE], args.threshold),
        "pairs_in_conversations": pairs,
        "suggestions_made": suggestions,
        "suggested_but_unlabelled": unlabelled,
        "post_ms_median_polis": round(sorted(costs)[len(costs) // 2], 3),
        "post_ms_mean_at_5000_statements": round(at_5000, 3),
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
