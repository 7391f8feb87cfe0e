"""The publishable record (會議紀錄): the transcript interleaved with what the meeting did, and its conclusions.

The Freedom of Government Information Law has collegial bodies publish their records; a draft may be
withheld until it is decided. So the record says which it is: until the host publishes it, every copy is
marked 草稿 (draft) in its title and on top; once published it says when.

Contents, in the meeting's language: the meeting's facts (date, times, counts), then "what happened" in
time order — phase changes, statements shown to the room, markers, and the stenographer's paragraphs
placed by :func:`facilitation.export.transcript.place` — then the conclusions (the lanes, with their raw
counts; with an agenda, per question under a line for the whole meeting), what moved in each round after
the first and who had the floor (the report's own lines), the agency's follow-ups, the privacy notice the
phones showed before joining (PDPA §8: the notice in force is part of the record, as in the reports), and the
list of anchors
that placed the transcript (which paragraph, what time, on what basis; any anchor dropped for contradicting
a stronger one), so a reader can tell an exact place from an estimate. Every figure is the summary's
(docs/export.md), written ``count / of · %``.

One model (:class:`Record`, plain text, built by :func:`build_record`) and two writers: Markdown
(:func:`render_record`, the download) and HTML (:func:`render_record_html`, the public summary page and
its download). Untrusted text (titles, statements, the transcript itself) is escaped by each writer:
the Markdown writer's escape, :func:`html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from facilitation.export.checks_text import count_rows, handling_text, meta_text, outcome_text
from facilitation.export.floor import floor_lines
from facilitation.export.i18n import Catalog, catalog, format_date, format_time, fraction
from facilitation.export.markdown import escape
from facilitation.export.notice import notice_caption, notice_rows
from facilitation.export.questions import LANES, counts_text, question_heading
from facilitation.export.rounds import RoundInfo, round_lines
from facilitation.export.summary import StatementInfo, Summary, statement_number
from facilitation.export.transcript import Moment, Placed, Transcript, place

__all__ = ["Marker", "QuestionBlock", "Record", "build_record", "moments_of", "render_record", "render_record_html"]

_ZH = {
    "record": "會議紀錄",
    "draft": "草稿",
    "draft_note": "本紀錄為草稿，尚未由主持人發布，內容可能修正。",
    "published_note": "主持人於 {at}（UTC+8）發布本紀錄。",
    "date": "日期",
    "time": "時間",
    "counts": "參與",
    "counts_text": "{participants} 人加入，{voters} 人表態；公開意見 {statements} 則，有效表態 {votes} 次",
    "transcript": "逐字稿",
    "transcript_text": "{title}，{paragraphs} 段，{speakers} 位發言者",
    "no_transcript": "未匯入",
    "placing": "定位",
    "placing_text": "{markers} 個現場標記、{matches} 處階段或議程宣布比對；其餘段落依長度推估，見「定位依據」",
    "happened": "會議經過",
    "phase_line": "階段：{from_} → {to}",
    "statement_line": "意見 #{id} 公開",
    "marker_line": "標記 {n}",
    "question_line": "議程：進入問題 {n}",
    "conclusions": "結論",
    "agenda": "議程",
    "agenda_text": "{n} 個問題，結論依問題分列",
    "whole": "全體會議：{counts}",
    "none": "（無）",
    "follow_ups": "後續回應",
    "anchors": "定位依據",
    "paragraph": "段落",
    "basis": "依據",
    "basis_marker": "現場標記 {detail}",
    "basis_phase": "宣布進入「{detail}」",
    "basis_question": "宣布進入問題 {detail}",
    "dropped": "未採用（與較強的依據矛盾，或會議中沒有此標記）：{items}",
    "no_anchor": "沒有可用的定位依據：全部段落依長度分布於會議期間。",
}
_EN = {
    "record": "Meeting record",
    "draft": "DRAFT",
    "draft_note": "This record is a draft: the host has not published it yet and it may change.",
    "published_note": "Published by the host on {at} (UTC+8).",
    "date": "Date",
    "time": "Time",
    "counts": "Participation",
    "counts_text": "{participants} joined, {voters} voted; {statements} statements shown, {votes} effective votes",
    "transcript": "Transcript",
    "transcript_text": "{title}, {paragraphs} paragraphs, {speakers} speakers",
    "no_transcript": "not imported",
    "placing": "Placement",
    "placing_text": "{markers} markers set in the meeting, {matches} phase or agenda announcements matched; "
                    "other paragraphs estimated by length, see Anchors",
    "happened": "What happened",
    "phase_line": "Phase: {from_} → {to}",
    "statement_line": "Statement #{id} shown",
    "marker_line": "Marker {n}",
    "question_line": "Agenda: on to question {n}",
    "conclusions": "Conclusions",
    "agenda": "Agenda",
    "agenda_text": "{n} questions, conclusions listed per question",
    "whole": "The whole meeting: {counts}",
    "none": "(none)",
    "follow_ups": "Follow-ups",
    "anchors": "Anchors",
    "paragraph": "Paragraph",
    "basis": "Basis",
    "basis_marker": "marker {detail} set in the meeting",
    "basis_phase": "announces \"{detail}\"",
    "basis_question": "announces question {detail}",
    "dropped": "Not used (contradicts a stronger anchor, or no such marker in the meeting): {items}",
    "no_anchor": "No anchor: every paragraph is spread over the meeting by length.",
}


EVENTS = ("phase", "question", "marker", "statement")
"""The kinds of :class:`Item` that are the meeting's own events (a time and a label), not transcript."""


