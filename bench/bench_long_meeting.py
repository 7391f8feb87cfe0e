"""A long meeting in one process: does the meeting logic's memory and CPU per vote stay flat as votes pile up?

    python bench/bench_long_meeting.py --out bench/results/long_meeting.json [--phones 1000] [--votes 480000]
                                       [--chunks 4] [--statements 40]

The soak (bench_soak.py) sees the whole server: uvicorn, sockets, the live analysis and the load
generator's noise on a shared machine. This bench isolates the part that issue 21 asks to be bounded "by
what the meeting holds, not by how many votes were ever cast": the same in-process path as
bench_vote_path.py (session, room, writer, pure meeting, SQLite WAL, fan-out to a projector and one device
per phone), with every phone changing its votes on the same ``--statements`` over and over, as a long
meeting's second round does. After each of ``--chunks`` equal slices of votes one row is taken: votes so
far, the process's RSS (from /proc), CPU per vote in that slice (``time.process_time``: every thread, the
SQLite writer included) and the meeting's sequence number.

What should hold: the RSS stops growing once every phone has used up the op memory (``OPS_REMEMBERED`` ids
per participant, kept for idempotency: docs/protocol.md), and the CPU per vote of the last slice is within
noise of the first. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VALUES = ("agree", "disagree", "pass", "acceptable")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(phones: int, votes: int, chunks: int, statements: int) -> dict[str, Any]:
    from facilitation.core.admission import AddressCounter, AttemptLimiter, CommandLimiter, JoinLimiter
    from facilitation.core.meeting import MeetingSettings, SetPhase
    from facilitation.core.state import OPS_REMEMBERED
    from facilitation.live.connection import Connection
    from facilitation.live.hub import Hub
    from facilitation.live.session import Session, Submit
    from facilitation.storage import open_event_log
    from facilitation.web.ws import LiveRoom

    folder = tempfile.mkdtemp(prefix="bench-long-meeting-")
    log = open_event_log(f"sqlite:///{folder}/meetings.db")
    await log.start()
    hub = Hub(log)
    room, _ = await hub.create_meeting(MeetingSettings(title="long meeting"),
                                       [f"第 {i} 條陳述" for i in range(statements)])
    await room.submit(SetPhase("collecting", "open"))

    async def taken(text: str) -> None:
        return None

    async def closed(code: int, reason: str) -> None:
        return None

    await room.attach(Connection(taken, closed, "projector", None, hub.outbox), None)
    limits = {"attempts": AttemptLimiter(), "connections": AddressCounter(1_000_000),
              "joins": JoinLimiter(1e9, 1e9), "commands": CommandLimiter(1e9, 1e9)}
    sessions = []
    for i in range(phones):
        session = Session(room.code, f"10.{i // 62500}.{i // 250 % 250}.{i % 250}", **limits)  # type: ignore[arg-type]
        session.connected()
        session.room_found(LiveRoom(room))
        join = session.hello(json.dumps({"v": 1, "type": "hello", "role": "participant"}))[0]
        assert isinstance(join, Submit)
        session.applied(join, await room.submit(join.command))
        await room.attach(Connection(taken, closed, "participant", session.participant, hub.outbox), None)
        sessions.append(session)

    async def phone(index: int, session: Session, chunk: int, count: int) -> None:
        rng = random.Random(index * 1_000_003 + chunk)
        for k in range(count):
            frame = json.dumps({"v": 1, "type": "vote", "op": f"v{chunk}-{k}", "statement": rng.randrange(statements),
                                "value": rng.choice(VALUES)})
            submit = session.receive(frame)[0]
            assert isinstance(submit, Submit), submit
            session.applied(submit, await room.submit(submit.command))

    per_phone = max(1, votes // phones // chunks)
    rows: list[dict[str, Any]] = []
    gc.collect()
    start_rss = rss_mb()
    for chunk in range(chunks):
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(phone(i, s, chunk, per_phone) for i, s in enumerate(sessions)))
        await asyncio.sleep(0.1)  # the last batch's fan-out
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        gc.collect()
        done = (chunk + 1) * per_phone * phones
        rows.append({"votes": done, "votes_per_phone": (chunk + 1) * per_phone, "rss_mb": round(rss_mb(), 1),
                     "cpu_us_per_vote": round(cpu / (per_phone * phones) * 1e6, 1),
                     "wall_s": round(wall, 1), "seq": room.meeting.seq})
        print(json.dumps(rows[-1]), flush=True)
    await hub.close()
    await log.close()
    return {"phones": phones, "statements": statements, "ops_remembered": OPS_REMEMBERED,
            "rss_after_joins_mb": round(start_rss, 1), "rows": rows, "load_average": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None)
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--votes", type=int, default=480_000)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--statements", type=int, default=40)
    args = parser.parse_args()
    result = asyncio.run(run(args.phones, args.votes, args.chunks, args.statements))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
