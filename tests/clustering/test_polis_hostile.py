"""Pol.is exports as they arrive in an agency: re-saved by Excel (a byte-order mark, CRLF, Big5), cut
short, or simply wrong. `facilitation analyze` and `facilitation import-polis` either read such a folder
correctly or refuse it with one line that names the file and the problem (exit status 2): never a Python
traceback, never a vote value that is not agree, disagree or pass."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from clustering.polis_io import PolisExportError, read_polis_export
from facilitation.tools.cli import main
from tests.clustering.conftest import data_dir

SOURCE_NAME = "london.youth.policing"
"""The smallest shared conversation (26 voters): mutated copies are read dozens of times."""

Mutation = Callable[[Path], None]


def _rewrite(name: str, change: Callable[[str], str]) -> Mutation:
    def apply(folder: Path) -> None:
        path = folder / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8", newline="")
    return apply


def _encode(name: str, encoding: str, prefix: bytes = b"") -> Mutation:
    def apply(folder: Path) -> None:
        path = folder / name
        path.write_bytes(prefix + path.read_text(encoding="utf-8").encode(encoding, errors="replace"))
    return apply


def _first_vote(value: str) -> Mutation:
    """The first votes.csv row's vote column replaced (the last field of the row)."""
    def change(text: str) -> str:
        lines = text.split("\n")
        lines[1] = lines[1].rsplit(",", 1)[0] + "," + value
        return "\n".join(lines)
    return _rewrite("votes.csv", change)


READABLE: dict[str, Mutation] = {
    "byte-order mark (Excel's UTF-8)": _encode("votes.csv", "utf-8", b"\xef\xbb\xbf"),
    "byte-order mark on comments": _encode("comments.csv", "utf-8", b"\xef\xbb\xbf"),
    "CRLF line ends": _rewrite("votes.csv", lambda t: t.replace("\n", "\r\n")),
    "blank lines at the end": _rewrite("votes.csv", lambda t: t + "\n\n\n"),
    "an extra column": _rewrite("votes.csv", lambda t: "\n".join(
        line + (",extra" if i == 0 else ",x") if line else line for i, line in enumerate(t.split("\n")))),
}

REFUSED: dict[str, Mutation] = {
    "vote 2": _first_vote("2"),
    "vote nan": _first_vote("nan"),
    "vote inf": _first_vote("inf"),
    "vote text": _first_vote("agree"),
    "vote empty": _first_vote(""),
    "no vote column": _rewrite("votes.csv", lambda t: "\n".join(
        line.rsplit(",", 1)[0] for line in t.split("\n"))),
    "votes.csv empty file": _rewrite("votes.csv", lambda t: ""),
    "comments.csv Big5 (cp950)": _encode("comments.csv", "cp950"),
    "comments.csv empty comment-id": _rewrite("comments.csv", lambda t: "\n".join(
        line if i != 1 else ",".join([*line.split(",")[:2], "", *line.split(",")[3:]])
        for i, line in enumerate(t.split("\n")))),
    "comments.csv moderated text": _rewrite("comments.csv", lambda t: "\n".join(
        line if i == 0 or not line else ",".join([*line.split(",")[:6], "maybe", *line.split(",")[7:]])
        for i, line in enumerate(t.split("\n")))),
    "votes.csv truncated mid-row": _rewrite("votes.csv", lambda t: t[: len(t) * 2 // 3].rsplit(",", 2)[0]),
}


def _copy(tmp_path: Path, mutation: Mutation) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(data_dir() / SOURCE_NAME, folder)
    (folder / "participants-votes.csv").unlink(missing_ok=True)  # the votes file is the one read
    mutation(folder)
    return folder


def _values_are_votes(folder: Path) -> None:
    conversation = read_polis_export(folder)
    values = conversation.votes.values
    assert len(values) > 500 and np.all(np.isin(values, (-1.0, 0.0, 1.0))), np.unique(values)


@pytest.mark.parametrize("name", sorted(READABLE))
def test_a_re_saved_export_reads_like_the_original(tmp_path: Path, name: str) -> None:
    folder = _copy(tmp_path, READABLE[name])
    original = read_polis_export(data_dir() / SOURCE_NAME)
    conversation = read_polis_export(folder)
    assert len(conversation.votes) == len(original.votes)
    assert conversation.texts == original.texts and conversation.moderated_out == original.moderated_out
    assert main(["import-polis", str(folder), "--store", f"sqlite:///{tmp_path / 'm.db'}"]) == 0


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_broken_export_is_refused_with_one_clear_line(tmp_path: Path, name: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy(tmp_path, REFUSED[name])
    try:
        _values_are_votes(folder)
    except PolisExportError:
        pass
    else:
        pytest.fail(f"{name}: read without complaint")
    for argv in (["analyze", str(folder), "--json"],
                 ["import-polis", str(folder), "--store", f"sqlite:///{tmp_path / 'm.db'}"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert ".csv" in err, err
