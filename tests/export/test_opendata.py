"""The open-data package: small cells rolled up, no personal data, times to the minute, files Excel reads,
the data dictionary and the Open Government Data License attribution statement."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from facilitation.core.events import Event
from facilitation.core.meeting import (
    Join,
    Meeting,
    MeetingSettings,
    Moderate,
    PostStatement,
    SetPhase,
    Vote,
    hash_secret,
)
from facilitation.export.opendata import TABLES, minute, write_opendata
from facilitation.export.summary import build_summary
from facilitation.export.suppression import SMALL_CELL, rollup
from facilitation.tools import export as export_command
from tests.export.conftest import store_events
from tests.support.servers import ServerProcess, scaled

T0 = 1_767_225_600.0 + 37.5  # 2026-01-01 08:00:37.5 in Taiwan: seconds that must not survive
PLANTED_NICKNAME = "陳秘密暱稱"
HIDDEN_TEXT = "我的地址是信義路五段七號"
ROLES = ("居民", "業者", "學者", "記者", "議員")
ROLE_SIZES = {"居民": 8, "業者": 6, "學者": 2, "記者": 3, "議員": 1}
"""Planted small cells: 學者 2, 記者 3 and 議員 1 are under five; together 6, so they become one row."""


def agency_meeting() -> list[Event]:
    """Twenty participants in five roles (three planted under five), nicknames, two camps, one hidden
    statement with an address in it, votes spread over seconds that the package must round away."""
    settings = MeetingSettings(title="市民參與會議", topic="公園", roles=ROLES)
    seeds = ["公園要有更多樹蔭", "公園夜間要有照明", "公園應該禁止煙火", "公園要設狗狗專區"]
    meeting, events = Meeting.create("PARKXY", settings, hash_secret("k"), T0, seeds)

    def apply(command: Any, at: float) -> Any:
        applied = meeting.apply(command, at)
        events.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting"), T0 + 1)
    people: list[int] = []
    for role, size in ROLE_SIZES.items():
        for i in range(size):
            nickname = PLANTED_NICKNAME if not people else f"nick-{len(people)}-zz"
            people.append(apply(Join(hash_secret(f"{role}{i}"), nickname, role), T0 + 2 + len(people))["participant"])
    hidden = apply(PostStatement(people[0], HIDDEN_TEXT, "h"), T0 + 20)["statement"]
    apply(SetPhase("voting"), T0 + 30)
    at = T0 + 31.7
    for i, p in enumerate(people):
        camp = i % 2 == 0
        for s in range(len(seeds)):
            at += 1.3
            value = "agree" if s == 0 else ("agree" if camp else "disagree") if s < 3 else "pass"
            apply(Vote(p, s, value, f"{i}-{s}"), at)
    apply(Vote(people[1], hidden, "agree", "x"), at + 1)
    apply(Moderate(hidden, "hide", "含個人地址"), at + 5)
    apply(SetPhase("reviewing"), at + 9)
    return events


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 byte-order mark"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), f"{path.name}: not CRLF line ends"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("opendata") / "PARKXY-opendata"
    summary = build_summary(agency_meeting(), None, now=T0 + 86_400)
    write_opendata(summary, folder, agency="臺北市政府工務局")
    return folder


def table(package: Path, name: str) -> list[dict[str, str]]:
    rows = read_csv(package / name)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_rollup_combines_small_categories_and_protects_the_combined_row() -> None:
    """Categories under five are combined; a combined row still under five takes in the smallest shown one;
    empty categories are left out; everything under five in total stays one row."""
    assert rollup({"a": 8, "b": 6, "c": 2, "d": 3}, "other") == {"a": "a", "b": "b", "c": "other", "d": "other"}
    assert rollup({"a": 7, "b": 6, "c": 2}, "other") == {"a": "a", "b": "other", "c": "other"}
    assert rollup({"a": 9, "b": 0}, "other") == {"a": "a"}
    assert rollup({"a": 2, "b": 1}, "other") == {"a": "other", "b": "other"}
    assert rollup({"a": 5, "b": 5}, "other") == {"a": "a", "b": "b"}


def test_every_breakdown_row_describes_at_least_five_people(package: Path) -> None:
    """roles.csv, groups.csv and the per-statement breakdowns have no row under five people (unless one row
    is the whole room), and the planted small roles do not appear by name."""
    roles = table(package, "roles.csv")
    names = [r["role"] for r in roles]
    assert names == ["居民", "業者", "其他"]
    assert [int(r["participants"]) for r in roles] == [8, 6, 6]
    assert not {"學者", "記者", "議員"} & set(names)
    for name, column in (("roles.csv", "participants"), ("groups.csv", "participants"),
                         ("statement_roles.csv", "voters"), ("statement_groups.csv", "voters")):
        rows = table(package, name)
        assert rows, name
        key = "statement" if "statement" in rows[0] else None
        by_breakdown: dict[str, list[int]] = {}
        for row in rows:
            by_breakdown.setdefault(row[key] if key else "", []).append(int(row[column]))
        for sizes in by_breakdown.values():
            assert len(sizes) == 1 or min(sizes) >= SMALL_CELL, (name, sizes)


SUPPRESSION_TESTED = {
    "roles.csv": "test_every_breakdown_row_describes_at_least_five_people",
    "groups.csv": "test_every_breakdown_row_describes_at_least_five_people",
    "statement_roles.csv": "test_every_breakdown_row_describes_at_least_five_people",
    "statement_groups.csv": "test_every_breakdown_row_describes_at_least_five_people",
    "round_roles.csv": "tests/export/test_agenda_exports.py::test_the_open_data_package_holds_each_round_shift",
    "round_groups.csv": "tests/export/test_agenda_exports.py::test_the_open_data_package_holds_each_round_shift",
}
"""Each file of the package that breaks people down by role or group, and the test of its small cells."""


def test_every_role_or_group_breakdown_has_its_small_cell_test() -> None:
    """A file with a role or group column is one whose small cells a test checks: a breakdown added later
    cannot ship without one (and votes.csv, a row per act, has neither column)."""
    by_category = {t.file for t in TABLES if {"role", "group"} & set(t.header)}
    assert by_category == set(SUPPRESSION_TESTED)
    assert "votes.csv" not in by_category


def test_breakdowns_keep_the_totals(package: Path) -> None:
    """Rolling up moves people between rows but loses none: each breakdown adds up to the meeting's counts."""
    meeting = table(package, "meeting.csv")[0]
    statements = {int(s["statement"]): s for s in table(package, "statements.csv")}
    assert sum(int(r["participants"]) for r in table(package, "roles.csv")) == int(meeting["participants"]) == 20
    assert sum(int(r["participants"]) for r in table(package, "groups.csv")) == 20
    assert sum(int(r["votes"]) for r in table(package, "roles.csv")) == int(meeting["votes"])
    assert len(table(package, "votes.csv")) == int(meeting["votes"]) == 20 * 4 + 2  # + author's own, + one
    for name in ("statement_roles.csv", "statement_groups.csv"):
        sums: Counter[tuple[int, str]] = Counter()
        for row in table(package, name):
            for value in ("agree", "acceptable", "disagree", "pass"):
                sums[(int(row["statement"]), value)] += int(row[value])
        for sid, s in statements.items():
            for value in ("agree", "acceptable", "disagree", "pass"):
                assert sums[(sid, value)] == int(s[value]), (name, sid, value)


