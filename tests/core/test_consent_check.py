"""Consent checks on a draft conclusion (issue 24): the host opens a check in reviewing, phones answer
consent / can live with it / object (an objection needs a reason, which becomes the objector's pending
statement), the host revises and checks again, every check is kept, and a replay of the log rebuilds them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facilitation.core.codec import event_from_dict
from facilitation.core.commands.consent import AnswerCheck, CloseCheck, Decision, OpenCheck
from facilitation.core.commands.statements import Moderate, Vote
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import CommandRefused, Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.core.protocol import parse_client_message
from facilitation.core.state import ModerationMode, Phase, StatementState
from facilitation.core.views import host_snapshot, participant_snapshot, projector_snapshot
from tests.core.helpers import NOW


class Log:
    """A meeting and every event it made, so a test can replay it."""

    def __init__(self, moderation: str = "post") -> None:
        settings = MeetingSettings(title="夜市", roles=("攤商", "住戶"), moderation=ModerationMode(moderation))
        self.meeting, self.events = Meeting.create(
            "ABCDEF", settings, hash_secret("k"), NOW, ["延長營業到十點。", "設置垃圾分類站。"]
        )
        self.ops = 0

    def do(self, command: Any) -> dict[str, Any]:
        applied = self.meeting.apply(command, NOW)
        self.events += applied.events
        return applied.result

    def op(self) -> str:
        self.ops += 1
        return f"o{self.ops}"

    def join(self, role: str) -> int:
        return int(self.do(Join(hash_secret(f"token-{self.op()}-xxxxxxxx"), role=role))["participant"])

    def to(self, phase: Phase) -> None:
        self.do(SetPhase(phase.value, op=self.op()))


def reviewing(moderation: str = "post") -> tuple[Log, list[int]]:
    log = Log(moderation)
    log.to(Phase.COLLECTING)
    people = [log.join("攤商"), log.join("攤商"), log.join("住戶")]
    for p in people:
        log.do(Vote(p, 0, "agree", op=log.op()))
    log.to(Phase.VOTING)
    log.to(Phase.REVIEWING)
    return log, people


def decision(meeting: Meeting) -> dict[str, Any]:
    return meeting.public_state()["decision"]  # type: ignore[no-any-return]


def test_a_check_counts_answers_by_role_and_an_objection_becomes_a_pending_statement() -> None:
    """Two consent-side answers and one objection: counts, by role, the reason as the objector's statement."""
    log, (a, b, c) = reviewing()
    assert log.do(OpenCheck("延長營業到十點，並設置垃圾分類站。", [0, 1], op="h1")) == {"check": 1}
    log.do(AnswerCheck(a, 1, "consent", op="a1"))
    log.do(AnswerCheck(b, 1, "live_with", op="b1"))
    result = log.do(AnswerCheck(c, 1, "object", "十點太晚，住戶需要安靜。", op="c1"))
    sid = result["statement"]
    statement = log.meeting.statements[sid]
    assert statement.author == c and statement.state is StatementState.PENDING
    assert statement.text == "十點太晚，住戶需要安靜。"
    check = decision(log.meeting)["checks"][0]
    assert check["counts"] == {"consent": 1, "live_with": 1, "object": 1}
    assert check["outcome"] == "objected"
    assert check["by_role"] == {
        "攤商": {"consent": 1, "live_with": 1, "object": 0},
        "住戶": {"consent": 0, "live_with": 0, "object": 1},
    }
    assert check["objections"] == [{"statement": sid, "reason": "十點太晚，住戶需要安靜。"}]
    assert check["statements"] == [0, 1] and check["open"]


def test_a_draft_keeps_its_line_breaks() -> None:
    """One bundled statement a line: the draft's line breaks survive, runs of spaces in a line do not."""
    log, _ = reviewing()
    log.do(OpenCheck("第一點。\n第二點   補充。", [0], op="h1"))
    assert decision(log.meeting)["checks"][0]["text"] == "第一點。\n第二點 補充。"


def test_an_objection_without_a_reason_is_refused() -> None:
    """`object` needs a visible reason; nothing changes when it is missing."""
    log, (a, _, _) = reviewing()
    log.do(OpenCheck("草案。", [0], op="h1"))
    for reason in ("", "   "):
        with pytest.raises(CommandRefused) as refused:
            log.do(AnswerCheck(a, 1, "object", reason, op=log.op()))
        assert refused.value.code == "reason_required"
    assert decision(log.meeting)["checks"][0]["counts"]["object"] == 0


