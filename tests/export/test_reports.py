"""Session summary reports built from a meeting made in the test: content, safety, PDF, HTTP download."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from facilitation.export import render
from facilitation.export.i18n import PAGE_CATALOGS
from facilitation.export.markdown import render_markdown
from facilitation.export.polis import write_polis
from facilitation.export.summary import build_summary
from tests.export.conftest import STATEMENTS_ZH, small_meeting, store_events
from tests.support.servers import ServerProcess, scaled


def _summary(**kwargs: object):  # type: ignore[no-untyped-def]
    _, events = small_meeting(**kwargs)  # type: ignore[arg-type]
    return build_summary(events, None, now=1_800_000_000.0)


def test_summary_counts_lanes_and_group_shares() -> None:
    """The model counts participants, votes and roles, and sorts statements into lanes with per-group shares."""
    s = _summary()
    p = s.participation
    assert (p.participants, p.voters, p.statements, p.statements_total) == (12, 12, 6, 7)
    assert p.votes == 12 * 7
    assert {(r.role, r.participants) for r in p.by_role} == {("居民", 6), ("業者", 6)}
    assert s.analysis.source == "computed" and len(s.groups) == 2
    assert {a.statement for a in s.acceptable} == {0, 1}
    assert {d.statement for d in s.disputed} == {3, 4, 5}
    assert {r.statement for r in s.rejected} == {2}
    disputed = s.disputed[0]
    shares = sorted(lean.tally.agree / lean.tally.seen if lean.tally.seen else 0.0 for lean in disputed.leans)
    assert shares == [0.0, 1.0]
    assert all(share.share > 0.8 for a in s.acceptable for share in a.groups)
    rejected = s.statement(6)
    assert rejected is not None and rejected.state == "rejected" and rejected.lane is None
    follow_up = s.statement(0)
    assert follow_up is not None and follow_up.follow_up is not None and follow_up.follow_up.status == "adopted"


def test_markdown_has_every_section_in_chinese() -> None:
    """The zh-TW Markdown report has the participation counts, lanes, groups, follow-up and moderation log."""
    md = render_markdown(_summary())
    page = PAGE_CATALOGS["zh-TW"]  # the pages' words, whatever the glossary review settles on
    for heading in ("參與情形", page["results.everyone_accepts"], page["lane.disputed"], "每組多數反對的", "意見群組",
                    "多數意見", "所有意見", "審核紀錄", "後續回應", page["projector.map_heading"]):
        assert f"## {heading}" in md, heading
    assert "| 12 | 12 | 6 | 7 | 84 |" in md
    assert "| 1 | 公車應該延長營運到午夜 | 6 / 6 · 100% | 6 / 6 · 100% | 6 / 6 · 100% | 6 / 6 · 100% |" in md
    assert "交通局：明年起試辦" in md and "採納" in md
    assert "data:image/svg+xml;base64," in md
    assert "離題" in md


def test_json_is_the_complete_model() -> None:
    """The JSON export holds the whole model: counts, lanes, per-group tallies, votes and the follow-up."""
    data = json.loads(render(_summary(), "json"))
    assert data["format_version"] == 2 and data["language"] == "zh-TW"
    assert data["participation"]["votes"] == 84 and len(data["votes"]) == 84
    assert [a["statement"] for a in data["acceptable"]] and data["rejected"][0]["statement"] == 2
    statement = data["statements"][3]
    assert sum(g["tally"]["agree"] for g in statement["by_group"]) == 6
    assert data["statements"][0]["follow_up"]["response"] == "交通局：明年起試辦"
    assert len(data["map"]) == 12


def test_malicious_text_stays_inert() -> None:
    """Script tags, javascript: links and emphasis in statements are escaped in HTML and Markdown, and CSV
    cells that start like formulas are neutralised while vote columns stay numeric."""
    s = _summary(malicious=True)
    html = render(s, "html").decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html.split("<body>", 1)[1]
    md = render_markdown(s)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "[x](javascript" not in md and "\\[x\\]\\(javascript" in md
    assert "**bold**" not in md and "\\*\\*bold\\*\\*" in md
    sid = next(x.id for x in s.statements if x.text.startswith("<script>"))
    assert sid is not None


def test_csv_formula_injection_is_neutralised(tmp_path: Path) -> None:
    """A statement starting with = is written as '=... in every CSV; vote columns stay plain numbers."""
    s = _summary(malicious=True)
    write_polis(s, tmp_path)
    with (tmp_path / "comments.csv").open(newline="", encoding="utf-8") as f:
        bodies = [r["comment-body"] for r in csv.DictReader(f)]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in bodies
    assert not any(b.startswith(("=", "+", "-", "@")) for b in bodies)
    with (tmp_path / "votes.csv").open(newline="", encoding="utf-8") as f:
        assert all(r["vote"] in ("1", "-1", "0") for r in csv.DictReader(f))
    sidecar = json.loads((tmp_path / "facilitation.json").read_text())
    assert len(sidecar["acceptable"]) == 6  # acceptable votes are +1 in votes.csv, exact in the sidecar


