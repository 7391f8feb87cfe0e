"""Event sourcing: replaying a meeting's events rebuilds exactly the live state (property tests)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facilitation.core.codec import event_from_dict
from facilitation.core.events import Event
from facilitation.core.meeting import (
    Command,
    CommandRefused,
    Join,
    Meeting,
    MeetingSettings,
    Moderate,
    ModerationMode,
    PostStatement,
    SetPhase,
    SetProfile,
    UpdateSettings,
    Vote,
    hash_secret,
)
from tests.core.helpers import NOW


def state_of(meeting: Meeting) -> dict[str, Any]:
    """Everything a meeting holds, as plain data, so two meetings can be compared exactly."""
    return {
        "code": meeting.code,
        "settings": meeting.settings.to_dict(),
        "host_key_hash": meeting.host_key_hash,
        "created_at": meeting.created_at,
        "phase": meeting.phase.value,
        "results_visible": meeting.results_visible,
        "analysis_paused": meeting.analysis_paused,
        "seq": meeting.seq,
        "participants": {k: (p.nickname, p.role, p.joined_at) for k, p in meeting.participants.items()},
        "by_token": dict(meeting.by_token),
        "statements": {
            k: (s.text, s.author, s.seed, s.state.value, s.created_at, s.reason, dict(s.tally))
            for k, s in meeting.statements.items()
        },
        "texts": dict(meeting.texts),
        "votes": {k: dict(v) for k, v in meeting.votes.items()},
        "vote_count": meeting.vote_count,
        "accepted_count": meeting.accepted_count,
        "counters": meeting.counters,
        "moderation_log": list(meeting.moderation_log),
        "ops": {k: list(v.items()) for k, v in meeting.ops.items()},
        "closed_at": meeting.closed_at,
    }


TOKENS = [f"token-{i:012d}" for i in range(4)]
TEXTS = ["Bike lanes.", "Bike  lanes.", "More buses.", "Caf\u00e9 hours.", "Cafe\u0301 hours.", "夜市", "", "x" * 30]
OPS = [f"o{i}" for i in range(5)]

commands = st.one_of(
    st.builds(Join, st.sampled_from(TOKENS).map(hash_secret), st.sampled_from(["", "Ann", "明" * 41]),
              st.sampled_from(["", "resident", "alien"])),
    st.builds(SetProfile, st.integers(0, 4), st.sampled_from(["", "Bo"]), st.sampled_from(["", "vendor"])),
    st.builds(PostStatement, st.one_of(st.none(), st.integers(0, 4)), st.sampled_from(TEXTS),
              st.sampled_from(OPS)),
    st.builds(Vote, st.integers(0, 4), st.integers(0, 6),
              st.sampled_from(["agree", "disagree", "pass", "acceptable", "nope"]), st.sampled_from(OPS)),
    st.builds(Moderate, st.integers(0, 6), st.sampled_from(["accept", "reject", "hide", "zap"]),
              st.sampled_from(["", "off topic"]), st.sampled_from(OPS)),
    st.builds(SetPhase, st.sampled_from(["lobby", "collecting", "voting", "reviewing", "closed", "x"]),
              st.sampled_from(OPS)),
    st.builds(UpdateSettings, st.sampled_from([{"results_visible": False}, {"analysis_paused": True},
                                               {"title": "Renamed"}, {"title": ""}]),
              st.sampled_from(OPS)),
)


def run(moderation: str, sequence: list[Command]) -> tuple[Meeting, list[Event]]:
    """Apply a command sequence the way the server does, collecting every event it produces."""
    settings_ = MeetingSettings(title="Property", roles=("resident", "vendor"), max_statement_chars=20,
                                moderation=ModerationMode(moderation))
    meeting, events = Meeting.create("ABCDEF", settings_, hash_secret("k"), NOW, ["Seed."])
    for i, command in enumerate(sequence):
        with contextlib.suppress(CommandRefused):
            events += meeting.apply(command, NOW + i).events
    return meeting, events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["pre", "post"]), st.lists(commands, max_size=60))
def test_replay_rebuilds_identical_state(moderation: str, sequence: list[Command]) -> None:
    """For any command sequence, replaying the produced events gives exactly the live state."""
    live, events = run(moderation, sequence)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert state_of(Meeting.replay(events)) == state_of(live)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["pre", "post"]), st.lists(commands, max_size=60))
def test_replay_after_json_round_trip(moderation: str, sequence: list[Command]) -> None:
    """Events survive to_dict -> JSON -> event_from_dict unchanged, and replay from them is identical."""
    live, events = run(moderation, sequence)
    stored = [json.loads(json.dumps(e.to_dict(), ensure_ascii=False)) for e in events]
    restored = [event_from_dict(d) for d in stored]
    assert restored == events
    assert state_of(Meeting.replay(restored)) == state_of(live)


@settings(max_examples=100, deadline=None)
@given(st.lists(commands, max_size=40), st.lists(commands, max_size=20))
def test_replayed_meeting_answers_commands_like_the_live_one(first: list[Command], then: list[Command]) -> None:
    """A meeting rebuilt after a restart accepts, refuses and deduplicates the next commands exactly as the live one."""
    live, events = run("post", first)
    rebuilt = Meeting.replay(events)
    for i, command in enumerate(then):
        outcomes: list[tuple[object, ...]] = []
        for meeting in (live, rebuilt):
            try:
                applied = meeting.apply(command, NOW + 1000 + i)
                outcomes.append(("ok", applied.events, applied.result, applied.duplicate))
            except CommandRefused as exc:
                outcomes.append(("refused", exc.code, exc.message, None))
        assert outcomes[0] == outcomes[1]
    assert state_of(rebuilt) == state_of(live)


def test_public_event_drops_secrets() -> None:
    """Public event views never carry token or host key hashes."""
    meeting, events = Meeting.create("ABCDEF", MeetingSettings(title="T"), hash_secret("k"), NOW)
    events += meeting.apply(Join(hash_secret("token-000000000000")), NOW).events
    for event in events:
        assert "token_hash" not in event.public() and "host_key_hash" not in event.public()


def test_replay_requires_meeting_created_first() -> None:
    """A log that does not start with meeting_created is refused."""
    _, events = Meeting.create("ABCDEF", MeetingSettings(title="T"), hash_secret("k"), NOW, ["S."])
    with pytest.raises(ValueError, match="meeting_created"):
        Meeting.replay(events[1:])
