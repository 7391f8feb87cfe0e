"""The meeting logic's share of a vote: the whole server path of a vote in one process, without sockets.

    python bench/bench_vote_path.py --out bench/results/vote_path.json [--phones 200] [--statements 50]
                                    [--rounds 3] [--source CHECKOUT] [--pattern first|ingest]

Each vote goes the way a frame from a phone goes (docs/architecture.md, "The path of one vote"): the connection's
``Session.receive`` (parse, check, dispatch, limits), ``Room.submit`` (from the voting connection, which the vote
is not echoed to), the writer, the pure meeting, the SQLite store's batched WAL commit, the ack
(``Session.applied`` with the next statement), and the durable event's fan-out to a projector and to the voter's
other device, whose messages are queued and "written" to sockets that take them at once. ``--pattern ingest`` is
instead bench_ingest.py's load without its sockets: one device a phone, no projector, every phone has voted on
every statement once (not measured) and then changes its votes in the measured pass, so the figure is the steady
state of a long burst, and the main thread's CPU is reported apart from the SQLite writer's. What it leaves out is
uvicorn, the WebSocket protocol and the kernel: bench/bench_ingest.py measures those too, against a floor server,
with real sockets.

The figure is the process's CPU time (every thread: the SQLite writer included) over the votes, divided by their
number, from ``time.process_time``; ``--rounds`` runs are made and the lowest is reported (other work on the
machine only ever adds); ``--callgrind`` counts instructions per vote instead (valgrind: the same count on every
run, for A/B of small changes on a busy machine). ``--source`` measures another checkout (``git worktree add``),
run in a child process with it first on the path, for an A/B in the same conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


async def _measure(phones: int, statements: int, pattern: str = "first") -> dict[str, Any]:
    from facilitation.core.admission import AddressCounter, AttemptLimiter, CommandLimiter, JoinLimiter
    from facilitation.core.meeting import MeetingSettings, SetPhase
    from facilitation.live.connection import Connection
    from facilitation.live.hub import Hub
    from facilitation.live.session import Session, Submit
    from facilitation.storage import open_event_log
    from facilitation.web.ws import LiveRoom

    folder = tempfile.mkdtemp(prefix="bench-vote-path-")
    log = open_event_log(f"sqlite:///{folder}/meetings.db")
    await log.start()
    hub = Hub(log)
    room, _ = await hub.create_meeting(MeetingSettings(title="vote path"),
                                       [f"Statement number {i}." for i in range(statements)])
    await room.submit(SetPhase("collecting", "open"))

    async def taken(text: str) -> None:
        return None

    async def closed(code: int, reason: str) -> None:
        return None

    ingest = pattern == "ingest"
    if not ingest:
        await room.attach(Connection(taken, closed, "projector", None, hub.outbox), None)
    limits = {"attempts": AttemptLimiter(), "connections": AddressCounter(100_000),
              "joins": JoinLimiter(1e9, 1e9), "commands": CommandLimiter(1e9, 1e9)}
    sessions = []
    voting_phones = []  # each session's voting connection: the origin of its votes, which no echo goes back to
    for i in range(phones):
        session = Session(room.code, f"10.0.{i // 250}.{i % 250}", **limits)  # type: ignore[arg-type]
        session.connected()
        session.room_found(LiveRoom(room))
        join = session.hello(json.dumps({"v": 1, "type": "hello", "role": "participant"}))[0]
        assert isinstance(join, Submit)
        session.applied(join, await room.submit(join.command))
        devices = [Connection(taken, closed, "participant", session.participant, hub.outbox)
                   for _device in range(1 if ingest else 2)]  # the voting phone (and the voter's other device)
        for device in devices:
            await room.attach(device, None)
        sessions.append(session)
        voting_phones.append(devices[0])
    values = ("agree", "disagree", "pass", "acceptable")

    def frame(index: int, k: int) -> str:
        if ingest:  # bench_ingest.py's votes: each one changes the phone's vote on a statement
            return json.dumps({"v": 1, "type": "vote", "op": f"b{k}", "statement": (index + k) % statements,
                               "value": ("agree", "disagree")[(k // statements) % 2]})
        return json.dumps({"v": 1, "type": "vote", "op": f"v{k}", "statement": k,
                           "value": values[(index + k) % 4]})

    async def phone(index: int, session: Session, frames: list[str]) -> None:
        origin = voting_phones[index]
        for text in frames:
            submit = session.receive(text)[0]
            assert isinstance(submit, Submit), submit
            session.applied(submit, await room.submit(submit.command, origin))

    def frames_from(first: int) -> list[list[str]]:  # made before the clock starts: a phone's JSON is not ours
        return [[frame(i, k) for k in range(first, first + statements)] for i in range(phones)]

    if ingest:  # the first vote on every statement, not measured
        first_pass = frames_from(0)
        await asyncio.gather(*(phone(i, s, first_pass[i]) for i, s in enumerate(sessions)))
    measured = frames_from(statements if ingest else 0)
    started, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    await asyncio.gather(*(phone(i, s, measured[i]) for i, s in enumerate(sessions)))
    await asyncio.sleep(0.1)  # the last batch's fan-out
    cpu, main = time.process_time() - cpu, time.thread_time() - main
    votes = phones * statements
    result = {"votes": votes, "cpu_us_per_vote": round(cpu / votes * 1e6, 1),
              "main_thread_us_per_vote": round(main / votes * 1e6, 1),
              "wall_s": round(time.perf_counter() - started, 2), "seq": room.meeting.seq}
    await hub.close()
    await log.close()
    return result


def _child(args: argparse.Namespace, source: str) -> dict[str, Any]:
    """One round in a child process, with ``source`` first on the path (a clean import of that version)."""
    env = {**os.environ, "PYTHONPATH": source}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--phones", str(args.phones),
                          "--statements", str(args.statements), "--pattern", args.pattern],
                         env=env, cwd=tempfile.gettempdir(),
                         capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _instructions(args: argparse.Namespace, phones: int) -> int:
    """Instructions the whole child process executed, counted by valgrind's callgrind."""
    env = {**os.environ, "PYTHONPATH": args.source}
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          str(Path(__file__).resolve()), "--child", "--phones", str(phones), "--statements",
                          str(args.statements), "--pattern", args.pattern], env=env, cwd=tempfile.gettempdir(),
                         capture_output=True, text=True, check=True)
    collected = [line for line in out.stderr.splitlines() if "Collected :" in line]
    return int(collected[-1].split(":")[-1].strip())