@dataclass(frozen=True)
class Marker:
    """A marker set during the meeting: its number, its time, and the label the host typed (may be empty)."""

    number: int
    at: float
    label: str = ""


def _t(language: str, key: str, **values: object) -> str:
    text = (_ZH if language == "zh-TW" else _EN)[key]
    return text.format(**values) if values else text


def moments_of(summary: Summary, markers: Sequence[Marker] = ()) -> list[Moment]:
    """Phase changes, moves to another question of the agenda (``question``, its number in ``marker``),
    statements shown to the room (when posted already accepted, else when accepted) and markers, in time
    order."""
    accepted_at = {e.statement: e.at for e in summary.moderation_log
                   if e.action == "accept" and e.statement is not None}
    moments = [Moment(e.at, "phase", phase=e.to_phase) for e in summary.moderation_log if e.action == "phase"]
    moments += [Moment(accepted_at.get(s.id, s.created_at), "statement", statement=s.id, text=s.text)
                for s in summary.statements if s.state == "accepted"]
    moments += [Moment(m.at, "marker", marker=m.number, text=m.label) for m in markers]
    moments += [Moment(at, "question", question=q.number, text=q.text) for q in summary.questions for at in q.opened_at]
    order = {"phase": 0, "question": 1, "marker": 2, "statement": 3}
    return sorted(moments, key=lambda m: (m.at, order[m.kind], m.statement or 0, m.marker or 0, m.question or 0))


def _clock(at: float) -> str:
    return format_time(at)[-5:]


@dataclass(frozen=True)
class Item:
    """One line of "what happened": an event of the meeting (:data:`EVENTS`) with its
    exact time, or a transcript paragraph (``speech`` under ``speaker``, ``note``) placed among them.
    ``heading`` is true on the first paragraph of a speaker's turn. Text is plain (writers escape it)."""

    kind: str
    at: float
    text: str
    speaker: str = ""
    heading: bool = False
    label: str = ""
    """For an event: its line ("階段：蒐集意見 → 表態", "意見 #4 公開", "標記 1")."""


@dataclass(frozen=True)
class Conclusion:
    number: int
    text: str
    figure: str
    """``贊成或可接受 6 / 6 · 100%``: the lane's vote word and the raw counts."""


Conclusions = tuple[tuple[str, tuple[Conclusion, ...]], ...]
"""(lane heading, its statements) per lane, in the lanes' order."""


@dataclass(frozen=True)
class QuestionBlock:
    """One question of an agenda in the conclusions: its heading, its counts line (statements, votes,
    statements per lane, as the report's question section prints them) and its statements by lane."""

    heading: str
    counts: str
    conclusions: Conclusions


