"""Texts shared by the Markdown and HTML writers (plain, unescaped), so both show the same words and the
same figures: every share is written with its counts (``5 / 6 · 83%``), never alone."""

from __future__ import annotations

from collections.abc import Sequence

from facilitation.core.vocabulary import SCALES
from facilitation.export.i18n import Catalog, fraction, percent_of
from facilitation.export.needs import NeedsVotes
from facilitation.export.quality import LaneChange
from facilitation.export.summary import LogEntry, Opinion, Share, Summary, Tally, statement_number

__all__ = [
    "accepted_note",
    "lane_check_lines",
    "log_detail",
    "needs_text",
    "opinion_text",
    "rejected_note",
    "share_text",
    "tally_header",
    "tally_text",
    "values_of",
]


def values_of(summary: Summary) -> tuple[str, ...]:
    """The meeting's vote values in the phone's order: ``acceptable`` only on the consent scale."""
    return SCALES.get(summary.scale, SCALES["consent"])


def tally_header(summary: Summary, cat: Catalog) -> str:
    return " / ".join(cat.vote(v) for v in values_of(summary))


def tally_text(tally: Tally, summary: Summary) -> str:
    counts = {"agree": tally.agree, "acceptable": tally.acceptable, "disagree": tally.disagree,
              "pass": tally.passed}
    return " / ".join(str(counts[v]) for v in values_of(summary))


def share_text(share: Share) -> str:
    """``5 / 6 · 83%``; ``-`` when the group did not vote on it."""
    return fraction(share.count, share.of)


def opinion_text(opinion: Opinion, cat: Catalog) -> str:
    """``5 / 6 贊成 · 83%``."""
    return f"{opinion.count} / {opinion.of} {cat.vote(opinion.direction)} · {percent_of(opinion.count, opinion.of)}"


def accepted_note(summary: Summary, cat: Catalog) -> str:
    return cat.t("accepted_cell", accepted=cat.accepted_words(summary.scale), **{"pass": cat.vote("pass")})


def rejected_note(cat: Catalog) -> str:
    return cat.t("rejected_cell", disagree=cat.vote("disagree"), **{"pass": cat.vote("pass")})


def log_detail(entry: LogEntry, cat: Catalog) -> str:
    """A phase change as ``準備中 → 蒐集意見``, a settings change as words; never internal names."""
    if entry.action == "phase":
        return f"{cat.phase(entry.from_phase)} → {cat.phase(entry.to_phase)}"
    if entry.action == "settings":
        return "; ".join(cat.setting(k, v) for k, v in sorted(entry.changes.items()))
    if entry.check is not None:
        return cat.t("check.number", n=entry.check)
    if entry.targets:  # a reword, split or merge: "#1、#2 → #5" in the numbers readers use
        def numbers(ids: tuple[int, ...]) -> str:
            return cat.t("lineage_sep").join(f"#{statement_number(i)}" for i in ids)

        return f"{numbers(entry.sources)} → {numbers(entry.targets)}"
    return ""


def lane_check_lines(summary: Summary, cat: Catalog) -> list[str]:
    """The lane check, one paragraph each: the participants the host left out of the analysis (how many, the
    flags they have, whether any lane changes with their votes put back; ``summary.exclusion``), and the
    voting-quality flags with whether any lane changes without the flagged (``summary.quality``)."""
    lines = []
    if summary.excluded:
        x = summary.exclusion
        sentences = [cat.t("excluded_note", count=len(summary.excluded))]
        if x is not None:
            sentences.append(cat.t("excluded_reasons", same=x.same_answer, fast=x.too_fast, unflagged=x.unflagged))
            sentences.append(cat.t("excluded_not_compared") if not x.compared else cat.t("excluded_no_change")
                             if not x.changes else cat.t("excluded_changes", changes=_changes_text(x.changes, cat)))
        lines.append(cat.join(*sentences))
    if summary.quality is not None:
        q = summary.quality
        verdict = cat.t("quality_not_compared") if not q.compared else cat.t("quality_no_change") \
            if not q.changes else cat.t("quality_changes", changes=_changes_text(q.changes, cat))
        lines.append(cat.join(cat.t("quality_note", count=len(q.flagged), same=q.same_answer, fast=q.too_fast),
                              verdict))
    return lines


def _changes_text(changes: Sequence[LaneChange], cat: Catalog) -> str:
    """``#3 每組多數可接受 → 意見分歧; #5 ...``: the report's lane, then the other."""
    return "; ".join(f"#{statement_number(c.statement)} {cat.lane(c.lane)} → {cat.lane(c.without) or '-'}"
                     for c in changes)


def needs_text(need: NeedsVotes, cat: Catalog) -> str:
    """The console's line (``還需要 3 票：攤商 2、A 組 1``) with each need's counts beside it
    (``攤商 2（3 / 5）``: votes it has / votes its voice needs), so the figure checks against the export."""
    if need.kind != "short":
        return cat.t(f"needs_{need.kind}")

    def name(short_name: str, group: bool) -> str:
        if group:
            return cat.t("check.everyone") if short_name == "all" else cat.t("needs.group", group=short_name)
        return short_name or cat.t("host.no_role")

    who = cat.t("lineage_sep").join(
        cat.t("needs_short", who=name(x.name, group), more=x.more, have=x.have, floor=x.floor)
        for group, shorts in ((False, need.roles), (True, need.groups)) for x in shorts)
    return cat.t("needs.line", n=need.votes, who=who) if need.reachable else cat.t("needs_unreachable", who=who)
