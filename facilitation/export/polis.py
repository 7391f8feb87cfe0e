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
have no author; Pol.is requires one, so they get an ``author-id`` no participant has (one above the
largest). Group ids are 0-based in Pol.is order (our A -> 0, B -> 1, ...).

Ids: a meeting imported with ``facilitation import-polis`` keeps its Pol.is ids in the event log
(:func:`voter_token`, :func:`statement_op`); given the log, :func:`polis_ids` recovers them and
``write_polis`` writes the original ``voter-id`` and ``comment-id`` everywhere (sidecar included), so
import then export is the identity on ids and an analysis of the export equals the original's member by
member. Participants and statements without a Pol.is id (added live after the import, or a meeting that
was never imported) get ids above every original one, in meeting order; without the log, meeting ids.

CSV formula injection: a text cell starting with ``= + - @``, tab or CR gets a leading ``'`` so a
spreadsheet shows it as text; numeric columns are written as numbers and left alone.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facilitation.core.events import Event, ParticipantJoined, StatementPosted
from facilitation.export.i18n import utc_text
from facilitation.export.questions import write_questions_csv
from facilitation.export.rounds import write_rounds_csv
from facilitation.export.summary import Summary

__all__ = [
    "POLIS_VALUES",
    "SIDECAR",
    "VOTER_TOKEN_PREFIX",
    "PolisIds",
    "neutralize",
    "polis_ids",
    "statement_op",
    "voter_token",
    "write_polis",
]

VOTER_TOKEN_PREFIX = "polis-voter:"
"""An imported voter's ``token_hash``: this prefix and the Pol.is voter id. Not a SHA-256 hex digest, so
no participant token hashes to it (nobody can sign in as an imported voter)."""
_VOTER = re.compile(r"^polis-voter:(-?\d+)$")
_STATEMENT = re.compile(r"^polis-(-?\d+)$")


def voter_token(voter: int) -> str:
    """The ``token_hash`` an imported Pol.is voter joins with."""
    return f"{VOTER_TOKEN_PREFIX}{voter}"


def statement_op(comment: int) -> str:
    """The ``op`` an imported Pol.is comment is seeded with."""
    return f"polis-{comment}"


@dataclass(frozen=True)
class PolisIds:
    """Meeting id -> Pol.is id, for participants and statements that came from a Pol.is import."""

    participants: dict[int, int] = field(default_factory=dict)
    statements: dict[int, int] = field(default_factory=dict)


def _injective(pairs: dict[int, int]) -> dict[int, int]:
    """Drop every pair whose Pol.is id is claimed twice (a host could seed ``polis-7`` by hand)."""
    claims: dict[int, int] = {}
    for original in pairs.values():
        claims[original] = claims.get(original, 0) + 1
    return {ours: original for ours, original in pairs.items() if claims[original] == 1}


def polis_ids(events: Iterable[Event]) -> PolisIds:
    """The Pol.is ids recorded by ``import-polis`` in a meeting's log (host seeds only, for statements)."""
    participants: dict[int, int] = {}
    statements: dict[int, int] = {}
    for event in events:
        if isinstance(event, ParticipantJoined):
            m = _VOTER.match(event.token_hash)
            if m:
                participants[event.participant] = int(m.group(1))
        elif isinstance(event, StatementPosted) and event.seed and event.author is None:
            m = _STATEMENT.match(event.op)
            if m:
                statements[event.statement] = int(m.group(1))
    return PolisIds(_injective(participants), _injective(statements))


class _Renumber:
    """Meeting ids -> exported ids: the Pol.is id when known, else a fresh id above every Pol.is id."""

    def __init__(self, known: dict[int, int], ours: Iterable[int]) -> None:
        mine = sorted(set(ours) | set(known))
        if not known:  # never imported: the meeting's own ids
            self.map = {o: o for o in mine}
            self.next_free = (mine[-1] + 1) if mine else 0
            return
        self.map = dict(known)
        free = max(known.values()) + 1
        for o in mine:
            if o not in self.map:
                self.map[o] = free
                free += 1
        self.next_free = free

    def __call__(self, ours: int) -> int:
        return self.map[ours]


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


