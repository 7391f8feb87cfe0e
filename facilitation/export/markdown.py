"""The session summary as Markdown, in the meeting's language.

Every piece of meeting text (titles, statements, reasons, responses) is untrusted: :func:`escape` turns
HTML metacharacters into entities and backslash-escapes Markdown punctuation, so ``<script>``,
``[x](javascript:...)`` and ``**`` render as the literal characters in any CommonMark renderer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from clustering.consensus import LANE_MIN_VOTES, ROLE_MIN_VOTERS
from facilitation.export._common import (
    accepted_note,
    lane_check_lines,
    log_detail,
    needs_text,
    opinion_text,
    rejected_note,
    share_text,
    tally_header,
    tally_text,
)
from facilitation.export.checks_text import count_head, count_rows, handling_text, meta_text, outcome_text
from facilitation.export.floor import floor_lines
from facilitation.export.i18n import Catalog, catalog, format_date, format_duration, format_time
from facilitation.export.maptable import map_rows
from facilitation.export.notice import notice_caption, notice_rows
from facilitation.export.questions import questions_markdown
from facilitation.export.rounds import round_lines
from facilitation.export.summary import Summary, statement_number
from facilitation.export.svg import map_data_uri

__all__ = ["escape", "render_markdown"]

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def escape(text: str) -> str:
    """Make untrusted text inert Markdown on one line."""
    text = " ".join(text.split())
    text = _PUNCTUATION.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _paragraphs(text: str) -> str:
    """Host text with its line breaks (docs/protocol.md, Text) as Markdown: a blank line between paragraphs,
    a hard break (two trailing spaces) between lines, each line escaped."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n\n".join("  \n".join(escape(line) for line in p.splitlines() if line.strip()) for p in paragraphs)


def _cell_lines(text: str) -> str:
    """Text with line breaks inside a table cell, where Markdown has no line break but `<br>`."""
    return "<br>".join(escape(line) for line in text.splitlines() if line.strip())


def render_markdown(summary: Summary) -> str:
    """The report, section by section in :data:`SECTIONS`' order."""
    cat = catalog(summary.language)
    out: list[str] = []
    for section in SECTIONS:
        section(out, summary, cat)
    return "\n".join(out)


