"""The session summary as Markdown, in the meeting's language.

Every piece of meeting text (titles, statements, reasons, responses) is untrusted: :func:`escape` turns
HTML metacharacters into entities and backslash-escapes Markdown punctuation, so ``<script>``,
``[x](javascript:...)`` and ``**`` render as the literal characters in any CommonMark renderer.
"""

from __future__ import annotations

import re

from facilitation.export._common import lean_text, tally_header, tally_text
from facilitation.export.i18n import Catalog, catalog, format_date, format_duration, format_time, percent
from facilitation.export.svg import map_data_uri
from facilitation.summary import Summary

__all__ = ["escape", "render_markdown"]

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def escape(text: str) -> str:
    """Make untrusted text inert Markdown on one line."""
    text = " ".join(text.split())
    text = _PUNCTUATION.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(summary: Summary) -> str:
    cat = catalog(summary.language)
    out: list[str] = []
    add = out.append
    add(f"# {escape(summary.title)}\n")
    add(f"*{cat.t('report')}*\n")
    if summary.topic:
        add(f"- **{cat.t('topic')}**: {escape(summary.topic)}")
    add(f"- **{cat.t('date')}**: {format_date(summary.started_at)}")
    add(f"- **{cat.t('duration')}**: {format_duration(summary.duration_s, cat)}")
    add(f"- **{cat.t('code')}**: {escape(summary.code)}")
    add(f"- **{cat.t('phase')}**: {escape(summary.phase)}")
    add(f"- **{cat.t('generated')}**: {format_time(summary.generated_at)}\n")
    if summary.description:
        add(escape(summary.description) + "\n")

    p = summary.participation
    add(f"## {cat.t('participation')}\n")
    add(f"| {cat.t('participants')} | {cat.t('voters')} | {cat.t('statements')} | "
        f"{cat.t('statements_total')} | {cat.t('votes')} |")
    add("|---:|---:|---:|---:|---:|")
    add(f"| {p.participants} | {p.voters} | {p.statements} | {p.statements_total} | {p.votes} |\n")
    if summary.roles:
        add(f"### {cat.t('by_role')}\n")
        add(f"| {cat.t('role')} | {cat.t('participants')} | {cat.t('votes')} |")
        add("|---|---:|---:|")
        for r in p.by_role:
            add(f"| {escape(r.role) if r.role else cat.t('no_role')} | {r.participants} | {r.votes} |")
        add("")

    add(f"## {cat.t('analysis')}\n")
    add(_analysis_note(summary, cat) + "\n")

    group_ids = [g.id for g in summary.groups]
    add(f"## {cat.t('acceptable')}\n")
    add(cat.t("acceptable_intro") + "\n")
    if summary.acceptable:
        roles = [r.name for r in summary.acceptable[0].roles]
        head = ["#", cat.t("statement"), *[f"{cat.t('group')} {escape(g)}" for g in group_ids],
                *[escape(r) for r in roles]]
        _table(out, head, ["---:", "---", *["---:"] * (len(head) - 2)])
        for a in summary.acceptable:
            shares = {s.name: s.share for s in (*a.groups, *a.roles)}
            cells = [str(a.statement), escape(a.text),
                     *[percent(shares[g]) if g in shares else "-" for g in (*group_ids, *roles)]]
            add("| " + " | ".join(cells) + " |")
        add("")
    else:
        add(cat.t("none_yet") + "\n")

    for key, items in (("disputed", summary.disputed), ("rejected", summary.rejected)):
        add(f"## {cat.t(key)}\n")
        add(cat.t(f"{key}_intro") + "\n")
        if not items:
            add(cat.t("none_yet") + "\n")
            continue
        head = ["#", cat.t("statement"), *[f"{cat.t('group')} {escape(g)}" for g in group_ids]]
        _table(out, head, ["---:", "---", *["---"] * len(group_ids)])
        for d in items:
            leans = {lean.name: lean for lean in d.leans}
            cells = [str(d.statement), escape(d.text),
                     *[lean_text(leans[g], summary, cat) if g in leans else "-" for g in group_ids]]
            add("| " + " | ".join(cells) + " |")
        add("")

    add(f"## {cat.t('groups')}\n")
    if not summary.groups:
        add(cat.t("none_yet") + "\n")
    for g in summary.groups:
        add(f"### {cat.t('group')} {escape(g.id)} ({cat.t('group_size', n=g.size)})\n")
        add(f"{cat.t('representative')}:\n")
        for rep in g.representative:
            add(f"- {percent(rep.share)} {cat.t('direction_' + rep.direction)}: {escape(rep.text)} "
                f"(#{rep.statement})")
        add("")

    add(f"## {cat.t('majority')}\n")
    if not summary.majority:
        add(cat.t("none_yet") + "\n")
    for m in summary.majority:
        add(f"- {percent(m.share)} {cat.t('direction_' + m.direction)}: {escape(m.text)} (#{m.statement})")
    add("")

    add(f"## {cat.t('map')}\n")
    if summary.map:
        add(f"![{escape(cat.t('map'))}]({map_data_uri(summary, cat.t('map'))})\n")
        add(cat.t("map_caption") + "\n")
    else:
        add(cat.t("none_yet") + "\n")

    follow_ups = [s for s in summary.statements if s.follow_up is not None]
    if follow_ups:
        add(f"## {cat.t('follow_up')}\n")
        _table(out, ["#", cat.t("statement"), cat.t("follow_up"), cat.t("response")], ["---:", "---", "---", "---"])
        for s in follow_ups:
            assert s.follow_up is not None
            add(f"| {s.id} | {escape(s.text)} | {cat.t(s.follow_up.status)} | {escape(s.follow_up.response)} |")
        add("")

    add(f"## {cat.t('all_statements')}\n")
    add(f"{cat.t('votes')}: {tally_header(summary, cat)}\n")
    head = ["#", cat.t("statement"), cat.t("state"), cat.t("lane"), cat.t("overall"),
            *[f"{cat.t('group')} {escape(g)}" for g in group_ids], cat.t("follow_up")]
    _table(out, head, ["---:", "---", "---", "---", "---", *["---"] * len(group_ids), "---"])
    for s in summary.statements:
        by_group = {lean.name: lean.tally for lean in s.by_group}
        state = cat.state(s.state) + (f" ({cat.t('seed')})" if s.seed else "")
        follow = ""
        if s.follow_up is not None:
            follow = cat.t(s.follow_up.status) + (f": {escape(s.follow_up.response)}" if s.follow_up.response else "")
        cells = [str(s.id), escape(s.text), state, cat.lane(s.lane), tally_text(s.tally, summary),
                 *[tally_text(by_group[g], summary) if g in by_group else "-" for g in group_ids], follow]
        add("| " + " | ".join(cells) + " |")
    add("")

    add(f"## {cat.t('moderation_log')}\n")
    if not summary.moderation_log:
        add(cat.t("none_yet") + "\n")
    else:
        _table(out, [cat.t("time"), cat.t("action"), cat.t("statement"), cat.t("reason"), cat.t("detail")],
               ["---", "---", "---:", "---", "---"])
        for e in summary.moderation_log:
            add(f"| {format_time(e.at)} | {escape(cat.log_action(e.action))} | "
                f"{'' if e.statement is None else e.statement} | {escape(e.reason)} | {escape(e.detail)} |")
        add("")
    return "\n".join(out)


def _analysis_note(summary: Summary, cat: Catalog) -> str:
    a = summary.analysis
    if a.source == "published":
        return cat.t("analysis_published", run=a.run, seq=a.seq)
    return cat.t(f"analysis_{a.source}")


def _table(out: list[str], head: list[str], align: list[str]) -> None:
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(align) + "|")