def test_the_latest_answer_counts_and_a_reason_repeating_a_statement_points_at_it() -> None:
    """A phone may change its answer; a reason equal to an existing statement adds no new statement."""
    log, (a, _, _) = reviewing()
    log.do(OpenCheck("草案。", [0], op="h1"))
    before = len(log.meeting.statements)
    result = log.do(AnswerCheck(a, 1, "object", "設置垃圾分類站。", op="a1"))
    assert result["statement"] == 1 and len(log.meeting.statements) == before
    log.do(AnswerCheck(a, 1, "consent", op="a2"))
    check = decision(log.meeting)["checks"][0]
    assert check["counts"] == {"consent": 1, "live_with": 0, "object": 0}
    assert check["outcome"] == "no_objection"
    assert len(check["objections"]) == 1  # the objection stays on the record


def test_revising_opens_the_next_check_and_closes_the_previous_one() -> None:
    """Every check is kept; answers belong to their check; a closed check takes no answer."""
    log, (a, b, c) = reviewing()
    log.do(OpenCheck("草案一。", [0, 1], op="h1"))
    log.do(AnswerCheck(c, 1, "object", "十點太晚。", op="c1"))
    reason_statement = log.meeting.statements[max(log.meeting.statements)].id
    log.do(Moderate(reason_statement, "accept", op="h2"))
    assert log.do(OpenCheck("草案二：延長到九點半。", [0, 1, reason_statement], op="h3")) == {"check": 2}
    checks = decision(log.meeting)["checks"]
    assert [c_["id"] for c_ in checks] == [1, 2]
    assert not checks[0]["open"] and checks[1]["open"]
    with pytest.raises(CommandRefused) as refused:
        log.do(AnswerCheck(a, 1, "consent", op="a1"))
    assert refused.value.code == "check_closed"
    for p in (a, b, c):
        log.do(AnswerCheck(p, 2, "live_with", op=log.op()))
    log.do(CloseCheck(2, op="h4"))
    checks = decision(log.meeting)["checks"]
    assert checks[0]["counts"] == {"consent": 0, "live_with": 0, "object": 1}
    assert checks[1]["counts"] == {"consent": 0, "live_with": 3, "object": 0}
    assert checks[1]["outcome"] == "no_objection" and not checks[1]["open"]
    actions = [e["action"] for e in log.meeting.moderation_log]
    assert actions.count("check_opened") == 2 and "check_closed" in actions


@pytest.mark.parametrize("phase", [Phase.COLLECTING, Phase.VOTING, Phase.CLOSED])
def test_checks_belong_to_reviewing(phase: Phase) -> None:
    """Opening a check, or answering one, outside reviewing is refused with a message naming the phase."""
    log, (a, _, _) = reviewing()
    log.do(OpenCheck("草案。", [0], op="h1"))
    log.to(phase)
    for command in (OpenCheck("草案。", [0], op=log.op()), AnswerCheck(a, 1, "consent", op=log.op())):
        with pytest.raises(CommandRefused) as refused:
            log.do(command)
        assert refused.value.code == "phase_forbids" and phase.value in refused.value.message


def test_refusals_name_what_is_wrong() -> None:
    """Unknown statements, checks and answers, an empty draft, closing twice."""
    log, (a, _, _) = reviewing()
    cases: list[tuple[Any, str]] = [
        (OpenCheck("草案。", [99], op="x1"), "unknown_statement"),
        (OpenCheck("  ", [0], op="x2"), "empty"),
        (AnswerCheck(a, 1, "consent", op="x3"), "unknown_check"),
        (CloseCheck(1, op="x4"), "unknown_check"),
    ]
    for command, code in cases:
        with pytest.raises(CommandRefused) as refused:
            log.do(command)
        assert refused.value.code == code
    log.do(OpenCheck("草案。", [0], op="h1"))
    with pytest.raises(CommandRefused) as refused:
        log.do(AnswerCheck(a, 1, "maybe", op="x5"))
    assert refused.value.code == "invalid_answer"
    log.do(CloseCheck(1, op="h2"))
    with pytest.raises(CommandRefused) as refused:
        log.do(CloseCheck(1, op="h3"))
    assert refused.value.code == "no_change"


def test_a_resent_answer_is_not_applied_twice_and_a_reused_op_conflicts() -> None:
    """The op memory covers answers: the same op acks again, another answer with it is a conflict."""
    log, (_, _, c) = reviewing()
    log.do(OpenCheck("草案。", [0], op="h1"))
    first = log.do(AnswerCheck(c, 1, "object", "太晚。", op="c1"))
    statements = len(log.meeting.statements)
    again = log.meeting.apply(AnswerCheck(c, 1, "object", "太晚。", op="c1"), NOW)
    assert again.duplicate and again.result == first and len(log.meeting.statements) == statements
    with pytest.raises(CommandRefused) as refused:
        log.meeting.apply(AnswerCheck(c, 1, "consent", op="c1"), NOW)
    assert refused.value.code == "op_conflict"