@dataclass(frozen=True)
class FollowUpLine:
    number: int
    text: str
    status: str
    at: float
    response: str


@dataclass(frozen=True)
class Record:
    """The record, as plain text in the meeting's language; the writers only lay it out."""

    language: str
    title: str
    draft: bool
    notice: str
    facts: tuple[tuple[str, str], ...]
    items: tuple[Item, ...]
    conclusions: Conclusions
    """Every statement by lane; with an agenda, the same statements are listed per question instead
    (:attr:`questions`) and the writers print :attr:`whole` above them."""
    follow_ups: tuple[FollowUpLine, ...]
    anchors: tuple[tuple[int, str, str], ...] | None
    """(paragraph number from 1, time, basis) per anchor; None without a transcript."""
    dropped: str
    words: dict[str, str]
    """Headings and labels the writers need, in the record's language."""
    checks: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """The consent checks: (heading with its outcome, the draft's text, lines of counts and objections)."""
    questions: tuple[QuestionBlock, ...] = ()
    """With an agenda: each question's conclusions (empty for a meeting with the topic only)."""
    whole: str = ""
    """With an agenda: the meeting as a whole, in the questions' counts line (their sums)."""
    rounds: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    """Rounds 2, 3, ...: (heading, ((``#3 text``, what moved by role and group), ...)), the report's lines."""
    floor: tuple[str, ...] = ()
    """The speaking queue: turns and time by role and group, and the roles never heard (empty: nobody asked)."""
    privacy: tuple[str, tuple[tuple[str, str], ...]] | None = None
    """The privacy notice in force: (its caption: version, consent asked and given, retention; (label, text)
    per field the host filled in), as the reports print it; None when the meeting had no notice."""


def build_record(summary: Summary, transcript: Transcript | None = None, markers: Sequence[Marker] = (),
                 published_at: float | None = None) -> Record:
    """The record of a meeting; a draft unless ``published_at`` (when the host published it) is given. The
    markers are the meeting's own (set with ``mark``) unless others are given."""
    if not markers:
        markers = tuple(Marker(number, at, label) for number, at, label in summary.markers)
    lang = summary.language if summary.language == "zh-TW" else "en"
    cat = catalog(summary.language)
    moments = moments_of(summary, markers)
    placed = place(transcript, moments, summary.started_at, summary.ended_at) if transcript else None
    draft = published_at is None
    p = summary.participation
    facts = [
        (_t(lang, "date"), format_date(summary.started_at)),
        (_t(lang, "time"), f"{_clock(summary.started_at)}–{_clock(summary.ended_at)}"),
        (_t(lang, "counts"), _t(lang, "counts_text", participants=p.participants, voters=p.voters,
                                statements=p.statements, votes=p.votes)),
    ]
    if transcript is None or placed is None:
        facts.append((_t(lang, "transcript"), _t(lang, "no_transcript")))
    else:
        facts.append((_t(lang, "transcript"), _t(lang, "transcript_text", title=transcript.title or "-",
                                                  paragraphs=len(transcript.paragraphs),
                                                  speakers=len(transcript.speakers))))
        facts.append((_t(lang, "placing"), _t(
            lang, "placing_text", markers=sum(1 for a in placed.anchors if a.basis == "marker"),
            matches=sum(1 for a in placed.anchors if a.basis in ("phase", "question")))))
    conclusions = _conclusions(summary.statements, summary.scale, cat)
    questions, whole = _questions(summary, cat)
    if questions:
        facts.append((_t(lang, "agenda"), _t(lang, "agenda_text", n=len(questions))))
    follow_ups = tuple(FollowUpLine(statement_number(s.id), s.text, cat.t(s.follow_up.status), s.follow_up.at,
                                    s.follow_up.response)
                       for s in summary.statements if s.follow_up is not None)
    anchors = None
    dropped = ""
    if placed is not None:
        anchors = tuple((a.paragraph + 1, _clock(a.at), _t(lang, f"basis_{a.basis}", detail=a.detail
                         if a.basis in ("marker", "question") else cat.phase(a.detail))) for a in placed.anchors)
        if placed.dropped:
            dropped = _t(lang, "dropped", items=("、" if lang == "zh-TW" else ", ").join(
                f"{_t(lang, 'paragraph')} {a.paragraph + 1} ("
                + (_t(lang, "marker_line", n=a.detail) if a.basis == "marker"
                   else _t(lang, "basis_question", detail=a.detail) if a.basis == "question"
                   else _t(lang, "basis_phase", detail=cat.phase(a.detail))) + ")" for a in placed.dropped))
    words = {key: _t(lang, key) for key in ("record", "draft", "happened", "conclusions", "none", "follow_ups",
                                            "anchors", "paragraph", "time", "basis", "no_anchor")}
    words |= {"rounds": cat.t("round.report_heading"), "rounds_intro": cat.t("round.report_intro"),
              "floor": cat.t("floor.report_heading"), "privacy": cat.t("privacy.heading")}
    title = f"{summary.title} {_t(lang, 'record')}"
    if draft:
        title += f"（{_t(lang, 'draft')}）" if lang == "zh-TW" else f" ({_t(lang, 'draft')})"
    return Record(
        language=lang, title=title, draft=draft,
        notice=_t(lang, "draft_note") if draft else _t(lang, "published_note", at=format_time(published_at or 0.0)),
        facts=tuple(facts), items=_items(summary, moments, placed, lang), conclusions=conclusions,
        follow_ups=follow_ups, anchors=anchors, dropped=dropped, words={**words, "checks": cat.t("check.heading")},
        checks=_checks(summary, cat), questions=questions, whole=_t(lang, "whole", counts=whole) if whole else "",
        rounds=tuple((_round_heading(info, summary, cat),
                      tuple((f"#{statement_number(st.statement)} {st.text}", tuple(round_lines(info, st, cat)))
                            for st in info.statements)) for info in summary.rounds),
        floor=tuple(floor_lines(summary.floor, cat)) if summary.floor is not None else (),
        privacy=(notice_caption(summary, cat), tuple(notice_rows(summary, cat)))
        if summary.privacy or summary.require_consent else None,
    )