def test_no_nickname_no_hidden_text_no_seconds(package: Path) -> None:
    """No file holds a nickname or a hidden statement's words; every time is on the minute in +08:00."""
    for path in package.iterdir():
        data = path.read_bytes().decode("utf-8-sig")
        assert PLANTED_NICKNAME not in data and "-zz" not in data, path.name
        assert HIDDEN_TEXT not in data and "含個人地址" not in data, path.name
    hidden = [s for s in table(package, "statements.csv") if s["state"] == "hidden"]
    assert len(hidden) == 1 and hidden[0]["text"] == "" and hidden[0]["votes"] == "2"
    votes = table(package, "votes.csv")
    assert set(votes[0]) == {"participant", "statement", "vote", "at"}  # no role, no group beside a person
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d\+08:00$")
    for name in ("votes.csv", "statements.csv", "timeline.csv", "meeting.csv"):
        for row in table(package, name):
            for column, value in row.items():
                if column.endswith("_at") or column == "at":
                    assert value == "" or stamp.match(value), (name, column, value)
    assert minute(T0) == "2026-01-01T08:00+08:00"
    assert table(package, "meeting.csv")[0]["started_at"] == "2026-01-01T08:00+08:00"


def test_headers_follow_the_data_dictionary(package: Path) -> None:
    """Every CSV's header is exactly its table in the dictionary, and the dictionary lists every column in
    both languages."""
    dictionary = table(package, "data-dictionary.csv")
    for t in TABLES:
        assert read_csv(package / t.file)[0] == t.header, t.file
        listed = [d["column"] for d in dictionary if d["file"] == t.file]
        assert listed == t.header
    assert all(d["description_zh"] and d["description_en"] for d in dictionary)
    assert any(re.search(r"[\u4e00-\u9fff]", d["description_zh"]) for d in dictionary)


