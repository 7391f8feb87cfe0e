"""Reports number statements from 1, as every page does: the number a reader sees is the id plus one.

The meeting (tests/export/conftest.py) has statement ids 0-6, a follow-up on id 0 and id 6 rejected, so
a report that printed ids would show a 0 and a 6 where these tests expect a 1 and a 7. The JSON and the
Pol.is folder are data for programs: they keep the ids and the JSON adds each statement's number.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from facilitation.export import render
from facilitation.export.polis import write_polis
from facilitation.export.summary import Summary, build_summary
from tests.export.conftest import small_meeting
from tests.export.test_numbers import Section, html_sections, markdown_sections
from tests.support.servers import scaled

REFERENCE = re.compile(r"^(.*?) \(#(\d+)\)$")


def summary_of(language: str) -> Summary:
    _, events = small_meeting(language)
    return build_summary(events, None, now=1_800_000_000.0)


def numbered_rows(sections: dict[str, Section]) -> list[tuple[int, str]]:
    """Every (number, text) pair of a table whose first column is "#"."""
    rows = []
    for section in sections.values():
        for table in section.tables:
            if table and table[0] and table[0][0] == "#":
                rows += [(int(row[0]), row[1]) for row in table[1:]]
    return rows


def references(sections: dict[str, Section]) -> list[tuple[int, str]]:
    """Every list item ending in "(#N)" (group and majority opinions), as (N, the text before it)."""
    found = []
    for section in sections.values():
        for item in section.items:
            match = REFERENCE.match(item.strip())
            if match:
                found.append((int(match[2]), match[1]))
    return found


def check_numbers(sections: dict[str, Section], summary: Summary, log_title: str) -> None:
    texts = {s.id + 1: s.text for s in summary.statements}
    rows = numbered_rows(sections)
    assert len(rows) > len(summary.statements), "the lane tables and the statement table"
    for number, text in rows:
        assert texts[number] in text.replace("\\", ""), (number, text)
    all_statements = [n for n, _ in rows][-len(summary.statements):]
    assert all_statements == list(range(1, len(summary.statements) + 1))
    refs = references(sections)
    assert refs, "the groups' and the majority's opinions name their statements"
    for number, item in refs:
        assert item.replace("\\", "").endswith(texts[number]), (number, item)
    log = sections[log_title].tables[0]
    column = log[0].index(summary_text(summary, "statement"))
    rejected = next(s for s in summary.statements if s.state == "rejected")
    assert [row[column] for row in log[1:] if row[column]] == [str(rejected.id + 1)]


def summary_text(summary: Summary, key: str) -> str:
    from facilitation.export.i18n import catalog

    return catalog(summary.language).t(key)


@pytest.mark.parametrize("language", ["zh-TW", "en"])
def test_markdown_numbers_statements_from_one(language: str) -> None:
    """Lane tables, the statement table, the follow-ups, the opinions' "(#N)" and the moderation log."""
    summary = summary_of(language)
    sections = markdown_sections(render(summary, "md").decode())
    check_numbers(sections, summary, summary_text(summary, "moderation_log"))
    follow = sections[summary_text(summary, "follow_up")].tables[0]
    assert [row[0] for row in follow[1:]] == ["1"]


@pytest.mark.parametrize("language", ["zh-TW", "en"])
def test_html_numbers_statements_from_one(language: str) -> None:
    summary = summary_of(language)
    sections, _ = html_sections(render(summary, "html").decode())
    check_numbers(sections, summary, summary_text(summary, "moderation_log"))
    follow = sections[summary_text(summary, "follow_up")].tables[0]
    assert [row[0] for row in follow[1:]] == ["1"]


@pytest.mark.slow
def test_pdf_numbers_statements_from_one(tmp_path: Path) -> None:
    """In the PDF's text (pdftotext -layout) each statement's row starts with its number, and each
    opinion ends with "(#N)" of the statement it quotes."""
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is required: apt-get install poppler-utils")
    summary = summary_of("zh-TW")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(summary, "pdf"))
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=scaled(60)).stdout
    rows = 0
    for statement in summary.statements:
        row = re.compile(rf"^\s*(\d+)\s+{re.escape(statement.text)}(?:\s|$)", re.M)
        numbers = [int(m[1]) for m in row.finditer(text)]
        assert numbers and set(numbers) == {statement.id + 1}, (statement.text, numbers)
        rows += len(numbers)
        quoted = [int(m) for m in re.findall(rf"{re.escape(statement.text)}\s*\(#(\d+)\)", text)]
        assert set(quoted) <= {statement.id + 1}, (statement.text, quoted)
    assert rows > len(summary.statements)
    assert re.search(r"\(#\d+\)", text)


def test_json_keeps_ids_and_adds_the_number() -> None:
    """Programs join on ids (they start at 0); `number` is what the reports print beside the text."""
    data = json.loads(render(summary_of("zh-TW"), "json"))
    assert [(s["id"], s["number"]) for s in data["statements"]] == [(i, i + 1) for i in range(7)]
    assert {a["statement"] for a in data["acceptable"]} == {0, 1}
    assert data["statements"][0]["follow_up"] is not None


def test_polis_keeps_the_ids(tmp_path: Path) -> None:
    """Pol.is tools read comment-id as an id: ours stay 0-based, as the JSON's."""
    write_polis(summary_of("zh-TW"), tmp_path)
    with (tmp_path / "comments.csv").open(newline="", encoding="utf-8") as f:
        ids = sorted(int(row["comment-id"]) for row in csv.DictReader(f))
    assert ids == list(range(7))