def _round_heading(info: RoundInfo, summary: Summary, cat: Catalog) -> str:
    """「第 2 輪」, with an agenda followed by the question its statements belong to."""
    numbers = {st.question for st in info.statements}
    named = [question_heading(cat, q) for q in summary.questions if q.number in numbers]
    return " · ".join([cat.t("round.report_round", round=info.round), *named])


def _conclusions(statements: Sequence[StatementInfo], scale: str, cat: Catalog) -> Conclusions:
    """``statements`` by lane, each with its lane's vote word and raw counts."""
    out = []
    for lane in LANES:
        lines = []
        for s in statements:
            if s.lane != lane:
                continue
            counted = s.tally.disagree if lane == "rejected" else s.tally.agree + s.tally.acceptable
            word = cat.vote("disagree") if lane == "rejected" else cat.accepted_words(scale)
            lines.append(Conclusion(statement_number(s.id), s.text, f"{word} {fraction(counted, s.tally.seen)}"))
        out.append((cat.lane(lane), tuple(lines)))
    return tuple(out)


def _questions(summary: Summary, cat: Catalog) -> tuple[tuple[QuestionBlock, ...], str]:
    """Each question's conclusions and counts (the summary's per-question figures), and the meeting's
    counts line summed over them; nothing without an agenda."""
    if not summary.questions:
        return (), ""
    by_id = {s.id: s for s in summary.statements}
    blocks = tuple(QuestionBlock(question_heading(cat, q), counts_text(cat, len(q.statements), q.votes, q.lanes),
                                 _conclusions([by_id[sid] for sid in q.statements if sid in by_id], summary.scale, cat))
                   for q in summary.questions)
    lanes = {lane: sum(q.lanes.get(lane, 0) for q in summary.questions) for lane in LANES}
    whole = counts_text(cat, sum(len(q.statements) for q in summary.questions),
                        sum(q.votes for q in summary.questions), lanes)
    return blocks, whole