def write_polis(summary: Summary, folder: str | Path, ids: PolisIds | None = None) -> list[Path]:
    """Write the Pol.is files and the sidecar into ``folder`` (created if needed); returns their paths.
    ``ids``: the meeting's Pol.is ids (:func:`polis_ids` of its events), so an imported meeting keeps them."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ids = ids or PolisIds()
    everyone = {p.id for p in summary.participants} | {v.participant for v in summary.votes}
    everyone |= {s.author for s in summary.statements if s.author is not None}
    pid = _Renumber(ids.participants, everyone)
    sid = _Renumber(ids.statements, [s.id for s in summary.statements])
    paths = [out / name for name in ("comments.csv", "votes.csv", "participants-votes.csv", "summary.csv",
                                     "comment-groups.csv", SIDECAR)]
    _write_comments(summary, paths[0], pid, sid)
    _write_votes(summary, paths[1], pid, sid)
    _write_participants_votes(summary, paths[2], pid, sid)
    _write_summary(summary, paths[3])
    _write_comment_groups(summary, paths[4], sid)
    paths[5].write_text(json.dumps(_sidecar(summary, pid, sid), ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    if summary.rounds:  # every vote cast in a round after the first, beside the vote it replaced
        paths.append(out / "rounds.csv")
        write_rounds_csv(summary.rounds, paths[-1], pid, sid)
    if summary.questions:  # the agenda: each comment's question (facilitation/export/questions.py)
        paths.append(write_questions_csv(summary.questions, out / "questions.csv", sid))
    if summary.needs:  # what still needs votes, each need beside the counts comment-groups.csv holds
        paths.append(out / "needs.csv")
        _write_needs(summary, paths[-1], sid)
    return paths


def _write_needs(summary: Summary, path: Path, sid: _Renumber) -> None:
    """``needs.csv`` (ours, not Pol.is's): one row per group or role short of votes on an unsettled statement,
    the statement's fewest more votes repeated on each of its rows (a statement nothing is short on gets one
    row with its ``kind`` and no unit). ``unit`` is ``group`` (``name`` the letter of comment-groups.csv, whose
    ``group-<letter>-votes`` is ``have``), ``room`` (no groups: ``total-votes``, without excluded voters) or
    ``role``."""
    letter = {g.id: chr(ord("a") + i) for i, g in enumerate(summary.groups)}
    rows: list[list[Any]] = []
    for n in summary.needs:
        head = [sid(n.statement), n.votes, int(n.reachable), n.kind]
        units = [("room" if x.name == "all" else "group", letter.get(x.name, x.name), x) for x in n.groups]
        units += [("role", neutralize(x.name), x) for x in n.roles]
        rows += [[*head, unit, name, x.more, x.have, x.floor] for unit, name, x in units] or [[*head, *[""] * 5]]
    _write(path, ["comment-id", "votes", "reachable", "kind", "unit", "name", "more", "have", "floor"], rows)


def _write_comments(summary: Summary, path: Path, pid: _Renumber, sid: _Renumber) -> None:
    """``comments.csv``: each statement with its author (host seeds: an id no participant has), its agree
    (acceptable included) and disagree counts, and its moderation."""
    host_author = pid.next_free
    _write(path, ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated",
                  "comment-body"],
           ([_ms(s.created_at), utc_text(s.created_at), sid(s.id), host_author if s.author is None else pid(s.author),
             s.tally.agree + s.tally.acceptable, s.tally.disagree, MODERATED.get(s.state, 0), neutralize(s.text)]
            for s in summary.statements))


def _write_votes(summary: Summary, path: Path, pid: _Renumber, sid: _Renumber) -> None:
    """``votes.csv``: the latest vote per pair, in time order."""
    votes = sorted(summary.votes, key=lambda v: (v.at, pid(v.participant), sid(v.statement)))
    # Pol.is adds a 0/1 "important" value per vote when its conversation enables importance
    # (compdemocracy/polis#2224); here when anyone marked a statement, so an unmarked meeting's file is unchanged
    marked = any(v.important for v in votes)
    _write(path, ["timestamp", "datetime", "comment-id", "voter-id", "vote", *(["important"] if marked else [])],
           ([_ms(v.at), utc_text(v.at), sid(v.statement), pid(v.participant), POLIS_VALUES[v.value],
             *([int(v.important)] if marked else [])]
            for v in votes))


def _write_participants_votes(summary: Summary, path: Path, pid: _Renumber, sid: _Renumber) -> None:
    """``participants-votes.csv``: one row per voter with their group and counts, one column per statement."""
    group_index = {g.id: i for i, g in enumerate(summary.groups)}
    group_of = {pid(p.participant): p.group for p in summary.map if p.group is not None}
    statement_ids = [sid(s.id) for s in summary.statements]
    by_participant: dict[int, dict[int, int]] = {}
    for v in summary.votes:
        by_participant.setdefault(pid(v.participant), {})[sid(v.statement)] = POLIS_VALUES[v.value]
    info = {pid(p.id): p for p in summary.participants}
    rows = []
    for voter in sorted(by_participant):
        mine = by_participant[voter]
        group = group_of.get(voter)
        rows.append([
            voter, "" if group is None else group_index[group], info[voter].statements if voter in info else 0,
            len(mine), sum(1 for x in mine.values() if x == 1), sum(1 for x in mine.values() if x == -1),
            *[mine.get(s, "") for s in statement_ids],
        ])
    _write(path, ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree",
                  *[str(s) for s in statement_ids]], rows)


def _write_summary(summary: Summary, path: Path) -> None:
    """``summary.csv``: Pol.is's two-column conversation facts."""
    commenters = sum(1 for p in summary.participants if p.statements)
    description = "\n".join(x for x in (summary.topic, summary.description) if x)
    with path.open("w", newline="", encoding="utf-8") as f:
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