@pytest.mark.slow
def test_pdf_renders_chinese_without_tofu(tmp_path: Path) -> None:
    """The PDF renders to a non-blank page and pdftotext gets the Chinese statements back."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftoppm, pdftotext) is required: apt-get install poppler-utils")
    from facilitation.export.pdf import pdf_available

    assert pdf_available(), "WeasyPrint or its Pango libraries cannot load on this machine"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(_summary(), "pdf"))
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=scaled(60))
    from PIL import Image

    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 500, "the first page is blank"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=scaled(60)).stdout
    assert "會議摘要" in text and PAGE_CATALOGS["zh-TW"]["results.everyone_accepts"] in text
    for statement in STATEMENTS_ZH[:3]:
        assert statement in text.replace("\n", "").replace(" ", "")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=scaled(60)).stdout
    assert "NotoSansCJK" in fonts.replace(" ", "") or "Noto" in fonts
    # The map's group labels are real text in a font that has their glyphs (they were broken boxes before):
    summary = _summary()
    flat = text.replace("\n", "").replace(" ", "")
    for g in summary.groups:
        label = PAGE_CATALOGS["zh-TW"]["map.group_label"].format(group=g.id, size=g.size)
        assert label.replace(" ", "") in flat, label
    embedded = [line.split()[0] for line in fonts.splitlines()[2:] if line.strip()]
    assert embedded and all("Noto-Sans-CJK" in name for name in embedded), embedded


def test_http_export_needs_the_host_key(tmp_path: Path) -> None:
    """GET /api/meetings/{code}/export refuses a wrong key with 403 and the error shape, serves the right one."""
    db = tmp_path / "meetings.db"
    _, events = small_meeting()
    store_events(f"sqlite:///{db}", events)
    server = ServerProcess(f"sqlite:///{db}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        url = f"{server.url}/api/meetings/ABCDEF/export?format=md"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, headers={"X-Host-Key": "wrong"}),
                                   timeout=scaled(30))
        assert refused.value.code == 403
        assert json.loads(refused.value.read())["error"]["code"] == "forbidden"
        with urllib.request.urlopen(urllib.request.Request(url, headers={"X-Host-Key": "host-key"}),
                                    timeout=scaled(30)) as answer:
            assert answer.status == 200
            assert "attachment" in answer.headers["content-disposition"]
            assert PAGE_CATALOGS["zh-TW"]["results.everyone_accepts"] in answer.read().decode()
        body = json.dumps({"statement": 1, "status": "under_study", "response": "研議中"}).encode()
        post = urllib.request.Request(f"{server.url}/api/meetings/ABCDEF/follow-ups?key=host-key", data=body,
                                      method="POST", headers={"content-type": "application/json"})
        with urllib.request.urlopen(post, timeout=scaled(30)) as answer:
            assert json.loads(answer.read())["result"]["status"] == "under_study"
        with urllib.request.urlopen(f"{server.url}/api/meetings/ABCDEF/export?format=json&key=host-key",
                                    timeout=scaled(30)) as answer:
            data = json.loads(answer.read())
        assert data["statements"][1]["follow_up"]["status"] == "under_study"
    finally:
        server.stop()


BLOCK_WEASYPRINT = '''
import sys


class _NoWeasyPrint:
    """Loads nothing: makes `import weasyprint` fail the way a server without it (or without Pango) does."""

    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise {error}("{message}")
        return None


sys.meta_path.insert(0, _NoWeasyPrint())
'''


def _without_weasyprint(folder: Path, error: str, message: str) -> dict[str, str]:
    """Environment for a child Python in which importing WeasyPrint raises ``error``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(BLOCK_WEASYPRINT.format(error=error, message=message))
    return {"PYTHONPATH": str(folder)}


