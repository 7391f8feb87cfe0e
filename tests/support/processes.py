"""Processes read from /proc: what a process started (its descendants) and which TCP ports they listen on.
Found by parent pid and socket inode, never by name: the machine is shared, and only what a test or a
bench started is its business."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["alive", "descendants", "listening_ports"]


def _stat(pid: int | str) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid``, None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The name (2nd field) is in parentheses and may hold spaces: the fields after the last ')' are fixed.
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    return state, int(ppid)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    found = _stat(pid)
    return found is not None and found[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid``, children first, then theirs; zombies left out."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(entry)) is not None and found[0] != "Z":
            children.setdefault(found[1], []).append(int(entry))
    out: list[int] = []
    queue = list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        out.append(child)
        queue.extend(children.get(child, []))
    return out


def listening_ports(pids: list[int]) -> set[int]:
    """The TCP ports (IPv4 and IPv6) on which any of ``pids`` holds a listening socket."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