def _heading(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The title and the meeting's facts: topic, date, duration, code, phase, when the report was made."""
    add = out.append
    add(f"# {escape(summary.title)}\n")
    add(f"*{cat.t('report')}*\n")
    if summary.topic:
        add(f"- **{cat.t('new.topic')}**: {escape(summary.topic)}")
    add(f"- **{cat.t('date')}**: {format_date(summary.started_at)}")
    add(f"- **{cat.t('duration')}**: {format_duration(summary.duration_s, cat)}")
    add(f"- **{cat.t('code')}**: {escape(summary.code)}")
    add(f"- **{cat.t('phase')}**: {cat.phase(summary.phase)}")
    add(f"- **{cat.t('generated')}**: {format_time(summary.generated_at)}\n")
    if summary.description:  # its line breaks are kept: hard breaks, and a blank line still parts paragraphs
        add(_paragraphs(summary.description) + "\n")


def _participation(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Who took part: the counters, and participants and votes by stakeholder role."""
    add = out.append
    p = summary.participation
    add(f"## {cat.t('participation')}\n")
    add(f"| {cat.t('counters.participants')} | {cat.t('voters')} | {cat.t('counters.statements')} | "
        f"{cat.t('statements_total')} | {cat.t('counters.votes')} |")
    add("|---:|---:|---:|---:|---:|")
    add(f"| {p.participants} | {p.voters} | {p.statements} | {p.statements_total} | {p.votes} |\n")
    if summary.roles:
        add(f"### {cat.t('by_role')}\n")
        add(f"| {cat.t('role')} | {cat.t('counters.participants')} | {cat.t('counters.votes')} |")
        add("|---|---:|---:|")
        for r in p.by_role:
            add(f"| {escape(r.role) if r.role else cat.t('no_role')} | {r.participants} | {r.votes} |")
        add("")


def _analysis(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Which analysis the report rests on (published, computed, none)."""
    out.append(f"## {cat.t('analysis')}\n")
    out.append(_analysis_note(summary, cat) + "\n")


def _lanes(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The three lanes: acceptable to every group, disputed, rejected, each share with its counts."""
    add = out.append
    group_ids = [g.id for g in summary.groups]
    group_heads = [escape(cat.group(g)) for g in group_ids]
    add(f"## {cat.t('results.everyone_accepts')}\n")
    add(cat.join(cat.t("acceptable_intro"), accepted_note(summary, cat)) + "\n")
    if summary.acceptable:
        roles = [r for r in summary.roles if any(x.name == r for a in summary.acceptable for x in a.roles)]
        head = ["#", cat.t("statement"), *group_heads, *[escape(r) for r in roles]]
        _table(out, head, ["---:", "---", *["---:"] * (len(head) - 2)])
        for a in summary.acceptable:
            shares = {x.name: x for x in a.groups}
            by_role = {x.name: x for x in a.roles}
            cells = [str(statement_number(a.statement)), escape(a.text),
                     *[share_text(shares[g]) if g in shares else "-" for g in group_ids],
                     *[share_text(by_role[r]) if r in by_role else "-" for r in roles]]
            add("| " + " | ".join(cells) + " |")
        add("")
    else:
        add(cat.t("none_yet") + "\n")

    for title, intro, note, items in (
        (cat.t("lane.disputed"), cat.t("disputed_intro"), accepted_note(summary, cat), summary.disputed),
        (cat.t("rejected"), cat.t("rejected_intro"), rejected_note(cat), summary.rejected),
    ):
        add(f"## {title}\n")
        add(cat.join(intro, note) + "\n")
        if not items:
            add(cat.t("none_yet") + "\n")
            continue
        _table(out, ["#", cat.t("statement"), *group_heads], ["---:", "---", *["---:"] * len(group_ids)])
        for d in items:
            shares = {x.name: x for x in d.shares}
            cells = [str(statement_number(d.statement)), escape(d.text),
                     *[share_text(shares[g]) if g in shares else "-" for g in group_ids]]
            add("| " + " | ".join(cells) + " |")
        add("")
    if summary.acceptable or summary.disputed or summary.rejected:
        add(cat.t("ranking_note") + "\n")


def _lane_check(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Who the host left out of the analysis, the voting-quality flags, and whether any lane changes
    without the flagged voters."""
    out.extend(line + "\n" for line in lane_check_lines(summary, cat))


def _needs(out: list[str], summary: Summary, cat: Catalog) -> None:
    """What still needs votes: each unsettled statement, the fewest more votes and from which groups and
    roles, with the counts behind each need."""
    if not summary.needs:
        return
    texts = {s.id: s.text for s in summary.statements}
    out.append(f"## {cat.t('needs.heading')}\n")
    out.append(cat.t("needs_intro", lane_min=LANE_MIN_VOTES, role_min=ROLE_MIN_VOTERS) + "\n")
    _table(out, ["#", cat.t("statement"), cat.t("lane"), cat.t("needs_more")], ["---:", "---", "---", "---"])
    for n in summary.needs:
        out.append(f"| {statement_number(n.statement)} | {escape(texts[n.statement])} | {cat.lane(n.lane)} | "
                   f"{escape(needs_text(n, cat))} |")
    out.append("")


def _importance(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The statements marked "this matters to me", most marked first, as marks of votes."""
    important = sorted((s for s in summary.statements if s.important), key=lambda s: (-s.important, s.id))
    if not important:
        return
    out.append(f"## {cat.t('importance')}\n")
    out.append(cat.t("importance_intro") + "\n")
    _table(out, ["#", cat.t("statement"), cat.t("marks")], ["---:", "---", "---:"])
    for s in important:
        out.append(f"| {s.number} | {escape(s.text)} | {s.important} / {s.tally.seen} |")
    out.append("")


def _floor(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The speaking queue: turns and time by role and group, the roles never heard."""
    if summary.floor is None:
        return
    out.append(f"## {cat.t('floor.report_heading')}\n")
    out.extend(f"- {escape(line)}" for line in floor_lines(summary.floor, cat))
    out.append("")


def _groups(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Each opinion group with its representative statements."""
    add = out.append
    add(f"## {cat.t('groups')}\n")
    if not summary.groups:
        add(cat.t("none_yet") + "\n")
    else:
        add(cat.t("representative_intro", agree=cat.vote("agree"), disagree=cat.vote("disagree")) + "\n")
    for g in summary.groups:
        add(f"### {escape(cat.t('group_heading', group=g.id, people=cat.people(g.size)))}\n")
        for rep in g.representative:
            add(f"- {opinion_text(rep, cat)}{cat.t('colon')}{escape(rep.text)} (#{statement_number(rep.statement)})")
        add("")


def _majority(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The whole room's majority opinions."""
    add = out.append
    add(f"## {cat.t('majority')}\n")
    if not summary.majority:
        add(cat.t("none_yet") + "\n")
    else:
        add(cat.t("majority_intro", agree=cat.vote("agree"), disagree=cat.vote("disagree")) + "\n")
    for m in summary.majority:
        add(f"- {opinion_text(m, cat)}{cat.t('colon')}{escape(m.text)} (#{statement_number(m.statement)})")
    add("")


def _map(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The opinion map as an image, and as a table of what it shows (for screen readers)."""
    add = out.append
    add(f"## {cat.t('projector.map_heading')}\n")
    if summary.map:
        add(f"![{escape(cat.t('projector.map_heading'))}]({map_data_uri(summary, cat)})\n")
        add(cat.t("map_caption") + "\n")
        _table(out, [cat.t("maptable.col_group"), cat.t("maptable.col_people"), cat.t("maptable.col_where")],
               ["---", "---:", "---"])  # the map as a table: what the image shows, for screen readers
        out.extend(f"| {escape(r.name(cat))} | {r.people} | {cat.t(f'maptable.{r.where}')} |"
                   for r in map_rows(summary))
        add("")
    else:
        add(cat.t("none_yet") + "\n")


def _follow_ups(out: list[str], summary: Summary, cat: Catalog) -> None:
    """What the agency answered on each statement it followed up."""
    follow_ups = [s for s in summary.statements if s.follow_up is not None]
    if not follow_ups:
        return
    out.append(f"## {cat.t('follow_up')}\n")
    _table(out, ["#", cat.t("statement"), cat.t("follow_up"), cat.t("response")], ["---:", "---", "---", "---"])
    for s in follow_ups:
        assert s.follow_up is not None
        response = _cell_lines(s.follow_up.response)
        out.append(f"| {s.number} | {escape(s.text)} | {cat.t(s.follow_up.status)} | {response} |")
    out.append("")


def _questions(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The agenda: one section per question, the same cells as the table of every statement."""
    if not summary.questions:
        return
    q_head = ["#", cat.t("statement"), cat.t("lane"), cat.t("overall")]
    q_rows = {s.id: [str(s.number), escape(s.text), cat.lane(s.lane), tally_text(s.tally, summary)]
              for s in summary.statements}
    out.extend(questions_markdown(summary.questions, q_rows, cat, q_head, escape))


def _all_statements(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Every statement with its state, lane, votes overall and by group, and follow-up."""
    group_ids = [g.id for g in summary.groups]
    group_heads = [escape(cat.group(g)) for g in group_ids]
    out.append(f"## {cat.t('all_statements')}\n")
    out.append(cat.t("all_statements_intro", values=tally_header(summary, cat)) + "\n")
    head = ["#", cat.t("statement"), cat.t("state"), cat.t("lane"), cat.t("overall"), *group_heads,
            cat.t("follow_up")]
    _table(out, head, ["---:", "---", "---", "---", "---:", *["---:"] * len(group_ids), "---"])
    for s in summary.statements:
        by_group = {lean.name: lean.tally for lean in s.by_group}
        state = cat.state(s.state) + (cat.t("seeded") if s.seed else "")
        follow = ""
        if s.follow_up is not None:
            follow = cat.t(s.follow_up.status) + (f": {_cell_lines(s.follow_up.response)}" if s.follow_up.response
                                                  else "")
        cells = [str(s.number), escape(s.text), state, cat.lane(s.lane), tally_text(s.tally, summary),
                 *[tally_text(by_group[g], summary) if g in by_group else "-" for g in group_ids], follow]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")


def _moderation_log(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The host's moderation, phase and settings changes, in order."""
    out.append(f"## {cat.t('moderation_log')}\n")
    if not summary.moderation_log:
        out.append(cat.t("none_yet") + "\n")
        return
    _table(out, [cat.t("time"), cat.t("action"), cat.t("statement"), cat.t("reason"), cat.t("detail")],
           ["---", "---", "---:", "---", "---"])
    for e in summary.moderation_log:
        number = "" if e.statement is None else statement_number(e.statement)
        out.append(f"| {format_time(e.at)} | {escape(cat.log_action(e.action))} | "
                   f"{number} | {escape(e.reason)} | {escape(log_detail(e, cat))} |")
    out.append("")


def _privacy(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The privacy notice in force: part of the record."""
    if not (summary.privacy or summary.require_consent):
        return
    out.append(f"## {cat.t('privacy.heading')}\n")
    out.append(escape(notice_caption(summary, cat)) + "\n")
    out.extend(f"- **{escape(label)}**: {escape(text)}" for label, text in notice_rows(summary, cat))
    out.append("")


def _checks(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The consent checks: each draft, its answers by group and role, its objections and their handling."""
    if not summary.checks:
        return
    out.append(f"## {cat.t('check.heading')}\n")
    out.append(cat.t("checks_intro") + "\n")
    for check in summary.checks:
        heading = cat.t("check.number", n=check.id) + cat.t("colon") + outcome_text(check, cat)
        out.append(f"### {escape(heading)}\n")
        out.append(_paragraphs(check.text) + "\n")
        out.append(f"*{escape(meta_text(check, cat))}*\n")
        _table(out, count_head(cat), ["---", "---:", "---:", "---:", "---:"])
        for label, c in count_rows(check, cat):
            out.append(f"| {escape(label)} | {c.consent} | {c.live_with} | {c.object} | {c.answered} |")
        out.append("")
        if check.objections:
            _table(out, ["#", cat.t("reason"), cat.t("objector"), cat.t("handled")], ["---:", "---", "---", "---"])
            for o in check.objections:
                who = cat.join(o.role or cat.t("no_role"), f"({cat.group(o.group)})" if o.group else "")
                out.append(f"| {statement_number(o.statement)} | {escape(o.reason)} | {escape(who)} | "
                           f"{escape(handling_text(o, cat))} |")
            out.append("")


def _rounds(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Every round after the first: what moved on each of its statements, by role and by opinion group."""
    if not summary.rounds:
        return
    out.append(f"## {cat.t('round.report_heading')}\n")
    out.append(cat.t("round.report_intro") + "\n")
    for info in summary.rounds:
        out.append(f"### {escape(cat.t('round.report_round', round=info.round))}\n")
        for statement in info.statements:
            out.append(f"**#{statement_number(statement.statement)}** {escape(statement.text)}\n")
            out.extend(f"- {escape(line)}" for line in round_lines(info, statement, cat))
            out.append("")


def _analysis_note(summary: Summary, cat: Catalog) -> str:
    a = summary.analysis
    if a.source == "published":
        return cat.t("analysis_published", run=a.run)
    return cat.t(f"analysis_{a.source}")


Section = Callable[[list[str], Summary, Catalog], None]
"""A section writer: appends its lines to the report (nothing when the meeting has none of it)."""

SECTIONS: tuple[Section, ...] = (
    _heading, _participation, _analysis, _lanes, _lane_check, _needs, _checks, _importance, _rounds, _floor,
    _groups, _majority, _map, _follow_ups, _questions, _all_statements, _moderation_log, _privacy,
)
"""The report's sections, in reading order."""


def _table(out: list[str], head: list[str], align: list[str]) -> None:
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(align) + "|")
