"""Read a Pol.is conversation export folder into the library's input.

Traps handled here (see shared/data/polis/ATTRIBUTION.md):
- `votes.csv` keeps vote history: the latest row per (voter, comment) by `timestamp` wins (ties: the
  later row in the file).
- Exports use agree = +1, disagree = -1, pass = 0 (Pol.is stores agree = -1 internally).
- `comments.csv` `moderated` is -1 for rejected statements: those are moderated out.
- Without `votes.csv`, `participants-votes.csv` (one column per statement, empty = unseen) is used.
- `participants-votes.csv` `group-id` holds the groups Pol.is itself computed at export time, kept
  for comparison only.
- Files re-saved by a spreadsheet: UTF-8 with a byte-order mark (Excel's "CSV UTF-8") and CRLF line
  ends read as the original; other encodings (Excel's default in Taiwan is Big5), rows cut short, vote
  values other than 1, -1 and 0 and unreadable numbers are refused with `PolisExportError`, naming the
  file and the line (`read_rows`, the one place export CSV files are opened, also for
  `facilitation import-polis`).
Ids stay ints, as in the files (`voter-id`, `comment-id`); `to_dict()` renders them as strings.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from clustering.votes import Id, VoteTable

T = TypeVar("T")

POLIS_VOTE_VALUES = frozenset({1.0, -1.0, 0.0})
"""The vote values of a Pol.is export: agree, disagree, pass."""

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
    if not text:
        raise ValueError("an empty id")
    return int(text) if text.lstrip("-").isdigit() else text


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of one export CSV file as dicts keyed by its header.

    UTF-8 with or without a byte-order mark; blank lines are skipped. A file that is not UTF-8, has no
    header, or has a row with fewer fields than the header (a file cut short) is refused, naming the file
    and the line."""
    line = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames:
                raise PolisExportError(path, "empty file (no header row)")
            rows = []
            for row in reader:
                line = reader.line_num
                if None in row.values():
                    raise PolisExportError(path, f"line {line}: fewer fields than the header (cut short?)")
                rows.append(row)
            return rows
    except UnicodeDecodeError as exc:
        raise PolisExportError(path, f"not UTF-8 text near byte {exc.start} (re-save it as \"CSV UTF-8\")") from exc
    except csv.Error as exc:
        raise PolisExportError(path, f"line {line + 1}: {exc}") from exc


def _number(text: str | None) -> float:
    """A finite number from a CSV field (ValueError otherwise: text, empty, nan, inf)."""
    value = float((text or "").strip())
    if not np.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _vote(text: str | None) -> float:
    value = _number(text)
    if value not in POLIS_VOTE_VALUES:
        raise ValueError(f"vote {text!r} is not 1, -1 or 0")
    return value


def _parse(path: Path, rows: list[dict[str, str]], parse_row: Callable[[dict[str, str]], T]) -> list[T]:
    """`parse_row` on every row; a missing column or a bad value is refused naming the file and line."""
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            out.append(parse_row(row))
        except KeyError as exc:
            raise PolisExportError(path, f"no column {exc}") from exc
        except ValueError as exc:
            raise PolisExportError(path, f"line {line}: {exc}") from exc
    return out


def _read_votes(path: Path) -> tuple[VoteTable, int]:
    """Latest vote per (voter, comment): sort rows by timestamp (stable), then let later rows win."""
    rows = _parse(path, read_rows(path), lambda r: (int(_number(r["timestamp"])), _to_id(r["voter-id"]),
                                                    _to_id(r["comment-id"]), _vote(r["vote"])))
    if not rows:
        return VoteTable.empty(), 0
    order = np.argsort(np.array([r[0] for r in rows], dtype=np.int64), kind="stable").tolist()
    return VoteTable.from_triples((rows[i][1], rows[i][2], rows[i][3]) for i in order), len(rows)


def _read_participant_votes(path: Path) -> tuple[list[tuple[Id, Id, float]], dict[Id, int]]:
    """Votes and Pol.is group ids from the wide participants-votes.csv."""
    rows = read_rows(path)
    statement_columns = [c for c in (rows[0] if rows else {}) if c not in PARTICIPANT_VOTES_META]

    def parse(row: dict[str, str]) -> tuple[Id, int | None, list[tuple[Id, float]]]:
        gid = (row.get("group-id") or "").strip()
        cells = [(column, (row.get(column) or "").strip()) for column in statement_columns]
        return (_to_id(row["participant"]), int(_number(gid)) if gid else None,
                [(_to_id(column), _vote(cell)) for column, cell in cells if cell])

    triples: list[tuple[Id, Id, float]] = []
    groups: dict[Id, int] = {}
    for pid, gid, votes in _parse(path, rows, parse):
        if gid is not None:
            groups[pid] = gid
        triples.extend((pid, statement, value) for statement, value in votes)
    return triples, groups


def _read_comments(path: Path) -> tuple[dict[Id, str], dict[Id, int]]:
    """Statement texts and moderation states from comments.csv."""
    rows = _parse(path, read_rows(path), lambda r: (_to_id(r["comment-id"]), r.get("comment-body") or "",
                                                    int(_number(r.get("moderated") or "0"))))
    return {tid: text for tid, text, _ in rows}, {tid: moderated for tid, _, moderated in rows}


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
        texts, moderation = _read_comments(comments_file)
    moderated_out = frozenset(t for t, m in moderation.items() if m == MODERATED_REJECTED)
    return PolisConversation(table, moderated_out, texts, moderation, polis_groups, vote_rows)
