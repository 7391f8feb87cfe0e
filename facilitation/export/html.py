"""The session summary as one self-contained HTML page that prints cleanly on A4.

Everything from the meeting goes through :func:`html.escape`; the map is inline SVG built from numbers
and escaped letters. No scripts, no external resources: the page can be mailed, archived or rendered to
PDF (:mod:`facilitation.export.pdf`) as it is. Fonts: Noto Sans CJK TC first, so Traditional Chinese
renders with the same font on screen and in the PDF.
"""

from __future__ import annotations

from html import escape

from facilitation.export._common import lean_text, tally_header, tally_text
from facilitation.export.i18n import Catalog, catalog, format_date, format_duration, format_time, percent
from facilitation.export.svg import map_svg
from facilitation.summary import Summary

__all__ = ["CSS", "render_html"]

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #666; } }
html { font-family: "Noto Sans CJK TC", "Noto Sans TC", "Noto Sans", "Helvetica Neue", Arial, sans-serif;
       font-size: 10pt; line-height: 1.45; color: #111; }
body { max-width: 190mm; margin: 0 auto; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1px solid #ccc; page-break-after: avoid;
     break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1mm; page-break-after: avoid; break-after: avoid; }
.subtitle { color: #555; margin: 0 0 3mm; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.5mm 4mm; margin: 0 0 3mm; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 8.5pt; }
th, td { border: 1px solid #ccc; padding: 1mm 1.5mm; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
td.n { text-align: right; white-space: nowrap; }
tr { page-break-inside: avoid; break-inside: avoid; }
thead { display: table-header-group; }
.map svg { width: 100%; height: auto; max-height: 120mm; }
.note { color: #555; }
@media print { a { color: inherit; text-decoration: none; } }
"""


def render_html(summary: Summary) -> str:
    cat = catalog(summary.language)
    e = escape
    out: list[str] = []
    add = out.append
    add("<!DOCTYPE html>")
    add(f'<html lang="{e(summary.language)}"><head><meta charset="utf-8">')
    add(f"<title>{e(summary.title)} · {e(cat.t('report'))}</title>")
    add(f"<style>{CSS}</style></head><body>")
    add(f"<h1>{e(summary.title)}</h1>")
    add(f'<p class="subtitle">{e(cat.t("report"))}</p>')
    add('<dl class="meta">')
    meta = []
    if summary.topic:
        meta.append((cat.t("topic"), summary.topic))
    meta += [
        (cat.t("date"), format_date(summary.started_at)),
        (cat.t("duration"), format_duration(summary.duration_s, cat)),
        (cat.t("code"), summary.code),
        (cat.t("phase"), summary.phase),
        (cat.t("generated"), format_time(summary.generated_at)),
    ]
    for key, value in meta:
        add(f"<dt>{e(key)}</dt><dd>{e(value)}</dd>")
    add("</dl>")
    if summary.description:
        add(f"<p>{e(summary.description)}</p>")

    p = summary.participation
    add(f"<h2>{e(cat.t('participation'))}</h2>")
    _table(out, [cat.t("participants"), cat.t("voters"), cat.t("statements"), cat.t("statements_total"),
                 cat.t("votes")], [[_n(p.participants), _n(p.voters), _n(p.statements), _n(p.statements_total),
                                    _n(p.votes)]])
    if summary.roles:
        add(f"<h3>{e(cat.t('by_role'))}</h3>")
        _table(out, [cat.t("role"), cat.t("participants"), cat.t("votes")],
               [[e(r.role) if r.role else e(cat.t("no_role")), _n(r.participants), _n(r.votes)]
                for r in p.by_role])

    add(f"<h2>{e(cat.t('analysis'))}</h2>")
    add(f'<p class="note">{e(_analysis_note(summary, cat))}</p>')

    group_ids = [g.id for g in summary.groups]
    group_heads = [f"{cat.t('group')} {g}" for g in group_ids]
    add(f"<h2>{e(cat.t('acceptable'))}</h2>")
    add(f'<p class="note">{e(cat.t("acceptable_intro"))}</p>')
    if summary.acceptable:
        roles = [r.name for r in summary.acceptable[0].roles]
        rows = []
        for a in summary.acceptable:
            shares = {s.name: s.share for s in (*a.groups, *a.roles)}
            rows.append([_n(a.statement), e(a.text),
                         *[_n(percent(shares[k])) if k in shares else "-" for k in (*group_ids, *roles)]])
        _table(out, ["#", cat.t("statement"), *group_heads, *roles], rows)
    else:
        add(f"<p>{e(cat.t('none_yet'))}</p>")

    for key, items in (("disputed", summary.disputed), ("rejected", summary.rejected)):
        add(f"<h2>{e(cat.t(key))}</h2>")
        add(f'<p class="note">{e(cat.t(key + "_intro"))}</p>')
        if not items:
            add(f"<p>{e(cat.t('none_yet'))}</p>")
            continue
        rows = []
        for d in items:
            leans = {lean.name: lean for lean in d.leans}
            rows.append([_n(d.statement), e(d.text),
                         *[e(lean_text(leans[g], summary, cat)) if g in leans else "-" for g in group_ids]])
        _table(out, ["#", cat.t("statement"), *group_heads], rows)

    add(f"<h2>{e(cat.t('groups'))}</h2>")
    if not summary.groups:
        add(f"<p>{e(cat.t('none_yet'))}</p>")
    for g in summary.groups:
        add(f"<h3>{e(cat.t('group'))} {e(g.id)} ({e(cat.t('group_size', n=g.size))})</h3>")
        add("<ul>")
        for r in g.representative:
            add(f"<li>{e(percent(r.share))} {e(cat.t('direction_' + r.direction))}: {e(r.text)} "
                f"(#{r.statement})</li>")
        add("</ul>")

    add(f"<h2>{e(cat.t('majority'))}</h2>")
    if not summary.majority:
        add(f"<p>{e(cat.t('none_yet'))}</p>")
    else:
        add("<ul>")
        for m in summary.majority:
            add(f"<li>{e(percent(m.share))} {e(cat.t('direction_' + m.direction))}: {e(m.text)} "
                f"(#{m.statement})</li>")
        add("</ul>")

    add(f"<h2>{e(cat.t('map'))}</h2>")
    if summary.map:
        add(f'<div class="map">{map_svg(summary, cat.t("map"))}</div>')
        add(f'<p class="note">{e(cat.t("map_caption"))}</p>')
    else:
        add(f"<p>{e(cat.t('none_yet'))}</p>")

    follow_ups = [s for s in summary.statements if s.follow_up is not None]
    if follow_ups:
        add(f"<h2>{e(cat.t('follow_up'))}</h2>")
        _table(out, ["#", cat.t("statement"), cat.t("follow_up"), cat.t("response")],
               [[_n(s.id), e(s.text), e(cat.t(s.follow_up.status)), e(s.follow_up.response)]
                for s in follow_ups if s.follow_up is not None])

    add(f"<h2>{e(cat.t('all_statements'))}</h2>")
    add(f'<p class="note">{e(cat.t("votes"))}: {e(tally_header(summary, cat))}</p>')
    rows = []
    for s in summary.statements:
        by_group = {lean.name: lean.tally for lean in s.by_group}
        state = cat.state(s.state) + (f" ({cat.t('seed')})" if s.seed else "")
        follow = ""
        if s.follow_up is not None:
            follow = cat.t(s.follow_up.status) + (f": {s.follow_up.response}" if s.follow_up.response else "")
        rows.append([_n(s.id), e(s.text), e(state), e(cat.lane(s.lane)), _n(tally_text(s.tally, summary)),
                     *[_n(tally_text(by_group[g], summary)) if g in by_group else "-" for g in group_ids],
                     e(follow)])
    _table(out, ["#", cat.t("statement"), cat.t("state"), cat.t("lane"), cat.t("overall"), *group_heads,
                 cat.t("follow_up")], rows)

    add(f"<h2>{e(cat.t('moderation_log'))}</h2>")
    if not summary.moderation_log:
        add(f"<p>{e(cat.t('none_yet'))}</p>")
    else:
        _table(out, [cat.t("time"), cat.t("action"), cat.t("statement"), cat.t("reason"), cat.t("detail")],
               [[e(format_time(x.at)), e(cat.log_action(x.action)), "" if x.statement is None else _n(x.statement),
                 e(x.reason), e(x.detail)] for x in summary.moderation_log])
    add("</body></html>")
    return "\n".join(out)


class _Cell(str):
    """A cell already rendered as numeric HTML (right-aligned)."""


def _n(value: object) -> _Cell:
    return _Cell(escape(str(value)))


def _table(out: list[str], head: list[str], rows: list[list[str]]) -> None:
    """Headers are escaped here; cells arrive escaped (or built by :func:`_n`)."""
    out.append("<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>")
    for row in rows:
        cells = "".join(f'<td class="n">{c}</td>' if isinstance(c, _Cell) else f"<td>{c}</td>" for c in row)
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")


def _analysis_note(summary: Summary, cat: Catalog) -> str:
    a = summary.analysis
    if a.source == "published":
        return cat.t("analysis_published", run=a.run, seq=a.seq)
    return cat.t(f"analysis_{a.source}")
