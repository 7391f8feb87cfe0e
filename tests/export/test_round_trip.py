"""Pol.is interoperability: import-polis -> export polis -> analyze gives the same groups, and red-dwarf
reads our export."""

from __future__ import annotations

import csv
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from sklearn.metrics import adjusted_rand_score

from facilitation.core.events import ParticipantJoined
from facilitation.core.meeting import Meeting, hash_secret
from facilitation.tools.import_polis import build_events, read_folder
from tests.export.conftest import CONVERSATIONS, RoundTrip, data_dir
from tests.support.servers import scaled


def _voters(folder: Path) -> list[int]:
    with (folder / "votes.csv").open(newline="", encoding="utf-8") as f:
        return sorted({int(r["voter-id"]) for r in csv.DictReader(f)})


def _comments(folder: Path) -> list[int]:
    with (folder / "comments.csv").open(newline="", encoding="utf-8") as f:
        return sorted(int(r["comment-id"]) for r in csv.DictReader(f))


def _labels(analysis: dict[str, Any]) -> dict[str, str]:
    return {m: g["id"] for g in analysis["groups"] for m in g["members"]}


def _without_times(analysis: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in analysis.items() if k not in ("elapsed_ms", "timings")}


@pytest.mark.slow
@pytest.mark.parametrize("name", CONVERSATIONS)
def test_round_trip_keeps_ids_and_gives_the_identical_analysis(round_trips: dict[str, RoundTrip], name: str) -> None:
    """import-polis then export --format polis keeps every voter-id and comment-id, so the export's analysis
    is the original's: the same members, id by id, in the same groups, and every other figure equal."""
    trip = round_trips[name]
    assert _voters(trip.exported) == _voters(data_dir() / name)
    assert _comments(trip.exported) == _comments(data_dir() / name)
    ours, again = _labels(trip.original), _labels(trip.again)
    assert sorted(ours) == sorted(again)
    for member, group in ours.items():
        assert again[member] == group, member
    for original, exported in zip(trip.original["groups"], trip.again["groups"], strict=True):
        assert original["members"] == exported["members"]
    assert _without_times(trip.again) == _without_times(trip.original)


