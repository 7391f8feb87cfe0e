"""`facilitation analyze PATH [--json]`: run the clustering pipeline on a Pol.is export folder.

With `--json` stdout carries exactly the contract's JSON (shared/CONTRACT.md) and nothing else; errors
go to stderr with exit status 2. Without it, a report a facilitator can read: each group with the text
of its representative statements, then group-informed consensus, acceptable-to-all and majority
opinions. `elapsed_ms` is the pipeline's time; reading the files is not included. A reader that stops
early (`| head`) ends the command quietly (cli.main handles that for every command).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterable
from typing import TextIO

from clustering import AnalysisResult, analyze
from clustering.polis_io import PolisConversation, PolisExportError, read_polis_export
from clustering.result import Tally
from clustering.votes import Id

TEXT_WIDTH = 100
"""Report lines wrap at 100 characters."""

REPORT_TOP = 5
"""Statements listed per section of the readable report."""


def run(path: str, as_json: bool) -> int:
    """Analyse the export at `path`; print JSON (`as_json`) or a readable report. Returns the exit code."""
    try:
        conversation = read_polis_export(path)
    except (PolisExportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = analyze(conversation.votes, moderated_out=conversation.moderated_out,
                     statements=conversation.texts.keys())
    if as_json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _report(result, conversation, sys.stdout)
    sys.stdout.flush()
    return 0


def _text(conversation: PolisConversation, statement: Id) -> str:
    return " ".join(conversation.texts.get(statement, "").split()) or "(no text)"


def _item(out: TextIO, label: str, text: str) -> None:
    lines = textwrap.wrap(text, TEXT_WIDTH - len(label) - 4) or [""]
    out.write(f"  {label}  {lines[0]}\n")
    for line in lines[1:]:
        out.write(" " * (len(label) + 4) + line + "\n")


def _section(out: TextIO, title: str, rows: Iterable[tuple[str, str]], empty: str) -> None:
    out.write(f"\n{title}\n")
    wrote = False
    for label, text in rows:
        _item(out, label, text)
        wrote = True
    if not wrote:
        out.write(f"  {empty}\n")


def _count(count: int, seen: int) -> str:
    """A raw count out of those who voted, and that share: "21/24  88%". The library's smoothed shares
    rank statements; a reader is shown what can be checked against the votes."""
    share = f"{count / seen:4.0%}" if seen else "   -"
    return f"{count:>4}/{seen:<4} {share}"


def _in_direction(direction: str, counts: Tally) -> int:
    return counts.disagree if direction == "disagree" else counts.agree


def _worst(counts: dict[str, Tally]) -> str:
    """The least accepting group's accepted (agree or acceptable) of voted, by raw share."""
    if not counts:
        return _count(0, 0)
    tally = min(counts.values(), key=lambda t: (t.accepted / t.seen if t.seen else 0.0))
    return _count(tally.accepted, tally.seen)


def _report(result: AnalysisResult, conversation: PolisConversation, out: TextIO) -> None:
    """Each figure is a raw count of votes out of the votes cast (`_count`)."""
    out.write(f"{result.participants} participants, {result.statements} statements, {result.votes} votes; "
              f"{result.clustered} clustered into {len(result.groups)} groups ({result.elapsed_ms:.1f} ms)\n")
    out.write("Figures are votes, not estimates: 21/24 88% = 21 of the 24 who voted on it (agree, or as stated).\n")
    for group in result.groups:
        rows = [(f"{r.direction:8s} {_count(_in_direction(r.direction, r.counts), r.counts.seen)} #{r.statement}",
                 _text(conversation, r.statement))
                for r in group.representative]
        _section(out, f"Group {group.id}: {group.size} participants", rows, "no representative statements")
    text = conversation
    _section(out, "Group-informed consensus (every group agrees; score = product of each group's smoothed share)",
             ((f"{c.score:.2f} #{c.statement}", _text(text, c.statement)) for c in result.consensus[:REPORT_TOP]),
             "none")
    _section(out, "Accepted by most of every group (clearly over half in every group; the least accepting group shown)",
             ((f"{_worst(a.group_counts)} #{a.statement}", _text(text, a.statement))
              for a in result.acceptable_to_all[:REPORT_TOP]), "none yet")
    _section(out, "Majority opinions (all voters)",
             ((f"{o.direction:8s} {_count(_in_direction(o.direction, o.counts), o.counts.seen)} #{o.statement}",
               _text(text, o.statement))
              for o in result.majority), "none")
    _section(out, "Divisive (groups split: the most and the least accepting group, agree or acceptable)",
             ((f"{d.most} {_accepted(d.counts.get(d.most))} vs {d.least} {_accepted(d.counts.get(d.least))} "
               f"#{d.statement}", _text(text, d.statement))
              for d in result.divisive[:REPORT_TOP]), "none")


def _accepted(counts: Tally | None) -> str:
    return _count(counts.accepted, counts.seen) if counts is not None else _count(0, 0)
