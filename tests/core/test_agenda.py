"""The agenda in the core (issue 23): questions after the topic, the room on one at a time, statements
belong to the question they were posted under, phones vote within the current one, refusals carry their
reason, and a replay rebuilds the same agenda."""

from __future__ import annotations

import pytest

from facilitation.core.commands.agenda import AddQuestion, Agenda, GoToQuestion, question_of, question_text
from facilitation.core.events import Event
from facilitation.core.meeting import (
    CommandRefused,
    Meeting,
    MeetingSettings,
    PostStatement,
    SetPhase,
    Vote,
    hash_secret,
)
from facilitation.core.next_statement import Router
from facilitation.core.registry import parse_new_meeting
from facilitation.core.state import Phase
from tests.core.helpers import NOW, join, new_meeting


def test_questions_at_creation_follow_the_topic() -> None:
    """`questions` at creation become questions 1, 2, ...; question 0 reads as the topic."""
    settings, _ = parse_new_meeting({"title": "夜市", "topic": "如何更安全？", "questions": ["看到什麼？", "怎麼做？"]})
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, ["一。"])
    assert [e.type for e in events].count("question_added") == 2
    agenda = meeting.part(Agenda)
    assert agenda.questions == ["", "看到什麼？", "怎麼做？"] and agenda.current == 0
    assert question_text(meeting, 0) == "如何更安全？" and question_text(meeting, 2) == "怎麼做？"
    assert meeting.public_state()["agenda"]["questions"][1] == {"id": 1, "text": "看到什麼？"}


def test_statements_belong_to_the_question_they_were_posted_under() -> None:
    meeting = new_meeting(seeds=("A0.", "A1."))
    meeting.apply(AddQuestion("Q1?", op="q1"), NOW)
    meeting.apply(GoToQuestion(1, op="g1"), NOW)
    meeting.apply(PostStatement(None, "B2.", op="s2"), NOW)
    meeting.apply(GoToQuestion(0, op="g0"), NOW)
    meeting.apply(PostStatement(None, "A3.", op="s3"), NOW)
    assert [question_of(meeting, s) for s in range(4)] == [0, 0, 1, 0]


def test_phones_are_offered_and_vote_within_the_current_question_only() -> None:
    """The router offers only the current question's statements; a vote elsewhere is `other_question`."""
    meeting = new_meeting(seeds=("A0.", "A1."))
    me = join(meeting)
    meeting.apply(AddQuestion("Q1?", op="q1"), NOW)
    meeting.apply(GoToQuestion(1, op="g1"), NOW)
    meeting.apply(PostStatement(None, "B2.", op="s2"), NOW)
    router = Router()
    offered = router.next_for(meeting, me, {}, seed=1)
    assert offered is not None and offered.id == 2
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(Vote(me, 0, "agree", op="v0"), NOW)
    assert refused.value.code == "other_question" and "question 1" in refused.value.message
    meeting.apply(Vote(me, 2, "agree", op="v2"), NOW)
    assert router.next_for(meeting, me, {}, seed=2) is None  # done with this question
    meeting.apply(GoToQuestion(0, op="g0"), NOW)
    again = router.next_for(meeting, me, {}, seed=3)
    assert again is not None and again.id in (0, 1)
    meeting.apply(Vote(me, 0, "disagree", op="v0b"), NOW)


def test_moves_that_make_no_sense_are_refused() -> None:
    meeting = new_meeting()
    for command, code in ((GoToQuestion(0, op="a"), "no_change"), (GoToQuestion(3, op="b"), "unknown_question"),
                          (AddQuestion("  ", op="c"), "empty"), (AddQuestion("x" * 501, op="d"), "too_long")):
        with pytest.raises(CommandRefused) as refused:
            meeting.apply(command, NOW)
        assert refused.value.code == code
    for i in range(19):
        meeting.apply(AddQuestion(f"Q{i}?", op=f"q{i}"), NOW)
    with pytest.raises(CommandRefused) as full:
        meeting.apply(AddQuestion("one more?", op="q20"), NOW)
    assert full.value.code == "too_many"
    closed = new_meeting(phase=Phase.CLOSED)
    with pytest.raises(CommandRefused) as late:
        closed.apply(AddQuestion("Q?", op="late"), NOW)
    assert late.value.code == "phase_forbids" and "closed" in late.value.message


def test_a_replay_rebuilds_the_agenda_and_where_each_statement_belongs() -> None:
    settings = MeetingSettings(title="T", topic="Topic", questions=("Q1?",))
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, ["A0."])
    log: list[Event] = list(events)
    for command in (SetPhase("collecting", op="p"), GoToQuestion(1, op="g"), PostStatement(None, "B1.", op="s")):
        log += meeting.apply(command, NOW).events
    replayed = Meeting.replay(log)
    assert replayed.part(Agenda).public() == meeting.part(Agenda).public()
    assert [question_of(replayed, s) for s in (0, 1)] == [0, 1]