EXHIBIT = """{agency} {year} {dataset}
此開放資料依政府資料開放授權條款 (Open Government Data License) 進行公眾釋出，\
使用者於遵守本條款各項規定之前提下，得利用之。
政府資料開放授權條款：https://data.gov.tw/license

{agency} {year} {dataset}
The Open Data is made available to the public under the Open Government Data License, User can make use of it \
when complying to the condition and obligation of its terms.
Open Government Data License:https://data.gov.tw/license
"""
"""The license's Exhibit (附件：顯名聲明 / Exhibit - Attribution), word for word as the SPDX list's copy of
OGDL-Taiwan-1.0 has it, its first line filled in: both languages, three lines each, nothing else."""


def test_attribution_statement(package: Path) -> None:
    """ATTRIBUTION.txt is the license's three-part attribution statement word for word, naming the agency,
    the year and the dataset, in zh-TW and English; README.md carries it and the CC BY 4.0 compatibility."""
    text = (package / "ATTRIBUTION.txt").read_text(encoding="utf-8")
    assert text == EXHIBIT.format(agency="臺北市政府工務局", year=2026, dataset="市民參與會議 會議開放資料 第1版")
    readme = (package / "README.md").read_text(encoding="utf-8")
    assert all(line in readme for line in text.splitlines())
    assert "姓名標示 4.0" in readme and "Creative Commons Attribution 4.0" in readme
    assert all(f"`{t.file}`" in readme for t in TABLES)


def test_cli_needs_the_agency_and_writes_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`export --format opendata` without --agency exits 2 and writes nothing; with it, the folder appears."""
    store = f"sqlite:///{tmp_path / 'm.db'}"
    store_events(store, agency_meeting())
    out = tmp_path / "pkg"
    assert export_command.run("PARKXY", "opendata", str(out), store) == 2
    assert "--agency" in capsys.readouterr().err and not out.exists()
    assert export_command.run("PARKXY", "opendata", str(out), store, "新北市政府") == 0
    assert {p.name for p in out.iterdir()} >= {t.file for t in TABLES} | {"ATTRIBUTION.txt", "README.md"}
    assert export_command.run("PARKXY", "opendata", "-", store, "新北市政府") == 2


def test_http_download_is_a_zip_and_needs_the_agency(tmp_path: Path) -> None:
    """GET .../export?format=opendata refuses a missing agency with 400 invalid_field; with one it is a zip
    of the package under PARKXY-opendata/."""
    db = tmp_path / "meetings.db"
    store_events(f"sqlite:///{db}", agency_meeting())
    server = ServerProcess(f"sqlite:///{db}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        url = f"{server.url}/api/meetings/PARKXY/export?format=opendata&key=k"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=scaled(30))
        assert refused.value.code == 400
        assert json.loads(refused.value.read())["error"]["code"] == "invalid_field"
        with urllib.request.urlopen(url + "&agency=" + urllib.parse.quote("臺北市政府"), timeout=scaled(30)) as answer:
            assert answer.headers["content-type"] == "application/zip"
            archive = zipfile.ZipFile(io.BytesIO(answer.read()))
        names = set(archive.namelist())
        assert {f"PARKXY-opendata/{t.file}" for t in TABLES} <= names
        assert archive.read("PARKXY-opendata/ATTRIBUTION.txt").decode().startswith("臺北市政府 ")
    finally:
        server.stop()
