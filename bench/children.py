"""A bench's servers end with the bench: on SIGTERM or SIGINT, stop every process it started, then exit.

Python's default SIGTERM ends the process at once, without its ``finally`` blocks: a bench killed that way
(by ``timeout``, a CI runner, a colleague's ``kill PID``) left its uvicorn workers, redis-server and whole
scripts/stack.sh stacks running and listening, holding a core of a shared 2-core machine. A bench calls
:func:`install` first thing in ``main``; on either signal the handler then

1. sends SIGTERM to every live descendant (found from /proc, so uvicorn's own workers, multiprocessing load
   generators and a ``stack.sh up`` still in progress are included), and SIGKILL to those still alive after
   :data:`GRACE` seconds;
2. runs the cleanups registered with :func:`on_signal`, newest first: what is no longer a descendant, such as a
   scripts/stack.sh stack (``up`` exits and leaves nginx, the workers and Redis to init), is stopped there
   (:func:`start_stack` registers ``stack.sh down`` for its directory before ``up`` starts);
3. exits with 128 + the signal's number, without running the bench's remaining code: its results are
   incomplete, and the JSON it wrote so far stays as it was.

The descendants are found by walking parent pids, not by process group or by name: the machine is shared,
and only what this bench started may be stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from tests.support.processes import alive, descendants

if TYPE_CHECKING:
    from tests.deploy.stack import Stack

__all__ = ["GRACE", "install", "on_signal", "start_stack"]

GRACE = 5.0
"""Seconds the descendants get to stop after SIGTERM before SIGKILL (a worker hands its meetings over)."""

_cleanups: list[Callable[[], object]] = []


def _stop_descendants() -> None:
    pids = descendants(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        # Our own children become zombies until reaped; reaping them here is safe: we exit next.
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        pids = [p for p in pids if alive(p)]
        if not pids:
            return
        time.sleep(0.05)
    for pid in pids + descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _handler(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup short
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print(f"\nbench: {signal.Signals(signum).name}: stopping the processes it started", file=sys.stderr, flush=True)
    _stop_descendants()
    while _cleanups:
        cleanup = _cleanups.pop()
        try:
            cleanup()
        except Exception as exc:  # one failed cleanup must not keep the others from running
            print(f"bench: cleanup {cleanup!r} failed: {exc}", file=sys.stderr, flush=True)
    _stop_descendants()  # anything a cleanup started
    os._exit(128 + signum)


def install() -> None:
    """Stop this bench's processes when it gets SIGTERM or SIGINT (see the module docstring)."""
    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


def on_signal(cleanup: Callable[[], object]) -> Callable[[], None]:
    """Run ``cleanup`` if the bench is stopped by a signal; call the returned function once it is no longer
    needed (the thing it cleans up was stopped normally)."""
    _cleanups.append(cleanup)

    def forget() -> None:
        if cleanup in _cleanups:
            _cleanups.remove(cleanup)

    return forget


def start_stack(workers: int, **kwargs: Any) -> Stack:
    """tests.deploy.stack.start_stack, with ``stack.sh down`` for its directory registered before ``up`` runs:
    the stack's processes outlive ``up`` and are no descendants of the bench. (After a normal ``down`` the
    registered one finds no pids and does nothing.)"""
    from tests.deploy.stack import Stack
    from tests.deploy.stack import start_stack as start

    directory = Path(tempfile.mkdtemp(prefix="facilitation-stack-"))
    env = {**os.environ, "STACK_DIR": str(directory)}
    on_signal(lambda: Stack(directory, env).run("down", timeout=60))
    return start(workers, directory=directory, **kwargs)