def _checks(summary: Summary, cat: Catalog) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Each consent check as a heading, its draft and plain lines: the counts by group and role, then each
    objection with its reason and how it was handled (the same words as the report)."""
    out = []
    for check in summary.checks:
        lines = [meta_text(check, cat)]
        for label, c in count_rows(check, cat):
            lines.append(f"{label}{cat.t('colon')}{cat.t('check.consent')} {c.consent} · "
                         f"{cat.t('check.live_with')} {c.live_with} · {cat.t('check.object')} {c.object}")
        for o in check.objections:
            lines.append(f"{cat.t('check.object')} #{statement_number(o.statement)}{cat.t('colon')}{o.reason} — "
                         f"{handling_text(o, cat)}")
        heading = f"{cat.t('check.number', n=check.id)}{cat.t('colon')}{outcome_text(check, cat)}"
        out.append((heading, check.text, tuple(lines)))
    return tuple(out)


def _items(summary: Summary, moments: Sequence[Moment], placed: Placed | None, lang: str) -> tuple[Item, ...]:
    """Events and paragraphs in time order (an event before a paragraph placed at the same instant: the
    announcement follows the click); a speaker's heading again after an event interrupts their turn."""
    cat = catalog(summary.language)
    from_phase = {e.at: e.from_phase for e in summary.moderation_log if e.action == "phase"}
    keyed: list[tuple[float, int, int, Item]] = []
    for i, m in enumerate(moments):
        if m.kind == "phase":
            label = _t(lang, "phase_line", from_=cat.phase(from_phase.get(m.at, "")), to=cat.phase(m.phase))
            keyed.append((m.at, 0, i, Item("phase", m.at, "", label=label)))
        elif m.kind == "marker":
            keyed.append((m.at, 0, i, Item("marker", m.at, m.text, label=_t(lang, "marker_line", n=m.marker))))
        elif m.kind == "question":
            keyed.append((m.at, 0, i, Item("question", m.at, m.text, label=_t(lang, "question_line", n=m.question))))
        else:
            label = _t(lang, "statement_line", id=statement_number(m.statement or 0))
            keyed.append((m.at, 0, i, Item("statement", m.at, m.text, label=label)))
    for placement in placed.placements if placed else ():
        paragraph = placement.paragraph
        if paragraph.kind != "marker":  # the marker's moment comes from the meeting's own log
            keyed.append((placement.at, 1, paragraph.index,
                          Item(paragraph.kind, placement.at, paragraph.text, speaker=paragraph.speaker)))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    items: list[Item] = []
    speaker: str | None = None
    for _, _, _, item in keyed:
        if item.kind == "speech":
            items.append(Item("speech", item.at, item.text, speaker=item.speaker, heading=item.speaker != speaker))
            speaker = item.speaker
        else:
            items.append(item)
            speaker = None
    return tuple(items)


def render_record(summary: Summary, transcript: Transcript | None = None, markers: Sequence[Marker] = (),
                  published_at: float | None = None) -> str:
    """The record as Markdown (see :func:`build_record`)."""
    return record_markdown(build_record(summary, transcript, markers, published_at))


def _sections(record: Record) -> list[tuple[str, str, Conclusions, int]]:
    """What the conclusions list: (question heading, its counts, its lanes, the lanes' heading level) per
    question of an agenda, else the meeting's lanes alone (no heading, level 3)."""
    if not record.questions:
        return [("", "", record.conclusions, 3)]
    return [(q.heading, q.counts, q.conclusions, 4) for q in record.questions]