def callgrind(args: argparse.Namespace) -> dict[str, Any]:
    """Instructions per vote, the same on every run whatever else the machine does: the difference between
    a run with ``--phones`` phones and one with twice as many, over the votes the second one adds (its
    phones' hellos included, and in ``ingest`` their unmeasured first pass, which is also votes)."""
    small, large = _instructions(args, args.phones), _instructions(args, 2 * args.phones)
    votes = args.phones * args.statements * (2 if args.pattern == "ingest" else 1)
    return {"source": args.source, "phones": [args.phones, 2 * args.phones], "statements": args.statements,
            "pattern": args.pattern, "instructions": [small, large],
            "instructions_per_vote": round((large - small) / votes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None)
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--statements", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pattern", choices=["first", "ingest"], default="first",
                        help="first: each phone's first vote on every statement; ingest: bench_ingest.py's")
    parser.add_argument("--source", default=str(ROOT), help="the checkout to measure (default: this one)")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per vote with valgrind instead of CPU time (try --phones 20)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.phones, args.statements, args.pattern))))
        return 0
    if args.callgrind:
        counted = callgrind(args)
        print(f"{args.source}: {counted['instructions_per_vote']:,} instructions per vote ({args.pattern})")
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(counted, indent=2))
        return 0
    rounds = [_child(args, args.source) for _ in range(args.rounds)]
    best = min(rounds, key=lambda r: float(r["cpu_us_per_vote"]))
    result = {"source": args.source, "phones": args.phones, "statements": args.statements,
              "pattern": args.pattern, "rounds": rounds,
              "cpu_us_per_vote": best["cpu_us_per_vote"], "load_average": os.getloadavg()}
    print(f"{args.source}: {best['cpu_us_per_vote']} µs CPU per vote, main thread "
          f"{best.get('main_thread_us_per_vote')} µs (lowest of "
          f"{[r['cpu_us_per_vote'] for r in rounds]}), load average {os.getloadavg()[0]:.1f}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
