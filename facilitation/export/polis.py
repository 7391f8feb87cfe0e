"""The meeting as a Pol.is export folder, readable by red-dwarf and other Pol.is tools.

Files and column headers are Pol.is's own (copied from the public exports in shared/data/polis and
red-dwarf's exporter for ``comment-groups.csv``):

- ``comments.csv``: timestamp, datetime, comment-id, author-id, agrees, disagrees, moderated, comment-body
- ``votes.csv``: timestamp, datetime, comment-id, voter-id, vote (the latest vote per pair only)
- ``participants-votes.csv``: participant, group-id, n-comments, n-votes, n-agree, n-disagree, then one
  column per statement
- ``summary.csv``: two-column rows topic, url, views, voters, voters-in-conv, commenters, comments,
  groups, conversation-description
- ``comment-groups.csv``: comment-id, comment, total-votes/-agrees/-disagrees/-passes, then
  group-{a,b,...}-votes/-agrees/-disagrees/-passes

Votes use Pol.is's export signs: agree = +1, disagree = -1, pass = 0. Pol.is has no "acceptable": it is
written as +1 (it counts as acceptance, the nearest Pol.is meaning), and the exact level is kept in the
sidecar ``facilitation.json`` (with the meeting's settings, statement states, roles and follow-ups), so
``facilitation import-polis`` restores it losslessly while Pol.is tools read plain agree/disagree/pass.

Moderation: accepted -> 1, pending -> 0 (unmoderated), rejected and hidden -> -1. Host-seeded statements
have no author; Pol.is requires one, so they get ``author-id`` = the number of participants, an id no
voter has. Group ids are 0-based in Pol.is order (our A -> 0, B -> 1, ...).

CSV formula injection: a text cell starting with ``= + - @``, tab or CR gets a leading ``'`` so a
spreadsheet shows it as text; numeric columns are written as numbers and left alone.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from facilitation.export.i18n import utc_text
from facilitation.summary import Summary

__all__ = ["POLIS_VALUES", "SIDECAR", "neutralize", "write_polis"]

POLIS_VALUES = {"agree": 1, "acceptable": 1, "pass": 0, "disagree": -1}
MODERATED = {"accepted": 1, "pending": 0, "rejected": -1, "hidden": -1}
SIDECAR = "facilitation.json"
SIDECAR_FORMAT = "facilitation-polis-sidecar"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str) -> str:
    """A text cell a spreadsheet will not evaluate as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _ms(at: float) -> int:
    return round(at * 1000)


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_polis(summary: Summary, folder: str | Path) -> list[Path]:
    """Write the Pol.is files and the sidecar into ``folder`` (created if needed); returns their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    host_author = summary.participation.participants
    group_index = {g.id: i for i, g in enumerate(summary.groups)}
    group_of = {p.participant: p.group for p in summary.map if p.group is not None}
    paths = [out / name for name in ("comments.csv", "votes.csv", "participants-votes.csv", "summary.csv",
                                     "comment-groups.csv", SIDECAR)]

    _write(paths[0], ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated",
                      "comment-body"],
           ([_ms(s.created_at), utc_text(s.created_at), s.id, host_author if s.author is None else s.author,
             s.tally.agree + s.tally.acceptable, s.tally.disagree, MODERATED.get(s.state, 0), neutralize(s.text)]
            for s in summary.statements))

    votes = sorted(summary.votes, key=lambda v: (v.at, v.participant, v.statement))
    _write(paths[1], ["timestamp", "datetime", "comment-id", "voter-id", "vote"],
           ([_ms(v.at), utc_text(v.at), v.statement, v.participant, POLIS_VALUES[v.value]] for v in votes))

    statement_ids = [s.id for s in summary.statements]
    by_participant: dict[int, dict[int, int]] = {}
    for v in summary.votes:
        by_participant.setdefault(v.participant, {})[v.statement] = POLIS_VALUES[v.value]
    info = {p.id: p for p in summary.participants}
    rows = []
    for pid in sorted(by_participant):
        mine = by_participant[pid]
        group = group_of.get(pid)
        rows.append([
            pid, "" if group is None else group_index[group], info[pid].statements if pid in info else 0,
            len(mine), sum(1 for x in mine.values() if x == 1), sum(1 for x in mine.values() if x == -1),
            *[mine.get(s, "") for s in statement_ids],
        ])
    _write(paths[2], ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree",
                      *[str(s) for s in statement_ids]], rows)

    commenters = sum(1 for p in summary.participants if p.statements)
    description = "\n".join(x for x in (summary.topic, summary.description) if x)
    with paths[3].open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerows([
            ["topic", neutralize(summary.title)],
            ["url", neutralize(summary.join_url)],
            ["views", summary.participation.participants],
            ["voters", summary.participation.voters],
            ["voters-in-conv", summary.participation.voters],
            ["commenters", commenters],
            ["comments", len(summary.statements)],
            ["groups", len(summary.groups)],
            ["conversation-description", neutralize(description)],
        ])

    letters = [chr(ord("a") + i) for i in range(len(summary.groups))]
    header = ["comment-id", "comment", "total-votes", "total-agrees", "total-disagrees", "total-passes"]
    for letter in letters:
        header += [f"group-{letter}-votes", f"group-{letter}-agrees", f"group-{letter}-disagrees",
                   f"group-{letter}-passes"]
    group_rows = []
    for s in summary.statements:
        row: list[Any] = [s.id, neutralize(s.text), s.tally.total, s.tally.agree + s.tally.acceptable,
                          s.tally.disagree, s.tally.passed]
        leans = {lean.name: lean.tally for lean in s.by_group}
        for g in summary.groups:
            t = leans.get(g.id)
            row += [0, 0, 0, 0] if t is None else [t.total, t.agree + t.acceptable, t.disagree, t.passed]
        group_rows.append(row)
    _write(paths[4], header, group_rows)

    sidecar = {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "code": summary.code,
        "settings": {"title": summary.title, "topic": summary.topic, "description": summary.description,
                     "language": summary.language, "scale": summary.scale, "roles": list(summary.roles)},
        "phase": summary.phase,
        "statements": {str(s.id): {"state": s.state, "reason": s.reason, "seed": s.seed} for s in summary.statements},
        "roles": {str(p.id): p.role for p in summary.participants if p.role},
        "acceptable": [[v.participant, v.statement] for v in summary.votes if v.value == "acceptable"],
        "follow_ups": {str(s.id): {"status": s.follow_up.status, "response": s.follow_up.response,
                                   "at": s.follow_up.at}
                       for s in summary.statements if s.follow_up is not None},
    }
    paths[5].write_text(json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return paths
