"""What one participant's erasure costs on SQLite, by meeting size: finding the events to replace, replacing
them, dropping the analyses and compacting the file (secure_delete is on; WAL checkpoint and VACUUM).

    python bench/bench_erasure.py --out bench/results/erasure.json [--participants 200 1000 5000]
                                  [--statements 40] [--votes 30]

Each meeting is built with the real meeting logic (joins, statements, votes) and stored in a fresh SQLite file;
the erased participant wrote one statement that every other participant voted on, so its redaction touches
one event per participant. The figures are wall-clock seconds of each step (facilitation/live/erasure.py runs
the same steps, plus the server event, the room's reload and the analysis's re-run, which are not here), with
the file's size before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from facilitation.core.commands.participants import Join
from facilitation.core.commands.phases import SetPhase
from facilitation.core.commands.statements import PostStatement, Vote
from facilitation.core.erasure import redactions
from facilitation.core.events import Event
from facilitation.core.meeting import Meeting, MeetingSettings
from facilitation.storage import open_store


def build(participants: int, statements: int, votes: int) -> list[Event]:
    rng = random.Random(7)
    meeting, events = Meeting.create("BENCHE", MeetingSettings(title="bench"), "h", 1000.0,
                                     [f"起始意見 {i}" for i in range(statements)])
    events += meeting.apply(SetPhase("collecting", op="c"), 1000.0).events
    for p in range(participants):
        events += meeting.apply(Join(f"token-{p:08d}-xxxxxxxx", f"暱稱{p}", ""), 1001.0).events
    events += meeting.apply(PostStatement(0, "被刪除者寫的意見", op="mine"), 1002.0).events
    mine = statements
    for p in range(participants):
        for s in rng.sample(range(statements), min(votes, statements)):
            events += meeting.apply(Vote(p, s, rng.choice(("agree", "disagree", "pass")), op=f"v{s}"), 1003.0).events
        if p:
            events += meeting.apply(Vote(p, mine, "agree", op="vm"), 1003.0).events
    return events


async def measure(participants: int, statements: int, votes: int) -> dict[str, Any]:
    events = build(participants, statements, votes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.db"
        store = open_store(f"sqlite:///{path}")
        await store.start()
        try:
            for i in range(0, len(events), 5000):
                if i == 0:
                    await store.create_meeting("BENCHE", events[:5000])
                else:
                    await store.append("BENCHE", events[i:i + 5000])
            await store.save_analysis("BENCHE", 1, len(events), 1004.0, {"points": list(range(participants))})
            await store.compact()
            before = path.stat().st_size
            t0 = time.perf_counter()
            loaded = await store.load("BENCHE") or []
            t1 = time.perf_counter()
            replaced = redactions(loaded, 0)
            t2 = time.perf_counter()
            await store.redact("BENCHE", replaced)
            t3 = time.perf_counter()
            await store.drop_analyses("BENCHE")
            await store.compact()
            t4 = time.perf_counter()
            after = path.stat().st_size
        finally:
            await store.close()
    return {"participants": participants, "events": len(events), "replaced": len(replaced),
            "load_s": round(t1 - t0, 4), "redactions_s": round(t2 - t1, 4), "redact_s": round(t3 - t2, 4),
            "drop_and_compact_s": round(t4 - t3, 4), "total_s": round(t4 - t0, 4),
            "file_bytes_before": before, "file_bytes_after": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--statements", type=int, default=40)
    parser.add_argument("--votes", type=int, default=30)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    rows = [asyncio.run(measure(n, args.statements, args.votes)) for n in args.participants]
    text = json.dumps({"bench": "erasure", "statements": args.statements, "votes_each": args.votes, "runs": rows},
                      indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
