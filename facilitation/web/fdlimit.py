"""How many phones this process can hold: the open-file limit, raised at startup, and what it allows.

Every connected phone, projector and host console holds one socket, and a socket is an open file. A shell's
default soft limit (1,024 on Linux, 256 on macOS) would stop a laptop at a few hundred phones, usually with a
hard limit far above it that any process may raise its soft limit to. So ``serve`` raises the soft limit
towards the hard limit before the server starts (what nginx, PostgreSQL and most servers do), reports the
number of phones that fit, and when even the hard limit is too low for the expected meeting, prints the
exact command that raises it, before the meeting rather than when the 900th phone fails to join.

The ``resource`` module exists only on POSIX systems. On Windows there is no per-process open-file limit to
raise (sockets are handles); the single-process server runs on the Proactor event loop, which has no
``select()`` cap, while ``--workers N`` runs each worker on the selector loop, whose ``select()`` takes at
most 512 sockets: :func:`probe` says so instead of inventing a number.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = [
    "DARWIN_MAX_FILES",
    "DEFAULT_EXPECT",
    "RESERVED_DESCRIPTORS",
    "WINDOWS_SELECT_SOCKETS",
    "FdLimit",
    "capacity_message",
    "files_needed",
    "open_descriptors",
    "phone_capacity",
    "probe",
    "raise_command",
    "raise_limit",
    "reserved",
    "shortfall_message",
    "suggested_limit",
]

DEFAULT_EXPECT = 1000
"""Participants a meeting is sized for when ``--expect`` is not given (the project's promise)."""
RESERVED_DESCRIPTORS = 64
"""The fewest files kept back from phones: standard streams, the listening socket, the event loop's epoll
and self-pipe, SQLite's database, WAL and shared-memory files for the writer and the reader, the analysis
process pool's pipes, a Redis connection pool, HTTP requests in flight (pages, QR, exports). Measured: 23 on
Linux with live analysis on and its pool started; 64 leaves room for page loads during a join rush."""
RESERVED_SHARE = 10
"""Above 640 files a tenth of the limit is kept back (at most :data:`RESERVED_MAX`): refusals of a full
server linger for a second each (facilitation/web/server.py) and hold a descriptor meanwhile."""
RESERVED_MAX = 256
DARWIN_MAX_FILES = 10240
"""macOS refuses a soft limit above ``kern.maxfilesperproc`` (10,240 by default; OPEN_MAX) even when the
hard limit reads "unlimited", so the target is capped there."""
UNLIMITED_TARGET = 1 << 20
"""Target when the hard limit is unlimited on other systems: a million files is more than any meeting."""
WINDOWS_SELECT_SOCKETS = 512
"""Python's ``select()`` on Windows takes at most 512 sockets (FD_SETSIZE), per uvicorn worker process."""


@dataclass(frozen=True)
class FdLimit:
    """The open-file limit of this process, before and after :func:`raise_limit`.

    ``soft`` and ``hard`` are None where there is no such limit (Windows). ``error`` says why raising
    failed, when it did.
    """

    soft: int | None
    hard: int | None
    before: int | None
    error: str | None = None

    @property
    def raised(self) -> bool:
        return self.soft is not None and self.before is not None and self.soft > self.before

    @property
    def phones(self) -> int | None:
        """Phones (connections) this process can hold, None when the system sets no per-process limit."""
        return None if self.soft is None else phone_capacity(self.soft)


def reserved(soft_limit: int) -> int:
    """Files kept back from phones under ``soft_limit``: the one rule the banner, ``doctor`` and the
    server's connection cap (facilitation/web/server.py) share, so the numbers a PO reads are the ones enforced."""
    return max(RESERVED_DESCRIPTORS, min(RESERVED_MAX, soft_limit // RESERVED_SHARE))


def files_needed(expect: int) -> int:
    """Open files a process needs for ``expect`` connected participants (plus projector and host): the
    smallest limit whose :func:`phone_capacity` holds them."""
    needed = max(0, expect) + RESERVED_DESCRIPTORS
    while phone_capacity(needed) < expect:
        needed += 1
    return needed


def phone_capacity(soft_limit: int) -> int:
    """Connections that fit under ``soft_limit`` once the server's own files are set aside."""
    return max(0, soft_limit - reserved(soft_limit))


def _finite(value: int, infinity: int) -> int | None:
    return None if value == infinity else int(value)


def probe() -> FdLimit:
    """The current limit, without changing it."""
    try:
        import resource
    except ImportError:  # Windows
        return FdLimit(None, None, None)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinity = resource.RLIM_INFINITY
    soft_value = UNLIMITED_TARGET if soft == infinity else int(soft)
    return FdLimit(soft_value, _finite(hard, infinity), soft_value)


def _target(hard: int | None) -> int:
    target = UNLIMITED_TARGET if hard is None else hard
    if sys.platform == "darwin":
        target = min(target, DARWIN_MAX_FILES)
    return target


def raise_limit() -> FdLimit:
    """Raise the soft open-file limit towards the hard limit; never lowers it, never raises the hard limit.

    Child processes (uvicorn workers, the analysis pool, loadtest phone processes) inherit the raised limit.
    """
    try:
        import resource
    except ImportError:
        return FdLimit(None, None, None)
    current = probe()
    assert current.soft is not None
    target = _target(current.hard)
    if target <= current.soft:
        return current
    error = None
    for attempt in (target, min(target, DARWIN_MAX_FILES)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (attempt, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
            error = None
            break
        except (ValueError, OSError) as exc:  # macOS: above kern.maxfilesperproc; containers: seccomp
            error = f"setrlimit({attempt}) failed: {exc}"
    after = probe()
    return FdLimit(after.soft, after.hard, current.before, error)


def suggested_limit(needed: int) -> int:
    """A round limit with room to spare: at least 4,096, a multiple of 1,024."""
    return max(4096, -(-needed // 1024) * 1024)


def raise_command(needed: int, command: str = "facilitation serve") -> str:
    """The exact shell command that lets a process reach ``needed`` open files, for this system."""
    value = suggested_limit(needed)
    if sys.platform == "darwin":
        return (f"sudo launchctl limit maxfiles {max(value, 65536)} 200000, then in a new terminal "
                f"`ulimit -n {value}` before `{command}`")
    return (f"`sudo prlimit --pid $$ --nofile={value}:{value}` (raises this shell's limit), then start "
            f"`{command}` from the same shell; for good, add `* hard nofile {max(value, 65536)}` to "
            f"/etc/security/limits.conf and log in again")


def capacity_message(limit: FdLimit, workers: int = 1) -> str:
    """One line for the serve banner: how many phones this process can hold, and why."""
    if limit.soft is None:
        if workers > 1:
            return (f"open files: no per-process limit on this system; each of the {workers} workers can hold "
                    f"about {phone_capacity(WINDOWS_SELECT_SOCKETS)} phones (select() takes "
                    f"{WINDOWS_SELECT_SOCKETS} sockets)")
        return "open files: no per-process limit on this system (Windows): phones are limited by memory"
    raised = f" (raised from {limit.before:,})" if limit.raised else ""
    per = f" per worker, {workers * (limit.phones or 0):,} in all" if workers > 1 else ""
    return f"open files: limit {limit.soft:,}{raised}: this process can hold {limit.phones:,} phones{per}"


def shortfall_message(limit: FdLimit, expect: int, workers: int = 1) -> str | None:
    """A warning naming the exact fix when the expected meeting does not fit, else None."""
    if limit.soft is None:
        per_worker = phone_capacity(WINDOWS_SELECT_SOCKETS)
        if workers > 1 and workers * per_worker < expect:
            return (f"warning: {workers} workers hold about {workers * per_worker} phones on Windows, fewer than "
                    f"the {expect:,} expected: run one process (no --workers) or --workers {-(-expect // per_worker)}")
        return None
    per_process = -(-expect // max(1, workers))
    needed = files_needed(per_process)
    if limit.soft >= needed:
        return None
    why = f"the hard limit is {limit.hard:,}" if limit.hard is not None and limit.hard < needed else (
        limit.error or "the limit could not be raised")
    return (f"warning: this process can hold {limit.phones:,} phones but --expect {expect:,} needs "
            f"{needed:,} open files{' per worker' if workers > 1 else ''} ({why}); phones beyond "
            f"{limit.phones:,} cannot join. Fix: {raise_command(needed)}")


def open_descriptors() -> int | None:
    """Files this process holds now, where the system lists them (Linux /proc, macOS /dev/fd)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except OSError:
            continue
    return None