def _write_comment_groups(summary: Summary, path: Path, sid: _Renumber) -> None:
    """``comment-groups.csv``: each statement's votes, agrees, disagrees and passes in all and by group."""
    letters = [chr(ord("a") + i) for i in range(len(summary.groups))]
    header = ["comment-id", "comment", "total-votes", "total-agrees", "total-disagrees", "total-passes"]
    for letter in letters:
        header += [f"group-{letter}-votes", f"group-{letter}-agrees", f"group-{letter}-disagrees",
                   f"group-{letter}-passes"]
    group_rows = []
    for s in summary.statements:
        row: list[Any] = [sid(s.id), neutralize(s.text), s.tally.seen, s.tally.agree + s.tally.acceptable,
                          s.tally.disagree, s.tally.passed]
        leans = {lean.name: lean.tally for lean in s.by_group}
        for g in summary.groups:
            t = leans.get(g.id)
            row += [0, 0, 0, 0] if t is None else [t.seen, t.agree + t.acceptable, t.disagree, t.passed]
        group_rows.append(row)
    _write(path, header, group_rows)


def _sidecar(summary: Summary, pid: _Renumber, sid: _Renumber) -> dict[str, Any]:
    """``facilitation.json``: what Pol.is's files cannot hold (settings, phase, statement states and reasons,
    roles, acceptable votes, follow-ups, lineage), in the exported ids, for ``import-polis``."""
    return {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "code": summary.code,
        "settings": {"title": summary.title, "topic": summary.topic, "description": summary.description,
                     "language": summary.language, "scale": summary.scale, "roles": list(summary.roles),
                     "moderation": summary.moderation, "max_statement_chars": summary.max_statement_chars,
                     "ask_nickname": summary.ask_nickname},
        "phase": summary.phase,
        "statements": {str(sid(s.id)): {"state": s.state, "reason": s.reason, "seed": s.seed}
                       for s in summary.statements},
        "roles": {str(pid(p.id)): p.role for p in summary.participants if p.role},
        "acceptable": [[pid(v.participant), sid(v.statement)] for v in summary.votes if v.value == "acceptable"],
        "follow_ups": {str(sid(s.id)): {"status": s.follow_up.status, "response": s.follow_up.response,
                                        "at": s.follow_up.at}
                       for s in summary.statements if s.follow_up is not None},
        "lineage": [{"kind": link.kind, "sources": [sid(x) for x in link.sources],
                     "targets": [sid(x) for x in link.targets], "at": link.at} for link in summary.lineage],
    }