def test_pdf_unavailable_gives_the_install_hint_over_http(tmp_path: Path) -> None:
    """Without Pango the PDF download answers 503 `pdf_unavailable` naming the Debian packages to install
    (not the live-analysis message the console showed for `unavailable`); other formats still work."""
    db = tmp_path / "meetings.db"
    _, events = small_meeting()
    store_events(f"sqlite:///{db}", events)
    env = _without_weasyprint(tmp_path / "site", "OSError", "cannot load library 'libpango-1.0-0'")
    server = ServerProcess(f"sqlite:///{db}", env={"FACILITATION_ANALYSIS": "0", **env}).start()
    try:
        url = f"{server.url}/api/meetings/ABCDEF/export?key=host-key&format="
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "pdf", timeout=scaled(30))
        assert refused.value.code == 503
        error = json.loads(refused.value.read())["error"]
        assert error["code"] == "pdf_unavailable"
        assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in error["message"]
        with urllib.request.urlopen(url + "html", timeout=scaled(30)) as answer:
            assert answer.status == 200
    finally:
        server.stop()


def test_pdf_unavailable_cli_says_how_to_install(tmp_path: Path) -> None:
    """`facilitation export --format pdf` without WeasyPrint exits 2 with the pip hint, writing no file."""
    db = tmp_path / "meetings.db"
    _, events = small_meeting()
    store_events(f"sqlite:///{db}", events)
    env = {**os.environ, **_without_weasyprint(tmp_path / "site", "ImportError", "No module named 'weasyprint'")}
    out = tmp_path / "report.pdf"
    done = subprocess.run([sys.executable, "-m", "facilitation.tools.cli", "export", "ABCDEF", "--format", "pdf",
                           "--out", str(out), "--store", f"sqlite:///{db}"], capture_output=True, text=True,
                          env=env, timeout=scaled(120))
    assert done.returncode == 2, done.stderr
    assert "pip install weasyprint" in done.stderr
    assert not out.exists()


def test_settings_change_text_stays_inert() -> None:
    """A hostile title set mid-meeting reaches the moderation log as words, escaped in HTML and Markdown."""
    from facilitation.core.meeting import UpdateSettings
    from tests.export.conftest import MALICIOUS

    meeting, events = small_meeting()
    events.extend(meeting.apply(UpdateSettings({"title": MALICIOUS}), events[-1].at + 1).events)
    summary = build_summary(events, None, now=1_800_000_000.0)
    html = render(summary, "html").decode()
    assert "<script>" not in html and "：&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render_markdown(summary)
    assert "<script>" not in md and "：&lt;script&gt;" in md and "title=" not in md


@pytest.mark.parametrize("fmt", ["pdf", "polis"])
def test_out_dash_refuses_what_cannot_be_printed(tmp_path: Path, fmt: str) -> None:
    """`export --out -` prints md, html or json; for a PDF or the Pol.is folder it says to give a path and
    writes nothing (it had written a PDF to the terminal, and made a folder named "-")."""
    db = tmp_path / "m.db"
    _, events = small_meeting()
    store_events(f"sqlite:///{db}", events)
    done = subprocess.run([sys.executable, "-m", "facilitation.tools.cli", "export", "ABCDEF", "--format", fmt,
                           "--out", "-", "--store", f"sqlite:///{db}"], capture_output=True, cwd=tmp_path,
                          timeout=scaled(120))
    assert done.returncode == 2 and done.stdout == b""
    assert b"--out PATH" in done.stderr
    assert not (tmp_path / "-").exists()
    json_out = subprocess.run([sys.executable, "-m", "facilitation.tools.cli", "export", "ABCDEF", "--format", "json",
                               "--out", "-", "--store", f"sqlite:///{db}"], capture_output=True, cwd=tmp_path,
                              timeout=scaled(120))
    assert json_out.returncode == 0 and json.loads(json_out.stdout)["code"] == "ABCDEF"
