"""Reading Pol.is exports: vote history, moderation, the participants-votes fallback, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clustering import AGREE as AGREE_VALUE
from clustering import DISAGREE as DISAGREE_VALUE
from clustering.polis_io import PolisExportError, read_polis_export
from facilitation.tools.analyze import run
from tests.clustering.conftest import data_dir

VOTES = """timestamp,datetime,comment-id,voter-id,vote
100,x,0,0,1
300,x,0,0,-1
200,x,1,0,1
150,x,0,1,0
"""
COMMENTS = """timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body
1,x,0,0,1,1,1,First statement
2,x,1,0,1,0,-1,Rejected statement
"""
WIDE = """participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1
0,0,0,2,1,1,-1,1
1,1,0,1,0,0,0,
"""


def _folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name.replace('_', '-')}.csv").write_text(text)
    return tmp_path


def _votes(conv: object) -> dict[tuple[object, object], float]:
    t = conv.votes  # type: ignore[attr-defined]
    return {(t.participant_ids[r], t.statement_ids[c]): v
            for r, c, v in zip(t.rows.tolist(), t.cols.tolist(), t.values.tolist(), strict=True)}


def test_latest_vote_wins_by_timestamp(tmp_path: Path) -> None:
    """votes.csv history: the latest row per (voter, comment) by timestamp is kept."""
    conv = read_polis_export(_folder(tmp_path, votes=VOTES, comments=COMMENTS))
    assert _votes(conv) == {(0, 0): -1.0, (0, 1): 1.0, (1, 0): 0.0}
    assert conv.vote_rows == 4


def test_rejected_comments_are_moderated_out(tmp_path: Path) -> None:
    """moderated = -1 in comments.csv moderates a statement out; texts are kept."""
    conv = read_polis_export(_folder(tmp_path, votes=VOTES, comments=COMMENTS))
    assert conv.moderated_out == frozenset({1})
    assert conv.texts[0] == "First statement"


def test_participants_votes_fallback_and_group_ids(tmp_path: Path) -> None:
    """Without votes.csv the wide file is read; its group-id column is kept for comparison."""
    conv = read_polis_export(_folder(tmp_path, participants_votes=WIDE, comments=COMMENTS))
    assert _votes(conv) == {(0, 0): -1.0, (0, 1): 1.0, (1, 0): 0.0}
    assert conv.polis_groups == {0: 0, 1: 1}


def test_missing_folder_raises(tmp_path: Path) -> None:
    """A folder without vote files is refused with a readable error."""
    with pytest.raises(PolisExportError, match=r"not a Pol\.is export"):
        read_polis_export(tmp_path)


def test_votes_file_matches_participants_votes() -> None:
    """On a real export the deduplicated votes.csv equals participants-votes.csv cell for cell."""
    folder = data_dir() / "brexit-consensus"
    full = read_polis_export(folder)
    wide_only = Path(folder) / "participants-votes.csv"
    from clustering.polis_io import _read_participant_votes

    wide, _ = _read_participant_votes(wide_only)
    assert _votes(full) == {(p, s): v for p, s, v in wide}


def test_cli_json_is_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    """`run(path, as_json=True)` prints exactly one JSON document with the contract's counts."""
    assert run(str(data_dir() / "brexit-consensus"), True) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["participants"], data["statements"], data["votes"]) == (204, 50, 5303)
    assert data["clustered"] == sum(g["size"] for g in data["groups"])


def test_cli_report_shows_statement_text(capsys: pytest.CaptureFixture[str]) -> None:
    """The readable report names groups and quotes statement texts."""
    assert run(str(data_dir() / "brexit-consensus"), False) == 0
    out = capsys.readouterr().out
    assert "Group A" in out and "Single Market" in out and "Accepted by most of every group" in out


def test_cli_reports_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad folder exits 2 with the error on stderr and nothing on stdout."""
    assert run(str(tmp_path / "nope"), True) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "error" in captured.err


@pytest.mark.parametrize("name", ["brexit-consensus", "15-per-hour-seattle", "london.youth.policing"])
def test_every_figure_of_the_cli_report_is_a_raw_count(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each "count/seen share" of the readable report is recounted from the export's latest votes: a
    group's representative statements from its members' votes, the majority opinions from everyone's.
    (The library's smoothed shares rank; they are never printed: 0 of 23 once read as "disagree 4%".)"""
    import re

    folder = data_dir() / name
    conversation = read_polis_export(folder)
    votes = _votes(conversation)
    assert run(str(folder), True) == 0
    groups = {g["id"]: {str(m) for m in g["members"]} for g in json.loads(capsys.readouterr().out)["groups"]}
    assert run(str(folder), False) == 0
    report = capsys.readouterr().out
    figure = re.compile(r"^  (agree|disagree)\s+(\d+)/(\d+)\s+(\d+)% #(\S+)")
    section, checked = "", 0
    for line in report.splitlines():
        if line and not line.startswith(" "):
            section = line
            continue
        found = figure.match(line)
        if found is None:
            continue
        direction, count, seen, share, statement = found.groups()
        want = DISAGREE_VALUE if direction == "disagree" else AGREE_VALUE
        if section.startswith("Group "):
            voters = groups[section.split()[1].rstrip(":")]
        else:
            assert section.startswith("Majority"), section
            voters = {str(p) for p, _ in votes}
        cast = [v for (p, s), v in votes.items() if str(s) == statement and str(p) in voters]
        assert (int(count), int(seen)) == (sum(v == want for v in cast), len(cast)), line
        assert int(share) == round(100 * int(count) / int(seen)), line
        checked += 1
    assert checked >= 2 * len(groups), report
    assert "Figures are votes" in report