def record_markdown(record: Record) -> str:
    w = record.words
    out = [f"# {escape(record.title)}\n"]
    out.append(f"> **{w['draft']}** {record.notice}\n" if record.draft else f"> {record.notice}\n")
    out += [f"- **{escape(label)}**: {escape(value)}" for label, value in record.facts]
    out += ["", f"## {w['happened']}\n"]
    for item in record.items:
        if item.kind in EVENTS:
            text = f": {escape(item.text)}" if item.kind in ("statement", "question") else \
                (f" {escape(item.text)}" if item.text else "")
            out.append(f"**{_clock(item.at)} {item.label}**{text}\n")
        elif item.kind == "note":
            out.append("\n>\n".join(f"> {escape(line)}" for line in item.text.splitlines()) + "\n")
        else:
            if item.heading:
                out.append(f"### {escape(item.speaker)}：\n")
            out.append("  \n".join(escape(line) for line in item.text.splitlines()) + "\n")
    out.append(f"## {w['conclusions']}\n")
    if record.questions:
        out.append(f"{escape(record.whole)}\n")
    for heading, counts, conclusions, level in _sections(record):
        if heading:
            out += [f"### {escape(heading)}\n", f"{escape(counts)}\n"]
        for lane, lines in conclusions:
            out.append(f"{'#' * level} {lane}\n")
            out += [f"- #{c.number} {escape(c.text)} — {c.figure}" for c in lines] or [w["none"]]
            out.append("")
    if record.rounds:
        out += [f"## {escape(w['rounds'])}\n", f"{escape(w['rounds_intro'])}\n"]
        for heading, shifts in record.rounds:
            out.append(f"### {escape(heading)}\n")
            for statement, moved in shifts:
                out.append(f"**{escape(statement)}**\n")
                out += [f"- {escape(line)}" for line in moved]
                out.append("")
    if record.floor:
        out.append(f"## {escape(w['floor'])}\n")
        out += [f"- {escape(line)}" for line in record.floor]
        out.append("")
    if record.checks:
        out.append(f"## {escape(w['checks'])}\n")
        for heading, text, check_lines in record.checks:
            out.append(f"### {escape(heading)}\n")
            out.append("  \n".join(escape(line) for line in text.splitlines() if line.strip()) + "\n")
            out += [f"- {escape(line)}" for line in check_lines]
            out.append("")
    if record.follow_ups:
        out.append(f"## {w['follow_ups']}\n")
        out += [f"- #{f.number} {escape(f.text)} — **{f.status}** ({format_time(f.at)}): {escape(f.response)}"
                for f in record.follow_ups]
        out.append("")
    if record.privacy is not None:
        caption, fields = record.privacy
        out += [f"## {escape(w['privacy'])}\n", f"{escape(caption)}\n"]
        out += [f"- **{escape(label)}**: {escape(text)}" for label, text in fields]
        out.append("")
    if record.anchors is not None:
        out.append(f"## {w['anchors']}\n")
        if record.anchors:
            out += [f"| {w['paragraph']} | {w['time']} | {w['basis']} |", "|---|---|---|"]
            out += [f"| {n} | {at} | {basis} |" for n, at, basis in record.anchors]
        else:
            out.append(w["no_anchor"])
        if record.dropped:
            out += ["", record.dropped]
    return "\n".join(out).rstrip() + "\n"


RECORD_CSS = """
.record-notice { padding: 0.5rem 0.75rem; border-left: 4px solid #555; background: #f3f3f3; }
.record-notice.draft { border-color: #a35200; background: #fff4e5; }
.event { margin: 1rem 0 0.4rem; padding: 0.3rem 0.6rem; background: #eef3fb; }
blockquote.note { margin: 0.5rem 0; padding-left: 0.75rem; border-left: 3px solid #bbb; color: #444; }
h3.question { font-size: 1.25rem; margin-top: 1.6rem; padding-top: 0.5rem; border-top: 2px solid #555; }
h4 { font-size: 0.95rem; margin: 0.8rem 0 0.2rem; color: #333; break-after: avoid; }
"""
"""The record's own blocks, added to the reports' styles when the page stands alone (static/css/record.css
styles the public page the same way)."""


