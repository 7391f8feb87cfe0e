"""The consent checks in words, for every writer (Markdown, HTML and so PDF, the record): one sentence per
outcome, one row of counts per group and role, one line per objection's handling.

The outcome sentence is exactly as strong as its rule: "no one of the N who answered objects" only when N > 0
and no answer is an objection, never "everyone agrees" (who did not answer is not counted as agreeing).
"""

from __future__ import annotations

from facilitation.export.consent import AnswerCounts, ConsentCheck, ObjectionInfo
from facilitation.export.i18n import Catalog, format_time
from facilitation.export.summary import statement_number

__all__ = ["answer_word", "count_head", "count_rows", "handling_text", "meta_text", "outcome_text"]


def answer_word(answer: str, cat: Catalog) -> str:
    return cat.t(f"check.{answer}")


def outcome_text(check: ConsentCheck, cat: Catalog) -> str:
    c = check.counts
    return cat.t(f"check.outcome_{check.outcome}", n=c.answered, object=c.object)


def meta_text(check: ConsentCheck, cat: Catalog) -> str:
    closed = format_time(check.closed_at) if check.closed_at is not None else cat.t("check_still_open")
    numbers = ", ".join(f"#{statement_number(s)}" for s in check.statements) or "-"
    return cat.t("check_meta", opened=format_time(check.opened_at), closed=closed, statements=numbers)


def count_rows(check: ConsentCheck, cat: Catalog) -> list[tuple[str, AnswerCounts]]:
    """(label, counts): everyone, then each opinion group, then each stakeholder role that answered."""
    rows = [(cat.t("check.everyone"), check.counts)]
    rows += [(cat.group(g.name), g) for g in check.by_group]
    rows += [(r.name or cat.t("no_role"), r) for r in check.by_role]
    return rows


def count_head(cat: Catalog) -> list[str]:
    return ["", cat.t("check.consent"), cat.t("check.live_with"), cat.t("check.object"), cat.t("answered")]


def handling_text(objection: ObjectionInfo, cat: Catalog) -> str:
    parts: list[str] = []
    if objection.state == "accepted":
        parts.append(cat.t("handled_accepted", n=statement_number(objection.statement)))
    elif objection.state in ("pending", "rejected", "hidden"):
        parts.append(cat.t(f"handled_{objection.state}"))
    if objection.taken_into is not None:
        parts.append(cat.t("handled_taken", check=objection.taken_into))
    if not objection.still_objects:
        parts.append(cat.t("handled_withdrawn", answer=answer_word(objection.latest_answer, cat)))
    if objection.next_answer:
        parts.append(cat.t("handled_next", check=objection.next_check, answer=answer_word(objection.next_answer, cat)))
    return ("；" if cat.language == "zh-TW" else "; ").join(parts)
