"""“This matters to me” (issue 24): a participant marks a statement important with a vote; the mark is kept
per (participant, statement), replays from the log, weighs the statement in routing by the clustering
library's importance factor, and reaches the phone's snapshot."""

from __future__ import annotations

import json

import numpy as np
import pytest

import clustering.priorities as library
from facilitation.core.codec import event_from_dict
from facilitation.core.commands.importance import (
    IMPORTANCE_BOOST,
    Importance,
    MarkImportant,
    importance_factor,
)
from facilitation.core.commands.statements import Vote
from facilitation.core.meeting import CommandRefused, Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.core.next_statement import Router, weight
from facilitation.core.state import Phase
from facilitation.core.views import participant_snapshot
from tests.core.helpers import NOW


def meeting_with_votes() -> tuple[Meeting, list, list[int]]:  # type: ignore[type-arg]
    meeting, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市"), hash_secret("k"), NOW,
                                     [f"意見{i}。" for i in range(8)])
    events += meeting.apply(SetPhase("collecting", op="h1"), NOW).events
    people = []
    for n in range(5):  # five votes each: past the newest-first routing of a statement's first votes
        people.append(int(meeting.apply(Join(hash_secret(f"token-{n}-xxxxxxxxxx")), NOW).result["participant"]))
    for p in people:
        for s in range(8):
            events += meeting.apply(Vote(p, s, "agree", op=f"v{p}-{s}"), NOW).events
    return meeting, events, people


def test_a_mark_needs_a_vote_and_the_latest_counts() -> None:
    """Refused before the vote (`vote_first`); given, repeated (no new event), taken back."""
    meeting, _, (a, b, *_) = meeting_with_votes()
    meeting.apply(Join(hash_secret("token-late-xxxxxxxx")), NOW)
    late = max(meeting.participants)
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(MarkImportant(late, 2, True, op="m0"), NOW)
    assert refused.value.code == "vote_first"
    assert meeting.apply(MarkImportant(a, 2, True, op="m1"), NOW).result == {"statement": 2, "important": True}
    again = meeting.apply(MarkImportant(a, 2, True, op="m2"), NOW)
    assert again.events == [] and again.result == {"statement": 2, "important": True}
    meeting.apply(MarkImportant(b, 2, True, op="m3"), NOW)
    assert meeting.public_state()["importance"] == {"counts": {"2": 2}}
    meeting.apply(MarkImportant(b, 2, False, op="m4"), NOW)
    assert meeting.part(Importance).count(2) == 1
    assert participant_snapshot(meeting, a)["you"]["importance"] == [2]
    assert participant_snapshot(meeting, b)["you"]["importance"] == []


def test_marks_follow_the_voting_phases() -> None:
    """Outside collecting and voting a mark is refused with a message naming the phase."""
    meeting, _, (a, *_) = meeting_with_votes()
    meeting.apply(SetPhase("voting", op="p1"), NOW)
    meeting.apply(SetPhase("reviewing", op="p2"), NOW)
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(MarkImportant(a, 1, True, op="m1"), NOW)
    assert refused.value.code == "phase_forbids" and Phase.REVIEWING.value in refused.value.message


def test_marks_replay_from_the_stored_log() -> None:
    """The events, as JSON, replay to the same marks."""
    meeting, events, (a, b, c, *_) = meeting_with_votes()
    for n, (p, s, on) in enumerate([(a, 1, True), (b, 1, True), (c, 4, True), (b, 1, False)]):
        events += meeting.apply(MarkImportant(p, s, on, op=f"m{n}"), NOW).events
    rebuilt = Meeting.replay([event_from_dict(json.loads(json.dumps(e.to_dict()))) for e in events])
    assert rebuilt.part(Importance).marks == meeting.part(Importance).marks
    assert rebuilt.public_state()["importance"] == {"counts": {"1": 1, "4": 1}}
    assert rebuilt.apply(MarkImportant(c, 4, True, op="m2"), NOW).duplicate


def test_the_factor_is_the_clustering_librarys() -> None:
    """The core restates clustering.priorities.importance_factor: the same numbers, the same boost."""
    assert IMPORTANCE_BOOST == library.IMPORTANCE_BOOST
    for important, seen in [(0, 0), (1, 1), (3, 10), (10, 10), (7, 250)]:
        expected = float(library.importance_factor(np.array([important]), np.array([seen]))[0])
        assert importance_factor(important, seen) == pytest.approx(expected)


def test_routing_weighs_marked_statements_more() -> None:
    """A statement marked by every voter weighs (1 + 5/6)² times its priority, and a phone is routed to it
    about that much more often than to an unmarked one of the same priority."""
    meeting, _, people = meeting_with_votes()
    meeting.apply(Join(hash_secret("token-new-xxxxxxxxx")), NOW)
    newcomer = max(meeting.participants)
    for n, p in enumerate(people):
        meeting.apply(MarkImportant(p, 5, True, op=f"m{n}"), NOW)
    priorities = {s: 1.0 for s in range(8)}
    statement = meeting.statements[5]
    assert weight(statement, priorities, meeting.part(Importance)) == pytest.approx((1 + 5 / 6) ** 2)
    router = Router()
    picks = [router.next_for(meeting, newcomer, priorities, seed) for seed in range(4000)]
    share = sum(1 for s in picks if s is not None and s.id == 5) / len(picks)
    expected = (1 + 5 / 6) ** 2 / ((1 + 5 / 6) ** 2 + 7)
    assert share == pytest.approx(expected, abs=0.03)
    # taking the marks back restores the even draw (the router's cache follows the marks)
    for n, p in enumerate(people):
        meeting.apply(MarkImportant(p, 5, False, op=f"u{n}"), NOW)
    picks = [router.next_for(meeting, newcomer, priorities, seed) for seed in range(4000)]
    assert sum(1 for s in picks if s is not None and s.id == 5) / len(picks) == pytest.approx(1 / 8, abs=0.03)