@pytest.mark.slow
def test_imported_votes_equal_the_files_latest_votes(round_trips: dict[str, RoundTrip]) -> None:
    """The exported votes are exactly the latest vote per pair in the original file, under the original ids
    (no author votes added)."""
    for name in ("scoop-hivemind.biodiversity", "london.youth.policing"):  # authors without their own vote
        trip = round_trips[name]
        original = data_dir() / name
        latest: dict[tuple[int, int], tuple[int, int]] = {}
        values: dict[tuple[int, int], int] = {}
        with (original / "votes.csv").open(newline="", encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                key = (int(r["voter-id"]), int(r["comment-id"]))
                stamp = (int(r["timestamp"]), i)
                if key not in latest or stamp >= latest[key]:
                    latest[key] = stamp
                    values[key] = int(r["vote"])
        exported: dict[tuple[int, int], int] = {}
        with (trip.exported / "votes.csv").open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                exported[(int(r["voter-id"]), int(r["comment-id"]))] = int(r["vote"])
        assert exported == values


def _reddwarf(folder: Path) -> dict[str, int]:
    """red-dwarf 0.4.0 on a Pol.is folder: its own models parse the CSVs, its Pol.is pipeline clusters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from reddwarf.implementations.polis import run_pipeline
        from reddwarf.models import Statement, Vote

        with (folder / "comments.csv").open(newline="", encoding="utf-8") as f:
            statements = [Statement(**row) for row in csv.DictReader(f)]
        with (folder / "votes.csv").open(newline="", encoding="utf-8") as f:
            rows = sorted(csv.DictReader(f), key=lambda r: int(r["timestamp"]))
        latest = {(r["voter-id"], r["comment-id"]): r for r in rows}  # the loader's keep="recent"
        votes = [Vote(**row).model_dump(mode="json") for row in latest.values()]
        moderated_out = [s.statement_id for s in statements if int(s.moderated) == -1]
        result = run_pipeline(votes=votes, mod_out_statement_ids=moderated_out, random_state=0)
    return {str(p): int(g) for p, g in result.participants_df["cluster_id"].dropna().items()}


def _ari(a: dict[str, Any], b: dict[str, Any]) -> float:
    common = sorted(set(a) & set(b))
    assert len(common) >= 0.95 * max(len(a), len(b))
    return float(adjusted_rand_score([a[p] for p in common], [b[p] for p in common]))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["brexit-consensus", "canadian-electoral-reform", "scoop-hivemind.biodiversity"])
def test_reddwarf_reads_the_export_and_finds_our_groups(round_trips: dict[str, RoundTrip], name: str) -> None:
    """red-dwarf reads our exported CSVs and finds our groups (ARI >= 0.95)."""
    assert _ari(_labels(round_trips[name].again), _reddwarf(round_trips[name].exported)) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("name", ["15-per-hour-seattle", "london.youth.policing"])
def test_reddwarf_finds_the_same_groups_in_export_and_original(round_trips: dict[str, RoundTrip], name: str) -> None:
    """Where our method deliberately differs from red-dwarf (docs/method.md), red-dwarf still finds exactly
    its own original groups in our export: the CSVs carry the same votes."""
    trip = round_trips[name]
    assert _ari(_reddwarf(data_dir() / name), _reddwarf(trip.exported)) == 1.0


def test_cli_import_prints_code_and_host_and_export_writes_the_folder(tmp_path: Path) -> None:
    """`facilitation import-polis` prints `code:` and `host:` lines; `export --format polis` writes Pol.is files."""
    store = f"sqlite:///{tmp_path / 'm.db'}"
    env_cmd = [sys.executable, "-m", "facilitation.tools.cli"]
    done = subprocess.run([*env_cmd, "import-polis", str(data_dir() / "london.youth.policing"), "--store", store],
                          capture_output=True, text=True, timeout=scaled(60), check=True)
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    code = lines["code"]
    assert lines["host"].startswith("http://127.0.0.1:8000/host/" + code + "#key=")
    out = tmp_path / "exported"
    subprocess.run([*env_cmd, "export", code, "--format", "polis", "--out", str(out), "--store", store],
                   capture_output=True, text=True, timeout=scaled(60), check=True)
    for name in ("comments.csv", "votes.csv", "participants-votes.csv", "summary.csv", "comment-groups.csv"):
        assert (out / name).is_file(), name
    with (out / "comments.csv").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    with (data_dir() / "london.youth.policing" / "comments.csv").open(newline="", encoding="utf-8") as f:
        assert header == next(csv.reader(f))


def test_imported_voters_cannot_be_signed_in_as() -> None:
    """An imported voter's token_hash names their Pol.is id and is no SHA-256 digest: no token maps to it
    (the previous scheme hashed a guessable "polis-import:<code>:<voter>")."""
    meeting, events = build_events(read_folder(data_dir() / "london.youth.policing"), "ABCDEF", hash_secret("k"))
    joins = [e for e in events if isinstance(e, ParticipantJoined)]
    assert joins and all(e.token_hash.startswith("polis-voter:") for e in joins)
    voter = int(joins[0].token_hash.split(":")[1])
    for guess in (f"polis-import:ABCDEF:{voter}", f"polis-voter:{voter}", str(voter)):
        assert meeting.participant_for_token(hash_secret(guess)) is None
    assert isinstance(Meeting.replay(events), Meeting)


def test_our_own_meeting_comes_back_with_every_setting_and_moderation_reason(tmp_path: Path) -> None:
    """export --format polis then import-polis of a meeting of ours restores all its settings (moderation,
    statement limit, nicknames: a client written from docs/export.md found them reset) and each moderated
    statement's state and reason as it was, an empty hide reason included."""
    from facilitation.core.meeting import Join, MeetingSettings, Moderate, ModerationMode, PostStatement, SetPhase, Vote
    from facilitation.export.polis import write_polis
    from facilitation.export.summary import build_summary

    settings = MeetingSettings(title="往返", language="zh-TW", scale="consent", roles=("住戶", "攤商"),
                               moderation=ModerationMode.PRE, max_statement_chars=300, ask_nickname=True)
    meeting, events = Meeting.create("ROUNDT", settings, hash_secret("k"), 1_700_000_000.0,
                                     ["一", "二", "三", "四"])

    def apply(command: Any) -> Any:
        applied = meeting.apply(command, 1_700_000_100.0)
        events.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting"))
    people = [apply(Join(hash_secret(f"r{i}"), "", "住戶" if i % 2 else "攤商"))["participant"] for i in range(8)]
    for i, p in enumerate(people):
        for s in range(4):
            apply(Vote(p, s, ("agree", "acceptable", "disagree", "pass")[(i + s) % 4], f"v{i}-{s}"))
    posted = apply(PostStatement(people[0], "一則之後被隱藏的意見", "p0"))["statement"]
    apply(Moderate(posted, "accept", ""))
    apply(Moderate(posted, "hide", ""))
    apply(Moderate(2, "reject", "離題"))
    folder = tmp_path / "polis"
    write_polis(build_summary(events, None, now=1_800_000_000.0), folder)
    restored, _ = build_events(read_folder(folder), "BACKIN", hash_secret("k2"))
    for field in ("title", "language", "scale", "roles", "moderation", "max_statement_chars", "ask_nickname"):
        assert getattr(restored.settings, field) == getattr(meeting.settings, field), field
    texts = {s.text: s for s in restored.statements.values()}
    hidden, rejected = texts["一則之後被隱藏的意見"], texts["三"]
    assert (hidden.state.value, hidden.reason) == ("hidden", "")
    assert (rejected.state.value, rejected.reason) == ("rejected", "離題")
