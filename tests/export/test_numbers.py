"""Every number a reader sees in an export can be checked against the meeting's raw votes.

A meeting with two noisy camps, stakeholder roles, a statement everyone passed on and a settings change
is built through the pure core. For Markdown, HTML, PDF and JSON the test reads what the report shows —
every ``count / of · share%`` figure, every group size, every vote tally — and recomputes it from the raw
votes of the replayed meeting, with group membership taken from the map the report itself shows. A
published analysis holding a one-person group checks that such a group is not shown as an opinion group.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from facilitation.core.events import Event
from facilitation.core.meeting import (
    Join,
    Meeting,
    MeetingSettings,
    SetPhase,
    UpdateSettings,
    Vote,
    hash_secret,
)
from facilitation.export import render
from facilitation.export.i18n import PAGE_CATALOGS, SHARED_KEYS, catalog
from facilitation.export.summary import Summary, build_summary, min_group_size
from facilitation.export.svg import DOT, label_boxes, map_svg, project, stacked
from tests.support.servers import scaled

T0 = 1_700_000_000.0
SEEDS = ["公車應該延長營運到午夜", "捷運站需要更多無障礙電梯", "停車費應該調漲", "自行車道要加寬", "夜間公車班次太少",
         "計程車應納入大眾運輸補貼", "人行道應該加寬", "公車站要有即時資訊", "大家都略過的一則"]
ALL_PASS = len(SEEDS) - 1
FIGURE = re.compile(r"(\d+) / (\d+)(?: [^\s·|<>]+)? · (\d+)%")
PERCENT = re.compile(r"\d+%")
IDENTIFIERS = re.compile(r"\b(results_visible|analysis_paused|needs_votes|under_study|not_adopted|True|False)\b|"
                         r"\w=\w|\b1 people|\b1 participants")
PHASE_IDENTIFIERS = re.compile(r"\b(lobby|collecting|voting|reviewing|closed)\b")
"""In a Chinese report no English phase name may appear (in English ones they are ordinary words)."""


def noisy_meeting(language: str = "zh-TW") -> tuple[Meeting, list[Event]]:
    """Two camps of 9 and 7 voters with 15% noise, roles, one all-pass statement, one settings change."""
    rng = random.Random(7)
    settings = MeetingSettings(title="交通會議" if language == "zh-TW" else "Transport meeting", language=language,
                               scale="consent", roles=("居民", "業者", "公務員"))
    meeting, events = Meeting.create("NUMBRS", settings, hash_secret("host-key"), T0, SEEDS)

    def apply(command: Any, at: float) -> Any:
        applied = meeting.apply(command, at)
        events.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting"), T0 + 1)
    people = [apply(Join(hash_secret(f"p{i}"), "", ("居民", "業者", "公務員")[i % 3]), T0 + 2 + i)["participant"]
              for i in range(16)]
    apply(SetPhase("voting"), T0 + 30)
    apply(UpdateSettings({"results_visible": False}), T0 + 31)
    at = T0 + 40
    for i, p in enumerate(people):
        camp = i < 9
        for s in range(len(SEEDS)):
            if s == ALL_PASS:
                value = "pass"
            elif s in (0, 1):
                value = rng.choice(["agree", "agree", "acceptable"])
            elif s == 2:
                value = rng.choice(["disagree", "disagree", "disagree", "pass"])
            else:
                lean = (s % 2 == 0) == camp
                value = "agree" if lean else "disagree"
                if rng.random() < 0.15:
                    value = rng.choice(["pass", "acceptable", "disagree" if lean else "agree"])
            at += 1
            apply(Vote(p, s, value, f"v{i}-{s}"), at)
    apply(SetPhase("reviewing"), at + 10)
    apply(SetPhase("closed"), at + 20)
    return meeting, events


@dataclass
class Raw:
    """The replayed meeting's raw votes and the report's own group membership."""

    votes: dict[int, dict[int, str]]
    role_of: dict[int, str]
    group_of: dict[int, str]

    def voters(self, who: str) -> list[int]:
        """Participants of a group (``A``), a role (``居民``) or everyone (``*``)."""
        if who == "*":
            return list(self.votes)
        in_group = [p for p, g in self.group_of.items() if g == who]
        return in_group or [p for p, r in self.role_of.items() if r == who]

    def count(self, who: str, statement: int, values: set[str]) -> tuple[int, int]:
        cast = [self.votes[p][statement] for p in self.voters(who) if statement in self.votes.get(p, {})]
        return sum(1 for v in cast if v in values), len(cast)

    def tally(self, who: str, statement: int, order: tuple[str, ...]) -> str:
        cast = Counter(self.votes[p][statement] for p in self.voters(who) if statement in self.votes.get(p, {}))
        return " / ".join(str(cast[v]) for v in order)


def raw_of(events: list[Event], summary_json: dict[str, Any]) -> Raw:
    meeting = Meeting.replay(events)
    return Raw({p: dict(v) for p, v in meeting.votes.items()}, {p.id: p.role for p in meeting.participants.values()},
               {int(pt["participant"]): pt["group"] for pt in summary_json["map"] if pt["group"] is not None})


def percent_of(count: int, of: int) -> int:
    """Half-up rounding, as a person checks by hand."""
    return int(count * 100 / of + 0.5 + 1e-9)


def check_figure(text: str) -> tuple[int, int]:
    match = FIGURE.fullmatch(text.strip())
    assert match, f"not a checkable figure: {text!r}"
    count, of, pct = (int(x) for x in match.groups())
    assert of > 0 and pct == percent_of(count, of), text
    return count, of


# ---------------------------------------------------------------- reading what a report shows


@dataclass
class Section:
    title: str
    tables: list[list[list[str]]] = field(default_factory=list)
    """Each table: header row, then rows of cell texts."""
    items: list[str] = field(default_factory=list)
    subheads: list[str] = field(default_factory=list)
    item_head: list[str] = field(default_factory=list)
    """For each item, the subheading it appeared under."""


def markdown_sections(md: str) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    current = Section("")
    table: list[list[str]] | None = None
    for line in md.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), Section(line[3:].strip()))
            table = None
        elif line.startswith("### "):
            current.subheads.append(line[4:].strip())
        elif line.startswith("|"):
            if re.fullmatch(r"\|[-:|]+\|", line.strip()):
                continue  # the alignment row
            cells = [c.strip().replace("\\", "") for c in line.strip().strip("|").split(" | ")]
            if table is None:
                table = [cells]
                current.tables.append(table)
            else:
                table.append(cells)
        else:
            table = None
            if line.startswith("- "):
                current.items.append(line[2:])
                current.item_head.append(current.subheads[-1] if current.subheads else "")
    return sections


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, Section] = {}
        self.current = Section("")
        self.tag_text: list[str] | None = None
        self.row: list[str] | None = None
        self.table: list[list[str]] | None = None
        self.in_body = False
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        if tag in ("h2", "h3", "li", "td", "th"):
            self.tag_text = []
        if tag == "table":
            self.table = []
            self.current.tables.append(self.table)
        if tag == "tr":
            self.row = []

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self.tag_text or []).strip()
        if tag == "h2":
            self.current = self.sections.setdefault(text, Section(text))
        elif tag == "h3":
            self.current.subheads.append(text)
        elif tag == "li":
            self.current.items.append(text)
            self.current.item_head.append(self.current.subheads[-1] if self.current.subheads else "")
        elif tag in ("td", "th") and self.row is not None:
            self.row.append(text)
        elif tag == "tr" and self.table is not None and self.row is not None:
            self.table.append(self.row)
            self.row = None
        if tag in ("h2", "h3", "li", "td", "th"):
            self.tag_text = None

    def handle_data(self, data: str) -> None:
        if self.tag_text is not None:
            self.tag_text.append(data)
        if self.in_body:
            self.texts.append(data)


def html_sections(html: str) -> tuple[dict[str, Section], str]:
    reader = _HtmlReader()
    reader.feed(html.split("<svg", 1)[0] + html.split("</svg>", 1)[-1] if "<svg" in html else html)
    return reader.sections, " ".join(reader.texts)


# ---------------------------------------------------------------- the checks


def check_sections(sections: dict[str, Section], raw: Raw, summary: Summary) -> int:
    """Recompute every figure in the lane tables, the groups, the majority and the statement table."""
    cat = catalog(summary.language)
    accepted, disagree, agree = {"agree", "acceptable"}, {"disagree"}, {"agree"}
    checked = 0
    group_names = {cat.group(g.id): g.id for g in summary.groups}
    for title, values in ((cat.t("results.everyone_accepts"), accepted), (cat.t("lane.disputed"), accepted),
                          (cat.t("rejected"), disagree)):
        for table in sections[title].tables:
            head = table[0]
            for row in table[1:]:
                statement = int(row[0]) - 1  # reports number statements from 1 (id + 1)
                for name, cell in zip(head[2:], row[2:], strict=True):
                    if cell == "-":
                        continue
                    who = group_names.get(name, name)
                    assert check_figure(cell) == raw.count(who, statement, values), (title, statement, name)
                    checked += 1
    for section_title in (cat.t("groups"), cat.t("majority")):
        section = sections[section_title]
        for item, item_head in zip(section.items, section.item_head, strict=True):
            figure, _, _ = item.partition(cat.t("colon").strip() or ":")
            statement = int(re.search(r"\(#(\d+)\)\s*$", item)[1]) - 1  # type: ignore[index]
            direction = agree if cat.vote("agree") in figure else disagree
            who = "*"
            if section_title == cat.t("groups"):
                who = next(g.id for g in summary.groups if item_head.startswith(cat.group(g.id)))
            count, of = check_figure(figure.replace(f" {cat.vote('agree')}", "").replace(
                f" {cat.vote('disagree')}", ""))
            assert (count, of) == raw.count(who, statement, direction), (section_title, item)
            checked += 1
        for subhead in section.subheads:
            group = next(g for g in summary.groups if subhead.startswith(cat.group(g.id)))
            size = int(re.search(r"(\d+)", subhead.removeprefix(cat.group(group.id)))[1])  # type: ignore[index]
            assert size == len(raw.voters(group.id)), subhead
    from facilitation.core.vocabulary import SCALES

    order = SCALES[summary.scale]
    table = sections[cat.t("all_statements")].tables[0]
    head = table[0]
    for row in table[1:]:
        statement = int(row[0]) - 1
        cells = dict(zip(head, row, strict=True))
        assert cells[cat.t("overall")] == raw.tally("*", statement, order)
        for g in summary.groups:
            assert cells[cat.group(g.id)] == raw.tally(g.id, statement, order)
            checked += 1
    return checked


def check_text(text: str, language: str) -> list[str]:
    """Every percentage in the text is part of a checkable ``a / b · p%`` figure; returns the figures."""
    figures = [m[0] for m in FIGURE.finditer(text)]
    for figure in figures:
        check_figure(figure)
    assert len(PERCENT.findall(text)) == len(figures), "a share is shown without its counts"
    assert not IDENTIFIERS.search(text), IDENTIFIERS.search(text)
    if language == "zh-TW":
        assert not PHASE_IDENTIFIERS.search(text), PHASE_IDENTIFIERS.search(text)
    return figures


@pytest.fixture(scope="module", params=["zh-TW", "en"])
def meeting(request: pytest.FixtureRequest) -> Iterator[tuple[list[Event], Summary]]:
    _, events = noisy_meeting(request.param)
    yield events, build_summary(events, None, now=1_800_000_000.0)


def test_markdown_numbers_match_the_raw_votes(meeting: tuple[list[Event], Summary]) -> None:
    """Every lane share, representative and majority figure, group size and tally in the Markdown."""
    events, summary = meeting
    raw = raw_of(events, json.loads(render(summary, "json")))
    md = render(summary, "md").decode()
    assert check_sections(markdown_sections(md), raw, summary) > 40
    check_text(re.sub(r"\(data:image[^)]*\)", "", md).replace("\\", ""), summary.language)


def test_html_numbers_match_the_raw_votes(meeting: tuple[list[Event], Summary]) -> None:
    events, summary = meeting
    raw = raw_of(events, json.loads(render(summary, "json")))
    sections, text = html_sections(render(summary, "html").decode())
    assert check_sections(sections, raw, summary) > 40
    check_text(text, summary.language)


def test_json_numbers_match_the_raw_votes(meeting: tuple[list[Event], Summary]) -> None:
    """Every count, `of` and share in the JSON, recomputed; no smoothed value anywhere."""
    events, summary = meeting
    data = json.loads(render(summary, "json"))
    raw = raw_of(events, data)
    accepted, disagree = {"agree", "acceptable"}, {"disagree"}

    def check(share: dict[str, Any], who: str, statement: int, values: set[str]) -> None:
        assert (share["count"], share["of"]) == raw.count(who, statement, values)
        assert share["share"] == pytest.approx(share["count"] / share["of"] if share["of"] else 0.0, abs=1e-12)

    for a in data["acceptable"]:
        for s in (*a["groups"], *a["roles"]):
            check(s, s["name"], a["statement"], accepted)
        assert a["worst_share"] == min(s["share"] for s in a["groups"])
    for lane, values in (("disputed", accepted), ("rejected", disagree)):
        for d in data[lane]:
            for s in d["shares"]:
                check(s, s["name"], d["statement"], values)
    for g in data["groups"]:
        assert g["size"] == len(raw.voters(g["id"]))
        for o in g["representative"]:
            check(o, g["id"], o["statement"], {o["direction"]})
    for o in data["majority"]:
        check(o, "*", o["statement"], {o["direction"]})
    for s in data["statements"]:
        total = Counter(raw.votes[p][s["id"]] for p in raw.votes if s["id"] in raw.votes[p])
        assert s["tally"] == {"agree": total["agree"], "acceptable": total["acceptable"],
                              "disagree": total["disagree"], "passed": total["pass"]}
    assert data["participation"]["votes"] == sum(len(v) for v in raw.votes.values())
    assert data["format_version"] == 2


@pytest.mark.slow
def test_pdf_shows_the_same_checked_figures(meeting: tuple[list[Event], Summary], tmp_path: Path) -> None:
    """The PDF's text holds exactly the HTML's figures, each with its counts, and no identifier."""
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is required: apt-get install poppler-utils")
    _, summary = meeting
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(summary, "pdf"))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=scaled(60)).stdout
    _, html_text = html_sections(render(summary, "html").decode())
    assert Counter(check_text(text, summary.language)) == Counter(check_text(html_text, summary.language))


def test_all_pass_statement_needs_votes_not_disputed(meeting: tuple[list[Event], Summary]) -> None:
    _, summary = meeting
    statement = summary.statement(ALL_PASS)
    assert statement is not None and statement.tally.passed == 16 and statement.lane == "needs_votes"
    listed = ({d.statement for d in summary.disputed} | {r.statement for r in summary.rejected}
              | {a.statement for a in summary.acceptable})
    assert ALL_PASS not in listed


def test_settings_and_phases_are_words(meeting: tuple[list[Event], Summary]) -> None:
    """The log says in words that results were hidden from phones and "表態 → 檢視結果", never the
    identifiers (`results_visible=False`, `voting → reviewing`)."""
    _, summary = meeting
    cat = catalog(summary.language)
    md = render(summary, "md").decode().replace("\\", "")
    hidden = cat.setting("results_visible", False)
    assert hidden and hidden in md and not IDENTIFIERS.search(hidden) and hidden != cat.setting("results_visible", True)
    assert f"{cat.phase('voting')} → {cat.phase('reviewing')}" in md
    assert f"{cat.t('phase')}**: {cat.phase('closed')}" in md


def test_one_person_group_is_not_an_opinion_group(meeting: tuple[list[Event], Summary]) -> None:
    """A published analysis with a one-person group (made before the library's minimum group size): the
    summary leaves that group out and counts its member as not in a group."""
    events, _ = meeting
    from clustering import analyze

    meeting_state = Meeting.replay(events)
    result = analyze([(p, s, {"agree": 1.0, "acceptable": 0.5, "pass": 0.0, "disagree": -1.0}[v])
                      for p, mine in meeting_state.votes.items() for s, v in mine.items()], random_state=0).to_dict()
    loner = result["groups"][0]["members"].pop()
    result["groups"][0]["size"] -= 1
    result["groups"].append({"id": "Z", "size": 1, "members": [loner], "center": [0, 0],
                             "representative": [{"statement": "3", "direction": "disagree", "share": 0.67}]})
    summary = build_summary(events, {"run": 3, "seq": 5, "at": T0, "result": result}, now=1_800_000_000.0)
    assert min_group_size() >= 2
    assert "Z" not in {g.id for g in summary.groups}
    assert next(p.group for p in summary.map if p.participant == int(loner)) is None
    for s in summary.statements:
        assert "Z" not in {lean.name for lean in s.by_group}
    text = render(summary, "md").decode()
    assert catalog(summary.language).group("Z") not in text


def test_labels_do_not_cover_their_groups(meeting: tuple[list[Event], Summary]) -> None:
    """On the exported map no group label covers a dot of its own group, and labels do not overlap."""
    _, summary = meeting
    labels = label_boxes(summary, catalog(summary.language))
    assert {label.group for label in labels} == {g.id for g in summary.groups}
    at = project(summary.map)
    for label in labels:
        for p in summary.map:
            if p.group == label.group:
                assert not label.covers(*at[p.participant], pad=DOT), (label, p)
        for other in labels:
            assert other is label or not label.overlaps(other)


def test_shared_words_come_from_the_pages_catalogs() -> None:
    """Every page key the exports use exists in both page catalogs, and the report shows those words."""
    for language, strings in PAGE_CATALOGS.items():
        missing = SHARED_KEYS - set(strings)
        assert not missing, (language, missing)
    _, events = noisy_meeting("zh-TW")
    md = render(build_summary(events, None, now=1_800_000_000.0), "md").decode()
    page = PAGE_CATALOGS["zh-TW"]
    for key in ("vote.agree", "vote.acceptable", "vote.pass", "vote.disagree", "results.everyone_accepts",
                "lane.disputed", "projector.map_heading"):
        assert page[key] in md, key


def test_published_map_message_gives_the_same_checked_figures(meeting: tuple[list[Event], Summary]) -> None:
    """The summary of what the room saw (the live scheduler's stored map message) shows figures that
    match the raw votes with the map's membership, exactly like a computed one."""
    events, _ = meeting
    from clustering import analyze
    from facilitation.analysis.messages import map_message

    state = Meeting.replay(events)
    result = analyze([(p, s, {"agree": 1.0, "acceptable": 0.5, "pass": 0.0, "disagree": -1.0}[v])
                      for p, mine in state.votes.items() for s, v in mine.items()], random_state=0)
    message = map_message(result, run=4, upto_seq=state.seq, at=T0, roles={p.id: p.role for p in
                                                                              state.participants.values()})
    stored = {"run": 4, "seq": state.seq, "at": T0, "result": {"message": json.dumps(message)}}
    summary = build_summary(events, stored, now=1_800_000_000.0)
    assert summary.analysis.source == "published" and summary.analysis.run == 4 and summary.groups
    raw = raw_of(events, json.loads(render(summary, "json")))
    sections, text = html_sections(render(summary, "html").decode())
    assert check_sections(sections, raw, summary) > 40
    check_text(text, summary.language)


def test_the_exported_map_adds_up_to_the_group_sizes(meeting: tuple[list[Event], Summary]) -> None:
    """People who voted alike share one spot: the exported map writes "×n" beside such a mark, so the
    marks and their counts add up to every group size the labels state (as on the projector)."""
    _, summary = meeting
    cat = catalog(summary.language)
    at = project(summary.map)
    piles = stacked(summary.map, at)
    assert piles, "the fixture meeting has no two identical voters: this test would check nothing"
    svg = map_svg(summary, cat)
    for (x, y), count in piles:
        where = f'x="{x + DOT + 4:.1f}" y="{y:.1f}"'
        assert re.search(f'<text {where}[^>]* fill="#ffffff">{cat.t("map.stack", count=count)}</text>', svg)
    assert svg.count('fill="#ffffff">×') == len(piles)  # one readable count per pile (each over its halo)
    for group in summary.groups:
        members = [p for p in summary.map if p.group == group.id]
        spots = {(round(at[p.participant][0] / 2), round(at[p.participant][1] / 2)) for p in members}
        counted = sum(count for (x, y), count in piles if (round(x / 2), round(y / 2)) in spots)
        alone = len(spots) - sum(1 for (x, y), _ in piles if (round(x / 2), round(y / 2)) in spots)
        assert counted + alone == group.size == len(members), group.id


def test_a_majority_of_a_handful_is_not_the_rooms_majority() -> None:
    """A statement only 4 of 12 voted on (3 agree) is a Pol.is majority opinion, but its lane needs votes:
    the report lists it there and not among the room's majority opinions (PO rehearsal: "3 / 4 贊成 ·
    75%" under 全場多數人 while the same report said it needed more votes)."""
    from clustering import analyze

    settings = MeetingSettings(title="少數表態", language="zh-TW", scale="consent")
    meeting, events = Meeting.create("HANDFL", settings, hash_secret("k"), T0, ["一", "二", "三", "四"])

    def apply(command: Any, at: float) -> Any:
        applied = meeting.apply(command, at)
        events.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting"), T0 + 1)
    people = [apply(Join(hash_secret(f"h{i}"), "", ""), T0 + 2 + i)["participant"] for i in range(12)]
    apply(SetPhase("voting"), T0 + 30)
    at = T0 + 40
    for i, p in enumerate(people):
        for s in range(3):
            at += 1
            apply(Vote(p, s, "agree" if (i < 6) == (s != 1) else "disagree", f"v{i}-{s}"), at)
        if i < 4:
            at += 1
            apply(Vote(p, 3, "disagree" if i == 3 else "agree", f"w{i}"), at)
    votes = [(p, s, {"agree": 1.0, "disagree": -1.0}[v]) for p, mine in Meeting.replay(events).votes.items()
             for s, v in mine.items()]
    assert 3 in [o.statement for o in analyze(votes).majority], "the library's Pol.is rule calls it a majority"
    summary = build_summary(events, None, now=1_800_000_000.0)
    lanes = {s.id: s.lane for s in summary.statements}
    assert lanes[3] == "needs_votes"
    assert 3 not in [o.statement for o in summary.majority]
    assert all(lanes[o.statement] != "needs_votes" for o in summary.majority)


def test_pdf_table_labels_stay_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside a 140-character statement the PDF's state and lane cells keep their words whole: the PO
    rehearsal's PDF squeezed "大家都能接受" into a column one character wide, one character per line."""
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is required: apt-get install poppler-utils")
    long = ("河濱公園的步道應該在夜間維持足夠照明，並且設置清楚的指標與緊急求助設施，讓大家安心使用。" * 4)[:140]
    monkeypatch.setattr(f"{__name__}.SEEDS", [SEEDS[0], long, *SEEDS[2:]])
    _, events = noisy_meeting("zh-TW")
    summary = build_summary(events, None, now=1_800_000_000.0)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(summary, "pdf"))
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=scaled(60)).stdout
    cat = catalog("zh-TW")
    labels = {cat.lane(s.lane) for s in summary.statements if s.lane} | {cat.state(s.state) for s in summary.statements}
    assert len(labels) >= 3
    table = text[text.index(cat.t("all_statements")):]
    for label in labels:
        assert label in table, f"{label!r} is broken across lines in the PDF's statement table"


