"""Helpers shared by the Markdown and HTML writers: vote columns and cell texts (plain, unescaped)."""

from __future__ import annotations

from facilitation.export.i18n import Catalog, percent
from facilitation.summary import GroupLean, Summary, Tally

__all__ = ["lean_text", "tally_header", "tally_text", "values_of"]


def values_of(summary: Summary) -> tuple[str, ...]:
    """Vote values shown in tables: ``acceptable`` only on the consent scale."""
    if summary.scale == "consent":
        return ("agree", "acceptable", "disagree", "pass")
    return ("agree", "disagree", "pass")


def tally_header(summary: Summary, cat: Catalog) -> str:
    return " / ".join(cat.vote(v) for v in values_of(summary))


def tally_text(tally: Tally, summary: Summary) -> str:
    counts = {"agree": tally.agree, "acceptable": tally.acceptable, "disagree": tally.disagree,
              "pass": tally.passed}
    return " / ".join(str(counts[v]) for v in values_of(summary))


def lean_text(lean: GroupLean, summary: Summary, cat: Catalog) -> str:
    """``60% agree · 30% disagree`` (values with a zero share left out)."""
    if not lean.tally.total:
        return "-"
    parts = [f"{percent(lean.tally.share(v))} {cat.vote(v)}" for v in values_of(summary) if lean.tally.share(v)]
    return " · ".join(parts)
