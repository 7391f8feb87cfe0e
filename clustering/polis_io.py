"""Read a Pol.is conversation export folder into the library's input.

Traps handled here (see shared/data/polis/ATTRIBUTION.md):
- `votes.csv` keeps vote history: the latest row per (voter, comment) by `timestamp` wins (ties: the
  later row in the file).
- Exports use agree = +1, disagree = -1, pass = 0 (Pol.is stores agree = -1 internally).
- `comments.csv` `moderated` is -1 for rejected statements: those are moderated out.
- Without `votes.csv`, `participants-votes.csv` (one column per statement, empty = unseen) is used.
- `participants-votes.csv` `group-id` holds the groups Pol.is itself computed at export time, kept
  for comparison only.
Ids stay ints, as in the files (`voter-id`, `comment-id`); `to_dict()` renders them as strings.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clustering.votes import Id, VoteTable

MODERATED_REJECTED = -1
"""`comments.csv` `moderated` value of a statement the moderator rejected."""

PARTICIPANT_VOTES_META = frozenset({"participant", "xid", "group-id", "n-comments", "n-votes",
                                    "n-agree", "n-disagree"})
"""Non-statement columns of `participants-votes.csv`."""


class PolisExportError(ValueError):
    """The folder is not a readable Pol.is export."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"not a Pol.is export: {self.path}: {self.reason}"


@dataclass(frozen=True, eq=False)
class PolisConversation:
    """An export read into library terms."""

    votes: VoteTable
    moderated_out: frozenset[Id]
    texts: dict[Id, str] = field(default_factory=dict)
    moderation: dict[Id, int] = field(default_factory=dict)
    polis_groups: dict[Id, int] = field(default_factory=dict)
    vote_rows: int = 0


def _to_id(text: str) -> Id:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text


def _read_votes(path: Path) -> tuple[VoteTable, int]:
    """Latest vote per (voter, comment): sort rows by timestamp (stable), then let later rows win."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return VoteTable.empty(), 0
    try:
        stamps = np.array([int(float(r["timestamp"])) for r in rows], dtype=np.int64)
        order = np.argsort(stamps, kind="stable")
        voters = [_to_id(rows[i]["voter-id"]) for i in order]
        comments = [_to_id(rows[i]["comment-id"]) for i in order]
        values = [float(rows[i]["vote"]) for i in order]
    except (KeyError, ValueError) as exc:
        raise PolisExportError(path, f"bad votes.csv row ({exc})") from exc
    return VoteTable.from_triples(zip(voters, comments, values, strict=True)), len(rows)


def _read_participant_votes(path: Path) -> tuple[list[tuple[Id, Id, float]], dict[Id, int]]:
    """Votes and Pol.is group ids from the wide participants-votes.csv."""
    triples: list[tuple[Id, Id, float]] = []
    groups: dict[Id, int] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        statement_columns = [c for c in reader.fieldnames or [] if c not in PARTICIPANT_VOTES_META]
        for row in reader:
            pid = _to_id(row["participant"])
            gid = (row.get("group-id") or "").strip()
            if gid:
                groups[pid] = int(float(gid))
            for column in statement_columns:
                cell = (row.get(column) or "").strip()
                if cell:
                    triples.append((pid, _to_id(column), float(cell)))
    return triples, groups


def read_polis_export(folder: str | Path) -> PolisConversation:
    """Read `votes.csv` (or `participants-votes.csv`) and `comments.csv` from an export folder."""
    path = Path(folder)
    if not path.is_dir():
        raise PolisExportError(path, "no such folder")
    votes_file, wide_file, comments_file = (path / "votes.csv", path / "participants-votes.csv",
                                            path / "comments.csv")
    polis_groups: dict[Id, int] = {}
    wide: list[tuple[Id, Id, float]] = []
    if wide_file.exists():
        wide, polis_groups = _read_participant_votes(wide_file)
    if votes_file.exists():
        table, vote_rows = _read_votes(votes_file)
    elif wide_file.exists():
        table, vote_rows = VoteTable.from_triples(wide), len(wide)
    else:
        raise PolisExportError(path, "neither votes.csv nor participants-votes.csv")
    texts: dict[Id, str] = {}
    moderation: dict[Id, int] = {}
    if comments_file.exists():
        with comments_file.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                tid = _to_id(row["comment-id"])
                texts[tid] = row.get("comment-body") or ""
                moderation[tid] = int(float(row.get("moderated") or 0))
    moderated_out = frozenset(t for t, m in moderation.items() if m == MODERATED_REJECTED)
    return PolisConversation(table, moderated_out, texts, moderation, polis_groups, vote_rows)