def test_the_descriptions_line_breaks_reach_every_report(tmp_path: Path) -> None:
    """A two-line meeting description stays two lines in Markdown, HTML and PDF (the PO rehearsal's
    "…表達意見。 第二行說明。" ran together), and stays inert text."""
    settings = MeetingSettings(title="說明換行", language="zh-TW", scale="consent",
                               description="請大家踴躍表達意見。\n第二行說明 <b>不是粗體</b>。")
    _, events = Meeting.create("BREAKS", settings, hash_secret("k"), T0, ["一"])
    summary = build_summary(events, None, now=1_800_000_000.0)
    md = render(summary, "md").decode()
    assert "請大家踴躍表達意見。  \n第二行說明 &lt;b&gt;不是粗體&lt;/b&gt;。" in md
    html = render(summary, "html").decode()
    assert '<p class="description">請大家踴躍表達意見。\n第二行說明 &lt;b&gt;不是粗體&lt;/b&gt;。</p>' in html
    assert ".description { white-space: pre-line; }" in html
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is required: apt-get install poppler-utils")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(summary, "pdf"))
    lines = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                           check=True, timeout=scaled(60)).stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if "請大家踴躍表達意見。" in line)
    assert "第二行說明" not in lines[first] and "第二行說明" in lines[first + 1]


