"""The session summary as one self-contained HTML page that prints cleanly on A4.

Everything from the meeting goes through :func:`html.escape`; the map is inline SVG built from numbers
and escaped letters. No scripts, no external resources: the page can be mailed, archived or rendered to
PDF (:mod:`facilitation.export.pdf`) as it is. Fonts: Noto Sans CJK TC first, so Traditional Chinese
renders with the same font on screen and in the PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

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
from facilitation.export.questions import questions_html
from facilitation.export.rounds import round_lines
from facilitation.export.summary import Opinion, Summary, statement_number
from facilitation.export.svg import map_svg

__all__ = ["CSS", "render_html"]

PHONE_CSS = """
@media screen and (max-width: 40rem) {
  .scroll { overflow: visible; }
  table, tbody, tr, td { display: block; width: auto; }
  table { font-size: 1rem; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  tr { border: 1px solid #bbb; border-radius: 6px; margin: 0 0 0.6rem; padding: 0.35rem 0.6rem; }
  td { border: 0; padding: 0.1rem 0; display: flex; justify-content: space-between; align-items: baseline;
       gap: 0.8rem; text-align: right; white-space: normal; }
  td::before { content: attr(data-label); font-weight: bold; text-align: left; color: #333; flex: 0 1 auto; }
  td:empty, td.lines:empty { display: none; }
  td.n, td.label { white-space: normal; }
  td.id, td.text { display: inline; padding: 0; text-align: left; }
  td.id { font-weight: bold; margin-right: 0.4em; }
  td.id::before { content: "#"; font-weight: bold; color: inherit; }
  td.text::before { content: none; }
  td.id + td.text { font-weight: bold; }
  td.text { min-width: 0; }
  td.text + td { margin-top: 0.3rem; }
  td.lines { display: block; text-align: left; }
  td.lines::before { display: block; }
}
"""
"""A phone reads each table row as a card: the statement with its number first, then one line per column
("A 組　5 / 6 · 83%"), the column's name from the cell's ``data-label``. Print (and WeasyPrint, which
renders print) keeps the tables."""

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #666; } }
html { font-family: "Noto Sans CJK TC", "Noto Sans TC", "Noto Sans", "Helvetica Neue", Arial, sans-serif;
       font-size: 16px; line-height: 1.5; color: #111; -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
html:lang(en) { font-family: "Noto Sans", "Helvetica Neue", Arial, "DejaVu Sans", "Noto Sans CJK TC", sans-serif; }
body { max-width: 60rem; margin: 0 auto; padding: 0 0.9rem 2rem; }
h1 { font-size: 1.6rem; margin: 1rem 0 0.2rem; line-height: 1.25; }
h2 { font-size: 1.25rem; margin: 1.6rem 0 0.4rem; border-bottom: 1px solid #ccc; page-break-after: avoid;
     break-after: avoid; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.2rem; page-break-after: avoid; break-after: avoid; }
p, li, td.text, dl.meta dd { overflow-wrap: break-word; }
@media screen { p, li, td.text, dl.meta dd { overflow-wrap: anywhere; } th, td { word-break: keep-all; }
                td.text { word-break: normal; } }
.subtitle { color: #555; margin: 0 0 0.6rem; }
.description { white-space: pre-line; }  /* the host's line breaks are kept (docs/protocol.md, Text) */
dl.meta { display: grid; grid-template-columns: fit-content(55%) minmax(0, 1fr); gap: 0.1rem 1rem; margin: 0 0 0.6rem; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.3rem 0 0.8rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.4rem; vertical-align: top; text-align: left; }
td.text { min-width: 11rem; }
th { background: #f2f2f2; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.label, th { white-space: nowrap; }
td.lines { white-space: pre-line; }
tr { page-break-inside: avoid; break-inside: avoid; }
thead { display: table-header-group; }
.map svg { display: block; width: 100%; height: auto; }
.note { color: #444; }
ul.opinions { padding-left: 1.2rem; }
.figure { font-weight: bold; white-space: nowrap; font-variant-numeric: tabular-nums; }
@media (max-width: 40rem) {
  html { font-size: 17px; }
  table { font-size: 0.85rem; }
}
""" + PHONE_CSS + """
@media print {  /* WeasyPrint: "overflow-wrap: anywhere" would make its table layout ~10x slower */
  html { font-size: 10pt; line-height: 1.45; }
  body { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  table { font-size: 8.5pt; }
  td.text { min-width: 0; }
  .map svg { max-height: 120mm; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(summary: Summary) -> str:
    """The page, section by section in :data:`SECTIONS`' order."""
    cat = catalog(summary.language)
    out: list[str] = []
    for section in SECTIONS:
        section(out, summary, cat)
    out.append("</body></html>")
    return "\n".join(out)


def _heading(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The document head, the title and the meeting's facts: topic, date, duration, code, phase."""
    e = escape
    add = out.append
    add("<!DOCTYPE html>")
    add(f'<html lang="{"zh-Hant-TW" if cat.language == "zh-TW" else "en"}"><head><meta charset="utf-8">')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add(f"<title>{e(summary.title)} · {e(cat.t('report'))}</title>")
    add(f"<style>{CSS}</style></head><body>")
    add(f"<h1>{e(summary.title)}</h1>")
    add(f'<p class="subtitle">{e(cat.t("report"))}</p>')
    add('<dl class="meta">')
    meta = []
    if summary.topic:
        meta.append((cat.t("new.topic"), summary.topic))
    meta += [
        (cat.t("date"), format_date(summary.started_at)),
        (cat.t("duration"), format_duration(summary.duration_s, cat)),
        (cat.t("code"), summary.code),
        (cat.t("phase"), cat.phase(summary.phase)),
        (cat.t("generated"), format_time(summary.generated_at)),
    ]
    for key, value in meta:
        add(f"<dt>{e(key)}</dt><dd>{e(value)}</dd>")
    add("</dl>")
    if summary.description:
        add(f'<p class="description">{e(summary.description)}</p>')


def _participation(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Who took part: the counters, and participants and votes by stakeholder role."""
    e = escape
    p = summary.participation
    _h2(out, "participation", cat.t("participation"))
    out.append('<dl class="meta">')  # label: number pairs read well on a phone, where a 5-column table does not
    for label, number in ((cat.t("counters.participants"), p.participants), (cat.t("voters"), p.voters),
                          (cat.t("counters.statements"), p.statements), (cat.t("statements_total"), p.statements_total),
                          (cat.t("counters.votes"), p.votes)):
        out.append(f'<dt>{e(label)}</dt><dd class="n">{number}</dd>')
    out.append("</dl>")
    if summary.roles:
        out.append(f"<h3>{e(cat.t('by_role'))}</h3>")
        _table(out, [cat.t("role"), cat.t("counters.participants"), cat.t("counters.votes")],
               [[e(r.role) if r.role else e(cat.t("no_role")), _n(r.participants), _n(r.votes)]
                for r in p.by_role])


def _analysis(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Which analysis the report rests on (published, computed, none)."""
    _h2(out, "analysis", cat.t("analysis"))
    out.append(f'<p class="note">{escape(_analysis_note(summary, cat))}</p>')


def _lanes(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The three lanes: acceptable to every group, disputed, rejected, each share with its counts."""
    e = escape
    add = out.append
    group_ids = [g.id for g in summary.groups]
    group_heads = [cat.group(g) for g in group_ids]
    _h2(out, "acceptable", cat.t("results.everyone_accepts"))
    add(f'<p class="note">{e(cat.join(cat.t("acceptable_intro"), accepted_note(summary, cat)))}</p>')
    if summary.acceptable:
        roles = [r for r in summary.roles if any(x.name == r for a in summary.acceptable for x in a.roles)]
        rows = []
        for a in summary.acceptable:
            shares = {x.name: x for x in a.groups}
            by_role = {x.name: x for x in a.roles}
            rows.append([_n(statement_number(a.statement)), _text(a.text),
                         *[_n(share_text(shares[g])) if g in shares else _n("-") for g in group_ids],
                         *[_n(share_text(by_role[r])) if r in by_role else _n("-") for r in roles]])
        _table(out, ["#", cat.t("statement"), *group_heads, *roles], rows)
    else:
        add(f"<p>{e(cat.t('none_yet'))}</p>")

    for key, title, intro, note, items in (
        ("disputed", cat.t("lane.disputed"), cat.t("disputed_intro"), accepted_note(summary, cat), summary.disputed),
        ("rejected", cat.t("rejected"), cat.t("rejected_intro"), rejected_note(cat), summary.rejected),
    ):
        _h2(out, key, title)
        add(f'<p class="note">{e(cat.join(intro, note))}</p>')
        if not items:
            add(f"<p>{e(cat.t('none_yet'))}</p>")
            continue
        rows = []
        for d in items:
            shares = {x.name: x for x in d.shares}
            rows.append([_n(statement_number(d.statement)), _text(d.text),
                         *[_n(share_text(shares[g])) if g in shares else _n("-") for g in group_ids]])
        _table(out, ["#", cat.t("statement"), *group_heads], rows)
    if summary.acceptable or summary.disputed or summary.rejected:
        add(f'<p class="note">{e(cat.t("ranking_note"))}</p>')


def _lane_check(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Who the host left out of the analysis, the voting-quality flags, and whether any lane changes
    without the flagged voters: the Markdown's sentences (:func:`lane_check_lines`)."""
    lines = lane_check_lines(summary, cat)
    if lines:
        out.append('<div class="lane-check">'
                   + "".join(f'<p class="note">{escape(line)}</p>' for line in lines) + "</div>")


def _needs(out: list[str], summary: Summary, cat: Catalog) -> None:
    """What still needs votes: each unsettled statement, the fewest more votes and from which groups and
    roles, with the counts behind each need (the Markdown's words, :func:`needs_text`)."""
    if not summary.needs:
        return
    texts = {s.id: s.text for s in summary.statements}
    _h2(out, "needs", cat.t("needs.heading"))
    out.append(f'<p class="note">{escape(cat.t("needs_intro", lane_min=LANE_MIN_VOTES, role_min=ROLE_MIN_VOTERS))}</p>')
    _table(out, ["#", cat.t("statement"), cat.t("lane"), cat.t("needs_more")],
           [[_n(statement_number(n.statement)), _text(texts[n.statement]), _label(cat.lane(n.lane)),
             _lines(needs_text(n, cat))] for n in summary.needs])


def _importance(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The statements marked "this matters to me", most marked first, as marks of votes."""
    important = sorted((s for s in summary.statements if s.important), key=lambda s: (-s.important, s.id))
    if not important:
        return
    _h2(out, "importance", cat.t("importance"))
    out.append(f'<p class="note">{escape(cat.t("importance_intro"))}</p>')
    _table(out, ["#", cat.t("statement"), cat.t("marks")],
           [[_n(s.number), _text(s.text), _n(f"{s.important} / {s.tally.seen}")] for s in important])


def _floor(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The speaking queue: turns and time by role and group, the roles never heard."""
    if summary.floor is None:
        return
    _h2(out, "floor", cat.t("floor.report_heading"))
    out.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in floor_lines(summary.floor, cat)) + "</ul>")


def _groups(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Each opinion group with its representative statements."""
    e = escape
    _h2(out, "groups", cat.t("groups"))
    if not summary.groups:
        out.append(f"<p>{e(cat.t('none_yet'))}</p>")
    else:
        intro = cat.t("representative_intro", agree=cat.vote("agree"), disagree=cat.vote("disagree"))
        out.append(f'<p class="note">{e(intro)}</p>')
    for g in summary.groups:
        out.append(f"<h3>{e(cat.t('group_heading', group=g.id, people=cat.people(g.size)))}</h3>")
        _opinions(out, g.representative, cat)


def _majority(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The whole room's majority opinions."""
    e = escape
    _h2(out, "majority", cat.t("majority"))
    if not summary.majority:
        out.append(f"<p>{e(cat.t('none_yet'))}</p>")
    else:
        intro = cat.t("majority_intro", agree=cat.vote("agree"), disagree=cat.vote("disagree"))
        out.append(f'<p class="note">{e(intro)}</p>')
        _opinions(out, summary.majority, cat)


def _map(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The opinion map as inline SVG, and as a table of what it shows."""
    e = escape
    _h2(out, "map", cat.t("projector.map_heading"))
    if summary.map:
        out.append(f'<div class="map">{map_svg(summary, cat)}</div>')
        out.append(f'<p class="note">{e(cat.t("map_caption"))}</p>')
        # the map's long description: what the dots show, for screen readers and a grey printout
        _table(out, [cat.t("maptable.col_group"), cat.t("maptable.col_people"), cat.t("maptable.col_where")],
               [[e(r.name(cat)), _n(r.people), e(cat.t(f"maptable.{r.where}"))] for r in map_rows(summary)])
    else:
        out.append(f"<p>{e(cat.t('none_yet'))}</p>")


def _follow_ups(out: list[str], summary: Summary, cat: Catalog) -> None:
    """What the agency answered on each statement it followed up."""
    follow_ups = [s for s in summary.statements if s.follow_up is not None]
    if not follow_ups:
        return
    _h2(out, "follow-up", cat.t("follow_up"))
    _table(out, ["#", cat.t("statement"), cat.t("follow_up"), cat.t("response")],
           [[_n(s.number), _text(s.text), escape(cat.t(s.follow_up.status)), _lines(s.follow_up.response)]
            for s in follow_ups if s.follow_up is not None])


def _questions(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The agenda: one section per question, the same figures as the table of every statement."""
    if not summary.questions:
        return
    out.extend(questions_html(
        summary.questions,
        {s.id: [str(s.number), s.text, cat.lane(s.lane), tally_text(s.tally, summary)] for s in summary.statements},
        cat, ["#", cat.t("statement"), cat.t("lane"), cat.t("overall")]))


def _all_statements(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Every statement with its state, lane, votes overall and by group, and follow-up."""
    group_ids = [g.id for g in summary.groups]
    group_heads = [cat.group(g) for g in group_ids]
    _h2(out, "statements", cat.t("all_statements"))
    out.append(f'<p class="note">{escape(cat.t("all_statements_intro", values=tally_header(summary, cat)))}</p>')
    rows = []
    for s in summary.statements:
        by_group = {lean.name: lean.tally for lean in s.by_group}
        state = cat.state(s.state) + (cat.t("seeded") if s.seed else "")
        follow = ""
        if s.follow_up is not None:
            follow = cat.t(s.follow_up.status) + (f": {s.follow_up.response}" if s.follow_up.response else "")
        rows.append([_n(s.number), _text(s.text), _label(state), _label(cat.lane(s.lane)),
                     _n(tally_text(s.tally, summary)),
                     *[_n(tally_text(by_group[g], summary)) if g in by_group else _n("-") for g in group_ids],
                     _lines(follow)])
    _table(out, ["#", cat.t("statement"), cat.t("state"), cat.t("lane"), cat.t("overall"), *group_heads,
                 cat.t("follow_up")], rows)


def _moderation_log(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The host's moderation, phase and settings changes, in order."""
    e = escape
    _h2(out, "moderation-log", cat.t("moderation_log"))
    if not summary.moderation_log:
        out.append(f"<p>{e(cat.t('none_yet'))}</p>")
        return
    _table(out, [cat.t("time"), cat.t("action"), cat.t("statement"), cat.t("reason"), cat.t("detail")],
           [[e(format_time(x.at)), e(cat.log_action(x.action)),
             "" if x.statement is None else _n(statement_number(x.statement)),
             e(x.reason), e(log_detail(x, cat))] for x in summary.moderation_log])


def _privacy(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The privacy notice in force: part of the record."""
    if not (summary.privacy or summary.require_consent):
        return
    e = escape
    _h2(out, "privacy", cat.t("privacy.heading"))
    out.append(f'<p class="note">{e(notice_caption(summary, cat))}</p><dl class="meta">')
    out.extend(f'<dt>{e(label)}</dt><dd class="description">{e(text)}</dd>'
               for label, text in notice_rows(summary, cat))
    out.append("</dl>")


def _h2(out: list[str], anchor: str, title: str) -> None:
    out.append(f'<h2 id="{anchor}">{escape(title)}</h2>')


def _opinions(out: list[str], opinions: Sequence[Opinion], cat: Catalog) -> None:
    out.append('<ul class="opinions">')
    for o in opinions:
        figure = escape(opinion_text(o, cat))
        out.append(f'<li><span class="figure">{figure}</span>{escape(cat.t("colon"))}{escape(o.text)} '
                   f"(#{statement_number(o.statement)})</li>")
    out.append("</ul>")


class _Cell(str):
    """A cell already rendered as numeric HTML (right-aligned)."""


class _TextCell(str):
    """A cell holding a statement (escaped), allowed to wrap anywhere."""


class _LinesCell(str):
    """Text whose line breaks are kept (a follow-up's response)."""


class _LabelCell(str):
    """A short label (a state, a lane) kept on one line: in the PDF a long statement beside it squeezed
    "每組多數可接受" into a column one character wide, one character per line."""


def _n(value: object) -> _Cell:
    return _Cell(escape(str(value)))


def _text(value: str) -> _TextCell:
    return _TextCell(escape(value))


def _lines(value: str) -> _LinesCell:
    return _LinesCell(escape(value))


def _label(value: str) -> _LabelCell:
    return _LabelCell(escape(value))


def _table(out: list[str], head: list[str], rows: list[list[str]]) -> None:
    """Headers are escaped here; cells arrive escaped (or built by :func:`_n`).

    Each cell carries its column's header as ``data-label``: on a phone (:data:`PHONE_CSS`) a row becomes
    a card of "label value" lines, so group and role columns are read, not hidden behind a sideways scroll.
    A first column headed "#" holds the statement number, shown before the statement on the card.
    """
    out.append('<div class="scroll"><table><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in head)
               + "</tr></thead><tbody>")
    for row in rows:
        cells = []
        for index, (label, cell) in enumerate(zip(head, row, strict=True)):
            kind = ("n id" if index == 0 and label == "#" else "n") if isinstance(cell, _Cell) else \
                "text" if isinstance(cell, _TextCell) else "label" if isinstance(cell, _LabelCell) else \
                "lines" if isinstance(cell, _LinesCell) else ""
            classes = f' class="{kind}"' if kind else ""
            cells.append(f'<td{classes} data-label="{escape(label)}">{cell}</td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table></div>")


def _rounds(out: list[str], summary: Summary, cat: Catalog) -> None:
    """Every round after the first: what moved on each of its statements, by role and by opinion group."""
    if not summary.rounds:
        return
    e = escape
    _h2(out, "rounds", cat.t("round.report_heading"))
    out.append(f'<p class="note">{e(cat.t("round.report_intro"))}</p>')
    for info in summary.rounds:
        out.append(f"<h3>{e(cat.t('round.report_round', round=info.round))}</h3>")
        for statement in info.statements:
            out.append(f"<p><strong>#{statement_number(statement.statement)}</strong> {e(statement.text)}</p><ul>")
            out.extend(f"<li>{e(line)}</li>" for line in round_lines(info, statement, cat))
            out.append("</ul>")


def _checks(out: list[str], summary: Summary, cat: Catalog) -> None:
    """The consent checks: each draft, its answers by group and role, its objections and their handling."""
    if not summary.checks:
        return
    e = escape
    _h2(out, "checks", cat.t("check.heading"))
    out.append(f'<p class="note">{e(cat.t("checks_intro"))}</p>')
    for check in summary.checks:
        out.append(f'<h3 id="check-{check.id}">{e(cat.t("check.number", n=check.id))}: '
                   f"{e(outcome_text(check, cat))}</h3>")
        out.append(f'<p class="description">{e(check.text)}</p>')
        out.append(f'<p class="note">{e(meta_text(check, cat))}</p>')
        _table(out, count_head(cat),
               [[_label(label), _n(c.consent), _n(c.live_with), _n(c.object), _n(c.answered)]
                for label, c in count_rows(check, cat)])
        if check.objections:
            _table(out, ["#", cat.t("reason"), cat.t("objector"), cat.t("handled")],
                   [[_n(statement_number(o.statement)), _text(o.reason),
                     _label(cat.join(o.role or cat.t("no_role"), f"({cat.group(o.group)})" if o.group else "")),
                     _lines(handling_text(o, cat))] for o in check.objections])


Section = Callable[[list[str], Summary, Catalog], None]
"""A section writer: appends its HTML to the page (nothing when the meeting has none of it)."""

SECTIONS: tuple[Section, ...] = (
    _heading, _participation, _analysis, _lanes, _lane_check, _needs, _checks, _importance, _rounds, _floor,
    _groups, _majority, _map, _follow_ups, _questions, _all_statements, _moderation_log, _privacy,
)
"""The page's sections, in reading order (:func:`render_html` closes the page after them)."""


def _analysis_note(summary: Summary, cat: Catalog) -> str:
    a = summary.analysis
    if a.source == "published":
        return cat.t("analysis_published", run=a.run)
    return cat.t(f"analysis_{a.source}")
