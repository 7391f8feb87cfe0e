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


def _report(result: AnalysisResult, conversation: PolisConversation, out: TextIO) -> None:
    out.write(f"{result.participants} participants, {result.statements} statements, {result.votes} votes; "
              f"{result.clustered} clustered into {len(result.groups)} groups ({result.elapsed_ms:.1f} ms)\n")
    for group in result.groups:
        rows = [(f"{r.direction:8s} {r.share:4.0%} #{r.statement}", _text(conversation, r.statement))
                for r in group.representative]
        _section(out, f"Group {group.id}: {group.size} participants", rows, "no representative statements")
    text = conversation
    _section(out, "Group-informed consensus (every group agrees)",
             ((f"{c.score:.2f} #{c.statement}", _text(text, c.statement)) for c in result.consensus[:REPORT_TOP]),
             "none")
    _section(out, "Acceptable to all (significantly accepted in every group)",
             ((f"{a.worst_share:4.0%} #{a.statement}", _text(text, a.statement))
              for a in result.acceptable_to_all[:REPORT_TOP]), "none yet")
    _section(out, "Majority opinions (all voters)",
             ((f"{o.direction:8s} {o.share:4.0%} #{o.statement}", _text(text, o.statement))
              for o in result.majority), "none")
    _section(out, "Divisive (groups split)",
             ((f"{d.most}>{d.least} {d.spread:+.0%} #{d.statement}", _text(text, d.statement))
              for d in result.divisive[:REPORT_TOP]), "none")
