"""The publishable record (會議紀錄): the transcript interleaved with what the meeting did, and its conclusions.

The Freedom of Government Information Law has collegial bodies publish their records; a draft may be
withheld until it is decided. So the record says which it is: until the host publishes it, every copy is
marked 草稿 (draft) in its title and on top; once published it says when.

Contents, in the meeting's language: the meeting's facts (date, times, counts), then "what happened" in
time order — phase changes, statements shown to the room, markers, and the stenographer's paragraphs
placed by :func:`facilitation.export.transcript.place` — then the conclusions (the lanes, with their raw
counts), the agency's follow-ups, and the list of anchors that placed the transcript (which paragraph,
what time, on what basis; any anchor dropped for contradicting a stronger one), so a reader can tell an
exact place from an estimate. Every figure is the summary's (docs/export.md), written ``count / of · %``.

Untrusted text (titles, statements, the transcript itself) goes through the Markdown writer's escape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from facilitation.export.i18n import Catalog, catalog, format_date, format_time, fraction
from facilitation.export.markdown import escape
from facilitation.export.summary import Summary, statement_number
from facilitation.export.transcript import Moment, Placed, Transcript, place

__all__ = ["Marker", "moments_of", "render_record"]

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
    "placing_text": "{markers} 個現場標記、{matches} 處階段宣布比對；其餘段落依長度推估，見「定位依據」",
    "happened": "會議經過",
    "phase_line": "階段：{from_} → {to}",
    "statement_line": "意見 #{id} 公開",
    "marker_line": "標記 {n}",
    "conclusions": "結論",
    "none": "（無）",
    "follow_ups": "後續回應",
    "anchors": "定位依據",
    "paragraph": "段落",
    "basis": "依據",
    "basis_marker": "現場標記 {detail}",
    "basis_phase": "宣布進入「{detail}」",
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
    "placing_text": "{markers} markers set in the meeting, {matches} phase announcements matched; other paragraphs "
                    "estimated by length, see Anchors",
    "happened": "What happened",
    "phase_line": "Phase: {from_} → {to}",
    "statement_line": "Statement #{id} shown",
    "marker_line": "Marker {n}",
    "conclusions": "Conclusions",
    "none": "(none)",
    "follow_ups": "Follow-ups",
    "anchors": "Anchors",
    "paragraph": "Paragraph",
    "basis": "Basis",
    "basis_marker": "marker {detail} set in the meeting",
    "basis_phase": "announces \"{detail}\"",
    "dropped": "Not used (contradicts a stronger anchor, or no such marker in the meeting): {items}",
    "no_anchor": "No anchor: every paragraph is spread over the meeting by length.",
}


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
    """Phase changes, statements shown to the room (when posted already accepted, else when accepted) and
    markers, in time order."""
    accepted_at = {e.statement: e.at for e in summary.moderation_log
                   if e.action == "accept" and e.statement is not None}
    moments = [Moment(e.at, "phase", phase=e.to_phase) for e in summary.moderation_log if e.action == "phase"]
    moments += [Moment(accepted_at.get(s.id, s.created_at), "statement", statement=s.id, text=s.text)
                for s in summary.statements if s.state == "accepted"]
    moments += [Moment(m.at, "marker", marker=m.number, text=m.label) for m in markers]
    order = {"phase": 0, "marker": 1, "statement": 2}
    return sorted(moments, key=lambda m: (m.at, order[m.kind], m.statement or 0, m.marker or 0))


def _clock(at: float) -> str:
    return format_time(at)[-5:]


def _phase_names(summary: Summary) -> dict[float, str]:
    return {e.at: e.from_phase for e in summary.moderation_log if e.action == "phase"}


def render_record(summary: Summary, transcript: Transcript | None = None, markers: Sequence[Marker] = (),
                  published_at: float | None = None) -> str:
    """The record as Markdown; a draft unless ``published_at`` (when the host published it) is given."""
    lang = summary.language if summary.language == "zh-TW" else "en"
    cat = catalog(summary.language)
    moments = moments_of(summary, markers)
    placed = place(transcript, moments, summary.started_at, summary.ended_at) if transcript else None
    draft = published_at is None
    out: list[str] = []
    add = out.append
    title = f"{escape(summary.title)} {_t(lang, 'record')}"
    add(f"# {title}（{_t(lang, 'draft')}）\n" if draft and lang == "zh-TW" else
        f"# {title} ({_t(lang, 'draft')})\n" if draft else f"# {title}\n")
    add(f"> **{_t(lang, 'draft')}** {_t(lang, 'draft_note')}\n" if draft else
        f"> {_t(lang, 'published_note', at=format_time(published_at or 0.0))}\n")
    p = summary.participation
    add(f"- **{_t(lang, 'date')}**: {format_date(summary.started_at)}")
    add(f"- **{_t(lang, 'time')}**: {_clock(summary.started_at)}–{_clock(summary.ended_at)}")
    add(f"- **{_t(lang, 'counts')}**: " + _t(lang, "counts_text", participants=p.participants, voters=p.voters,
                                              statements=p.statements, votes=p.votes))
    if transcript is None or placed is None:
        add(f"- **{_t(lang, 'transcript')}**: {_t(lang, 'no_transcript')}")
    else:
        add(f"- **{_t(lang, 'transcript')}**: " + _t(
            lang, "transcript_text", title=escape(transcript.title) or "-", paragraphs=len(transcript.paragraphs),
            speakers=len(transcript.speakers)))
        add(f"- **{_t(lang, 'placing')}**: " + _t(
            lang, "placing_text", markers=sum(1 for a in placed.anchors if a.basis == "marker"),
            matches=sum(1 for a in placed.anchors if a.basis == "phase")))
    add("")
    add(f"## {_t(lang, 'happened')}\n")
    add(_happened(summary, moments, placed, cat, lang))
    add(f"## {_t(lang, 'conclusions')}\n")
    add(_conclusions(summary, cat, lang))
    follow_ups = [s for s in summary.statements if s.follow_up is not None]
    if follow_ups:
        add(f"## {_t(lang, 'follow_ups')}\n")
        for s in follow_ups:
            assert s.follow_up is not None
            add(f"- #{statement_number(s.id)} {escape(s.text)} — **{cat.t(s.follow_up.status)}** "
                f"({format_time(s.follow_up.at)}): {escape(s.follow_up.response)}")
        add("")
    if placed is not None:
        add(f"## {_t(lang, 'anchors')}\n")
        add(_anchor_table(placed, lang))
    return "\n".join(out).rstrip() + "\n"


def _happened(summary: Summary, moments: Sequence[Moment], placed: Placed | None, cat: Catalog, lang: str) -> str:
    from_phase = _phase_names(summary)
    items: list[tuple[float, int, int, str]] = []
    for i, m in enumerate(moments):
        if m.kind == "phase":
            line = _t(lang, "phase_line", from_=cat.phase(from_phase.get(m.at, "")), to=cat.phase(m.phase))
            items.append((m.at, 0, i, f"**{_clock(m.at)} {line}**\n"))
        elif m.kind == "marker":
            label = f" {escape(m.text)}" if m.text else ""
            items.append((m.at, 0, i, f"**{_clock(m.at)} {_t(lang, 'marker_line', n=m.marker)}**{label}\n"))
        else:
            line = _t(lang, "statement_line", id=statement_number(m.statement or 0))
            items.append((m.at, 0, i, f"**{_clock(m.at)} {line}**: {escape(m.text)}\n"))
    if placed is not None:
        speaker = None
        for placement in placed.placements:
            p = placement.paragraph
            if p.kind == "marker":
                continue  # the marker's moment is listed from the meeting's own log
            lines = [escape(line) for line in p.text.splitlines()]
            if p.kind == "note":
                text = "\n>\n".join(f"> {line}" for line in lines) + "\n"
                speaker = None
            else:
                body = "  \n".join(lines) + "\n"
                text = body if p.speaker == speaker else f"### {escape(p.speaker)}：\n\n{body}"
                speaker = p.speaker
            items.append((placement.at, 1, p.index, text))
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    # a speaker heading again after an event line, so every paragraph reads under its speaker
    out: list[str] = []
    last_speaker: str | None = None
    by_index = {pl.paragraph.index: pl.paragraph for pl in placed.placements} if placed else {}
    for _, kind, index, text in items:
        if kind == 1:
            p = by_index[index]
            if p.kind == "speech" and not text.startswith("### ") and p.speaker != last_speaker:
                text = f"### {escape(p.speaker)}：\n\n{text}"
            last_speaker = p.speaker if p.kind == "speech" else None
        else:
            last_speaker = None
        out.append(text)
    return "\n".join(out) + "\n"


def _conclusions(summary: Summary, cat: Catalog, lang: str) -> str:
    lanes = ("acceptable", "disputed", "rejected", "needs_votes")
    out: list[str] = []
    for lane in lanes:
        out.append(f"### {cat.lane(lane)}\n")
        chosen = [s for s in summary.statements if s.lane == lane]
        if not chosen:
            out.append(f"{_t(lang, 'none')}\n")
            continue
        for s in chosen:
            counted = s.tally.disagree if lane == "rejected" else s.tally.agree + s.tally.acceptable
            word = cat.vote("disagree") if lane == "rejected" else cat.accepted_words(summary.scale)
            out.append(f"- #{statement_number(s.id)} {escape(s.text)} — {word} {fraction(counted, s.tally.total)}")
        out.append("")
    return "\n".join(out) + "\n"


def _anchor_table(placed: Placed, lang: str) -> str:
    out: list[str] = []
    if placed.anchors:
        out.append(f"| {_t(lang, 'paragraph')} | {_t(lang, 'time')} | {_t(lang, 'basis')} |")
        out.append("|---|---|---|")
        for a in placed.anchors:
            basis = _t(lang, f"basis_{a.basis}", detail=a.detail if a.basis == "marker" else
                       catalog(lang).phase(a.detail))
            out.append(f"| {a.paragraph + 1} | {_clock(a.at)} | {basis} |")
    else:
        out.append(_t(lang, "no_anchor"))
    if placed.dropped:
        items = ("、" if lang == "zh-TW" else ", ").join(
            f"{_t(lang, 'paragraph')} {a.paragraph + 1} ("
            + (_t(lang, "marker_line", n=a.detail) if a.basis == "marker" else _t(lang, "basis_phase", detail=a.detail))
            + ")" for a in placed.dropped)
        out.append("")
        out.append(_t(lang, "dropped", items=items))
    return "\n".join(out) + "\n"