def test_a_follow_ups_line_breaks_reach_the_reports_and_paragraphs_stay_apart() -> None:
    """A follow-up response's line breaks survive Markdown (as <br> in its table cell) and HTML (pre-line),
    and a description's blank line still parts two paragraphs in Markdown (second PO rehearsal; a client
    written from docs/export.md)."""
    from facilitation.core.meeting import SetFollowUp

    settings = MeetingSettings(title="回應換行", language="zh-TW", scale="consent",
                               description="第一段。\n\n第二段第一行。\n第二段第二行。")
    meeting, events = Meeting.create("FOLLOW", settings, hash_secret("k"), T0, ["一", "二"])
    events.extend(meeting.apply(SetFollowUp(0, "adopted", "第一行回應\n第二行 <i>回應</i>"), T0 + 5).events)
    summary = build_summary(events, None, now=1_800_000_000.0)
    md = render(summary, "md").decode()
    assert "第一段。\n\n第二段第一行。  \n第二段第二行。" in md
    assert "第一行回應<br>第二行 &lt;i&gt;回應&lt;/i&gt;" in md
    html = render(summary, "html").decode()
    assert re.search(r'<td class="lines" data-label="[^"]*">第一行回應\n第二行 &lt;i&gt;回應&lt;/i&gt;</td>', html)
    assert "td.lines { white-space: pre-line; }" in html