def test_replay_rebuilds_every_check_through_json() -> None:
    """The stored events (as JSON) replay to the same checks, answers and reason statements."""
    log, (a, b, c) = reviewing()
    log.do(OpenCheck("草案一。", [0], op="h1"))
    log.do(AnswerCheck(a, 1, "consent", op="a1"))
    log.do(AnswerCheck(c, 1, "object", "住戶需要安靜。", op="c1"))
    log.do(OpenCheck("草案二。", [0, 1], op="h2"))
    log.do(AnswerCheck(b, 2, "live_with", op="b2"))
    stored = [event_from_dict(json.loads(json.dumps(e.to_dict()))) for e in log.events]
    rebuilt = Meeting.replay(stored)
    assert decision(rebuilt) == decision(log.meeting)
    assert rebuilt.part(Decision).screen() == log.meeting.part(Decision).screen()
    assert rebuilt.statements.keys() == log.meeting.statements.keys()
    # and the rebuilt meeting refuses the resent op as the live one would
    assert rebuilt.apply(AnswerCheck(c, 1, "object", "住戶需要安靜。", op="c1"), NOW).duplicate


def test_under_pre_moderation_a_reason_shows_once_accepted_and_never_once_rejected() -> None:
    """Phones and the projector read a reason as statements are read; the host always sees it."""
    log, (_, b, c) = reviewing("pre")
    log.do(OpenCheck("草案。", [0], op="h1"))
    s1 = log.do(AnswerCheck(c, 1, "object", "太吵。", op="c1"))["statement"]
    s2 = log.do(AnswerCheck(b, 1, "object", "攤位費太高。", op="b1"))["statement"]
    assert [o["reason"] for o in decision(log.meeting)["checks"][0]["objections"]] == [None, None]
    log.do(Moderate(s1, "accept", op="h2"))
    log.do(Moderate(s2, "reject", "離題", op="h3"))
    assert [o["reason"] for o in decision(log.meeting)["checks"][0]["objections"]] == ["太吵。", None]
    host = host_snapshot(log.meeting)
    assert {s["id"]: s["text"] for s in host["all_statements"]}[s2] == "攤位費太高。"


def test_who_answered_what_reaches_only_the_projector_and_the_host() -> None:
    """Phones see counts; the projector's and host's snapshots and events carry answers by participant."""
    log, (a, _, c) = reviewing()
    log.do(OpenCheck("草案。", [0], op="h1"))
    events: list[Event] = log.meeting.apply(AnswerCheck(c, 1, "object", "太晚。", op="c1"), NOW).events
    assert projector_snapshot(log.meeting)["screens"]["decision"]["answers"] == {"1": {str(c): "object"}}
    assert host_snapshot(log.meeting)["screens"]["decision"]["answers"] == {"1": {str(c): "object"}}
    assert "screens" not in participant_snapshot(log.meeting, a)
    answered = events[0]
    assert answered.view("participant", a, log.meeting) is None
    assert answered.view("participant", c, log.meeting) is not None
    seen = answered.view("projector", None, log.meeting)
    assert seen is not None and seen["participant"] == c and seen["answer"] == "object"
    assert seen["state"]["counts"] == {"consent": 0, "live_with": 0, "object": 1}
    assert seen["state"]["by_role"] == {"住戶": {"consent": 0, "live_with": 0, "object": 1}}
    assert "reason" not in seen  # a pending reason reaches screens only through the check's visible state
    assert participant_snapshot(log.meeting, c)["you"]["decision"] == {"1": "object"}
    assert participant_snapshot(log.meeting, a)["you"]["decision"] == {}


def test_the_wire_checks_the_fields() -> None:
    """`check_open` takes a list of statement ids, `check_answer` a check number; hostile shapes are refused."""
    good = {"v": 1, "type": "check_open", "op": "h1", "text": "草案。", "statements": [0, 1]}
    parse_client_message(json.dumps(good))
    for bad in ({"statements": "0,1"}, {"statements": [-1]}, {"statements": list(range(51))}, {"text": 3}):
        with pytest.raises(ClientError) as refused:
            parse_client_message(json.dumps({**good, **bad}))
        assert refused.value.op == "h1"
    with pytest.raises(ClientError):
        parse_client_message(
            json.dumps({"v": 1, "type": "check_answer", "op": "p1", "check": "1", "answer": "consent"})
        )