def render_record_html(record: Record, stylesheet: str = "") -> str:
    """The record as one HTML page without scripts: ``stylesheet`` is a URL to link (the public page,
    whose CSP forbids inline styles), else the styles are inlined (a download that must stand alone)."""
    from html import escape as e

    from facilitation.export.html import CSS

    w = record.words
    lang = "zh-Hant-TW" if record.language == "zh-TW" else "en"
    style = f'<link rel="stylesheet" href="{e(stylesheet)}">' if stylesheet else f"<style>{CSS}{RECORD_CSS}</style>"
    out = ["<!DOCTYPE html>", f'<html lang="{lang}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(record.title)}</title>{style}</head><body>",
           f"<h1>{e(record.title)}</h1>",
           f'<p class="record-notice{" draft" if record.draft else ""}" role="note">'
           + (f"<strong>{e(w['draft'])}</strong> " if record.draft else "") + f"{e(record.notice)}</p>",
           '<dl class="meta">', *(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in record.facts), "</dl>",
           f"<h2>{e(w['happened'])}</h2>"]
    for item in record.items:
        if item.kind in EVENTS:
            text = f" {e(item.text)}" if item.text else ""
            out.append(f'<p class="event"><time>{_clock(item.at)}</time> <strong>{e(item.label)}</strong>{text}</p>')
        elif item.kind == "note":
            out.append(f'<blockquote class="note">{"<br>".join(e(line) for line in item.text.splitlines())}'
                       "</blockquote>")
        else:
            if item.heading:
                out.append(f"<h3>{e(item.speaker)}：</h3>")
            out.append(f'<p class="speech">{"<br>".join(e(line) for line in item.text.splitlines())}</p>')
    out.append(f"<h2>{e(w['conclusions'])}</h2>")
    if record.questions:
        out.append(f'<p class="note">{e(record.whole)}</p>')
    for number, (heading, counts, conclusions, level) in enumerate(_sections(record), start=1):
        if heading:
            out += [f'<h3 class="question" id="question-{number}">{e(heading)}</h3>',
                    f'<p class="note">{e(counts)}</p>']
        for lane, lines in conclusions:
            out.append(f"<h{level}>{e(lane)}</h{level}>")
            if lines:
                out.append("<ul>" + "".join(f'<li>#{c.number} {e(c.text)} — <span class="figure">{e(c.figure)}</span>'
                                            "</li>" for c in lines) + "</ul>")
            else:
                out.append(f"<p>{e(w['none'])}</p>")
    if record.rounds:
        out += [f"<h2>{e(w['rounds'])}</h2>", f'<p class="note">{e(w["rounds_intro"])}</p>']
        for heading, shifts in record.rounds:
            out.append(f"<h3>{e(heading)}</h3>")
            for statement, moved in shifts:
                out.append(f"<p><strong>{e(statement)}</strong></p>")
                out.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in moved) + "</ul>")
    if record.floor:
        out.append(f"<h2>{e(w['floor'])}</h2>")
        out.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in record.floor) + "</ul>")
    if record.checks:
        out.append(f"<h2>{e(w['checks'])}</h2>")
        for heading, text, check_lines in record.checks:
            out.append(f"<h3>{e(heading)}</h3>")
            out.append(f'<p class="speech">{"<br>".join(e(line) for line in text.splitlines())}</p>')
            out.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in check_lines) + "</ul>")
    if record.follow_ups:
        out.append(f"<h2>{e(w['follow_ups'])}</h2><ul>")
        out += [f"<li>#{f.number} {e(f.text)} — <strong>{e(f.status)}</strong> ({format_time(f.at)}): "
                f"{e(f.response)}</li>" for f in record.follow_ups]
        out.append("</ul>")
    if record.privacy is not None:
        caption, fields = record.privacy
        out += [f'<h2 id="privacy">{e(w["privacy"])}</h2>', f'<p class="note">{e(caption)}</p>', '<dl class="meta">',
                *(f"<dt>{e(label)}</dt><dd>{e(text)}</dd>" for label, text in fields), "</dl>"]
    if record.anchors is not None:
        out.append(f"<h2>{e(w['anchors'])}</h2>")
        if record.anchors:
            out.append(f"<table><thead><tr><th>{e(w['paragraph'])}</th><th>{e(w['time'])}</th>"
                       f"<th>{e(w['basis'])}</th></tr></thead><tbody>")
            out += [f'<tr><td class="n">{n}</td><td>{at}</td><td>{e(basis)}</td></tr>'
                    for n, at, basis in record.anchors]
            out.append("</tbody></table>")
        else:
            out.append(f"<p>{e(w['no_anchor'])}</p>")
        if record.dropped:
            out.append(f"<p>{e(record.dropped)}</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
