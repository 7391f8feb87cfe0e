"""The pure meeting core: phases, moderation, votes, limits, without any server."""

from __future__ import annotations

import pytest

from facilitation.core.events import PhaseChanged, StatementModerated, StatementPosted, VoteCast
from facilitation.core.meeting import (
    MAX_NICKNAME_CHARS,
    Command,
    CommandRefused,
    Join,
    Moderate,
    ModerationMode,
    Phase,
    PostStatement,
    SetPhase,
    SetProfile,
    StatementState,
    UpdateSettings,
    Vote,
    hash_secret,
)
from tests.core.helpers import NOW, join, new_meeting

# ------------------------------------------------------------------ phases


def test_new_meeting_starts_in_lobby() -> None:
    """A fresh meeting is in the lobby with its seeds accepted."""
    meeting = new_meeting(phase=Phase.LOBBY)
    assert meeting.phase is Phase.LOBBY
    assert [s.state for s in meeting.statements.values()] == [StatementState.ACCEPTED] * 2


def test_phase_moves_forward_one_step() -> None:
    """The host walks lobby -> collecting -> voting -> reviewing -> closed one phase at a time."""
    meeting = new_meeting(phase=Phase.LOBBY)
    for target in ("collecting", "voting", "reviewing", "closed"):
        applied = meeting.apply(SetPhase(target, op=f"p-{target}"), NOW)
        assert applied.result == {"phase": target}
        assert isinstance(applied.events[0], PhaseChanged)
        assert meeting.phase.value == target
    assert meeting.closed_at == NOW


def test_phase_skip_is_illegal_and_names_the_phase() -> None:
    """Jumping two phases ahead raises illegal_transition naming the current phase and the next one."""
    meeting = new_meeting(phase=Phase.LOBBY)
    with pytest.raises(CommandRefused) as info:
        meeting.apply(SetPhase("voting", op="x"), NOW)
    assert info.value.code == "illegal_transition"
    assert "'lobby'" in info.value.message and "'collecting'" in info.value.message
    assert meeting.phase is Phase.LOBBY


def test_phase_back_to_any_earlier_phase() -> None:
    """From reviewing the host may go straight back to the lobby."""
    meeting = new_meeting(phase=Phase.REVIEWING)
    meeting.apply(SetPhase("lobby", op="back"), NOW)
    assert meeting.phase is Phase.LOBBY


def test_same_phase_and_unknown_phase_refused() -> None:
    """Setting the current phase is no_change; an unknown name is invalid_phase; neither changes state."""
    meeting = new_meeting(phase=Phase.VOTING)
    seq = meeting.seq
    with pytest.raises(CommandRefused) as same:
        meeting.apply(SetPhase("voting", op="a"), NOW)
    assert same.value.code == "no_change" and "'voting'" in same.value.message
    with pytest.raises(CommandRefused) as unknown:
        meeting.apply(SetPhase("party", op="b"), NOW)
    assert unknown.value.code == "invalid_phase"
    assert meeting.seq == seq


@pytest.mark.parametrize("phase", [Phase.LOBBY, Phase.REVIEWING, Phase.CLOSED])
def test_vote_refused_outside_voting_phases_names_phase(phase: Phase) -> None:
    """Votes are refused in lobby, reviewing and closed, and the message names the phase."""
    meeting = new_meeting(phase=Phase.COLLECTING)
    pid = join(meeting)
    meeting.apply(SetPhase("lobby", op="back"), NOW)
    order = list(Phase)
    for target in order[1 : order.index(phase) + 1]:
        meeting.apply(SetPhase(target.value, op=f"again-{target.value}"), NOW)
    assert meeting.phase is phase
    with pytest.raises(CommandRefused) as info:
        meeting.apply(Vote(pid, 0, "agree", op="v1"), NOW)
    assert info.value.code == "phase_forbids"
    assert f"'{phase.value}'" in info.value.message


def test_post_refused_in_voting_phase() -> None:
    """Participants post only while collecting; in voting the refusal names the phase."""
    meeting = new_meeting(phase=Phase.VOTING)
    pid = join(meeting)
    with pytest.raises(CommandRefused) as info:
        meeting.apply(PostStatement(pid, "A new idea.", op="s1"), NOW)
    assert info.value.code == "phase_forbids" and "'voting'" in info.value.message
    assert meeting.apply(Vote(pid, 0, "agree", op="v1"), NOW).result == {"statement": 0, "value": "agree"}


def test_join_refused_when_closed_but_known_token_rejoins() -> None:
    """A closed meeting takes no new participants, yet a known token still finds its participant."""
    meeting = new_meeting(phase=Phase.REVIEWING)
    pid = join(meeting, "known-token-00000")
    meeting.apply(SetPhase("closed", op="c"), NOW)
    with pytest.raises(CommandRefused) as info:
        join(meeting, "new-token-0000000")
    assert info.value.code == "phase_forbids" and "closed" in info.value.message
    assert join(meeting, "known-token-00000") == pid


def test_moderation_and_seeding_refused_when_closed() -> None:
    """After closing, the host can neither seed nor moderate."""
    meeting = new_meeting(phase=Phase.CLOSED)
    with pytest.raises(CommandRefused) as seed:
        meeting.apply(PostStatement(None, "Late seed.", op="s"), NOW)
    assert seed.value.code == "phase_forbids" and "'closed'" in seed.value.message
    with pytest.raises(CommandRefused) as mod:
        meeting.apply(Moderate(0, "hide", op="m"), NOW)
    assert mod.value.code == "phase_forbids"


# ------------------------------------------------------------------ moderation


def test_pre_moderation_keeps_statement_pending_until_accepted() -> None:
    """Under pre-moderation a participant's statement is pending, not votable, then accepted by the host."""
    meeting = new_meeting(moderation=ModerationMode.PRE)
    author, other = join(meeting, "author-token-0000"), join(meeting, "other-token-00000")
    applied = meeting.apply(PostStatement(author, "Pending idea.", op="s1"), NOW)
    sid = applied.result["statement"]
    assert applied.result["state"] == "pending"
    assert meeting.counters["pending"] == 1 and meeting.counters["statements"] == 2
    with pytest.raises(CommandRefused) as info:
        meeting.apply(Vote(other, sid, "agree", op="v1"), NOW)
    assert info.value.code == "not_votable"
    accepted = meeting.apply(Moderate(sid, "accept", op="m1"), NOW)
    assert accepted.result == {"statement": sid, "state": "accepted"}
    assert meeting.counters["pending"] == 0 and meeting.counters["statements"] == 3
    meeting.apply(Vote(other, sid, "agree", op="v2"), NOW)


def test_post_moderation_shows_at_once_and_host_can_hide() -> None:
    """Under post-moderation a statement is accepted at once; hiding removes it from the accepted set."""
    meeting = new_meeting(moderation=ModerationMode.POST)
    author = join(meeting)
    sid = meeting.apply(PostStatement(author, "Visible idea.", op="s1"), NOW).result["statement"]
    assert meeting.statements[sid].state is StatementState.ACCEPTED
    meeting.apply(Moderate(sid, "hide", op="m1"), NOW)
    assert meeting.statements[sid].state is StatementState.HIDDEN
    assert sid not in {s.id for s in meeting.accepted_statements()}


def test_seeds_skip_pre_moderation() -> None:
    """Host seeds are accepted even under pre-moderation."""
    meeting = new_meeting(moderation=ModerationMode.PRE)
    applied = meeting.apply(PostStatement(None, "Host seed.", op="h1"), NOW)
    assert applied.result["state"] == "accepted"


def test_reject_needs_a_reason() -> None:
    """Rejecting without a reason is reason_required; with one, the reason is kept and logged."""
    meeting = new_meeting(moderation=ModerationMode.PRE)
    sid = meeting.apply(PostStatement(join(meeting), "Off topic.", op="s1"), NOW).result["statement"]
    with pytest.raises(CommandRefused) as info:
        meeting.apply(Moderate(sid, "reject", reason="   ", op="m1"), NOW)
    assert info.value.code == "reason_required"
    applied = meeting.apply(Moderate(sid, "reject", reason="Not about  the topic", op="m2"), NOW)
    assert applied.result["state"] == "rejected"
    assert meeting.statements[sid].reason == "Not about the topic"
    event = applied.events[0]
    assert isinstance(event, StatementModerated) and event.previous == "pending"


def test_moderation_log_entries() -> None:
    """Moderation, phase and settings changes each append a public log entry with seq and action."""
    meeting = new_meeting(phase=Phase.LOBBY, moderation=ModerationMode.PRE)
    meeting.apply(SetPhase("collecting", op="p"), NOW)
    sid = meeting.apply(PostStatement(join(meeting), "Needs review.", op="s1"), NOW).result["statement"]
    meeting.apply(Moderate(sid, "reject", reason="duplicate idea", op="m1"), NOW)
    meeting.apply(UpdateSettings({"results_visible": False}, op="st"), NOW)
    log = meeting.moderation_log
    assert [e["action"] for e in log] == ["phase", "reject", "settings"]
    assert log[0]["from"] == "lobby" and log[0]["to"] == "collecting"
    assert log[1]["statement"] == sid and log[1]["reason"] == "duplicate idea"
    assert log[2]["changes"] == {"results_visible": False}
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)
    assert meeting.results_visible is False


def test_moderation_refusals() -> None:
    """Unknown statement, unknown action and a no-op moderation are refused with their codes."""
    meeting = new_meeting()
    for command, code in [
        (Moderate(99, "hide", op="a"), "unknown_statement"),
        (Moderate(0, "delete", op="b"), "invalid_action"),
        (Moderate(0, "accept", op="c"), "no_change"),
        (Moderate(0, "reject", reason="x" * 281, op="d"), "too_long"),
    ]:
        with pytest.raises(CommandRefused) as info:
            meeting.apply(command, NOW)
        assert info.value.code == code


# ------------------------------------------------------------------ votes


def test_same_vote_op_twice_counts_once_and_is_flagged_duplicate() -> None:
    """A vote resent with the same op makes no new event, repeats the result and says duplicate."""
    meeting = new_meeting()
    pid = join(meeting)
    first = meeting.apply(Vote(pid, 0, "agree", op="p1"), NOW)
    again = meeting.apply(Vote(pid, 0, "agree", op="p1"), NOW)
    assert len(first.events) == 1 and not first.duplicate
    assert again.events == [] and again.duplicate and again.result == first.result
    assert meeting.vote_count == 1 and meeting.statements[0].tally == {"agree": 1}


def test_latest_vote_counts() -> None:
    """Changing one's vote replaces the earlier one: one vote counted, the tally follows the latest value."""
    meeting = new_meeting()
    pid = join(meeting)
    meeting.apply(Vote(pid, 0, "agree", op="p1"), NOW)
    meeting.apply(Vote(pid, 0, "disagree", op="p2"), NOW)
    assert meeting.votes[pid] == {0: "disagree"}
    assert meeting.vote_count == 1
    assert meeting.statements[0].tally == {"agree": 0, "disagree": 1}


def test_vote_refusals() -> None:
    """Unknown statement, unknown participant and a value off the scale are refused."""
    meeting = new_meeting(scale="classic")
    pid = join(meeting)
    for command, code in [
        (Vote(pid, 42, "agree", op="a"), "unknown_statement"),
        (Vote(pid + 7, 0, "agree", op="b"), "unknown_participant"),
        (Vote(pid, 0, "acceptable", op="c"), "invalid_vote"),
        (Vote(pid, 0, "love", op="d"), "invalid_vote"),
    ]:
        with pytest.raises(CommandRefused) as info:
            meeting.apply(command, NOW)
        assert info.value.code == code
    assert meeting.vote_count == 0


def test_acceptable_allowed_on_consent_scale() -> None:
    """The consent scale takes 'acceptable'."""
    meeting = new_meeting(scale="consent")
    pid = join(meeting)
    assert meeting.apply(Vote(pid, 0, "acceptable", op="a"), NOW).result["value"] == "acceptable"


def test_authors_implicitly_agree() -> None:
    """Posting a statement casts the author's agree vote in the same command."""
    meeting = new_meeting()
    pid = join(meeting)
    applied = meeting.apply(PostStatement(pid, "My idea.", op="s1"), NOW)
    sid = applied.result["statement"]
    assert [type(e) for e in applied.events] == [StatementPosted, VoteCast]
    assert [e.seq for e in applied.events] == [meeting.seq - 1, meeting.seq]
    assert meeting.votes[pid] == {sid: "agree"}
    assert meeting.statements[sid].tally == {"agree": 1}


# ------------------------------------------------------------------ statements and limits


@pytest.mark.parametrize(
    "variant",
    ["Bike lanes  now.", "  Bike lanes now.  ", "Bike\tlanes\nnow.", "Bike lanes now."],
)
def test_duplicate_statements_refused_including_whitespace_variants(variant: str) -> None:
    """A statement equal to an existing one after collapsing whitespace is a duplicate."""
    meeting = new_meeting(seeds=("Bike lanes now.",))
    with pytest.raises(CommandRefused) as info:
        meeting.apply(PostStatement(join(meeting), variant, op="s"), NOW)
    assert info.value.code == "duplicate" and "#0" in info.value.message


def test_duplicate_statement_refused_in_other_unicode_form() -> None:
    """A decomposed (NFD) spelling of an existing statement is a duplicate of its composed (NFC) form."""
    meeting = new_meeting(seeds=("Caf\u00e9 hours should be longer.",))
    with pytest.raises(CommandRefused) as info:
        meeting.apply(PostStatement(join(meeting), "Cafe\u0301 hours should be longer.", op="s"), NOW)
    assert info.value.code == "duplicate"


def test_statement_length_counts_characters_not_bytes() -> None:
    """140 Chinese characters (420 UTF-8 bytes) fit the default limit; 141 do not."""
    meeting = new_meeting()
    pid = join(meeting)
    ok = "夜" * 139 + "。"
    assert len(ok.encode()) == 420
    assert meeting.apply(PostStatement(pid, ok, op="s1"), NOW).result["state"] == "accepted"
    with pytest.raises(CommandRefused) as info:
        meeting.apply(PostStatement(pid, "市" * 141, op="s2"), NOW)
    assert info.value.code == "too_long" and "140" in info.value.message


def test_statement_limit_follows_meeting_setting_and_empty_refused() -> None:
    """The meeting's max_statement_chars applies; blank text is refused as empty."""
    meeting = new_meeting(max_statement_chars=20)
    pid = join(meeting)
    with pytest.raises(CommandRefused) as long:
        meeting.apply(PostStatement(pid, "x" * 21, op="s1"), NOW)
    assert long.value.code == "too_long"
    with pytest.raises(CommandRefused) as empty:
        meeting.apply(PostStatement(pid, " \n\t ", op="s2"), NOW)
    assert empty.value.code == "empty"


def test_nickname_length_limit() -> None:
    """Nicknames are capped at MAX_NICKNAME_CHARS characters, Chinese included."""
    meeting = new_meeting()
    assert join(meeting, "t-ok-000000000000", nickname="明" * MAX_NICKNAME_CHARS) == 0
    with pytest.raises(CommandRefused) as info:
        join(meeting, "t-long-0000000000", nickname="明" * (MAX_NICKNAME_CHARS + 1))
    assert info.value.code == "too_long"
    with pytest.raises(CommandRefused):
        meeting.apply(SetProfile(0, nickname="x" * (MAX_NICKNAME_CHARS + 1)), NOW)


def test_unknown_role_refused() -> None:
    """A stakeholder role the meeting does not list is refused at join and at profile change."""
    meeting = new_meeting(roles=("resident",))
    with pytest.raises(CommandRefused) as info:
        join(meeting, "t-role-0000000000", role="alien")
    assert info.value.code == "unknown_role"
    pid = join(meeting, role="resident")
    with pytest.raises(CommandRefused) as again:
        meeting.apply(SetProfile(pid, nickname="a", role="alien"), NOW)
    assert again.value.code == "unknown_role"
    assert meeting.participants[pid].role == "resident"


def test_same_token_is_same_participant() -> None:
    """Joining twice with one token returns the same participant without a new event."""
    meeting = new_meeting()
    first = meeting.apply(Join(hash_secret("same-token-000000")), NOW)
    second = meeting.apply(Join(hash_secret("same-token-000000")), NOW)
    assert first.result == {"participant": 0, "new": True}
    assert second.result == {"participant": 0, "new": False} and second.events == []


def test_settings_changes_validated() -> None:
    """Only routable settings change; types and the title are checked."""
    meeting = new_meeting()
    for changes in ({"scale": "classic"}, {"results_visible": "yes"}, {"title": ""}, {"topic": 3}):
        with pytest.raises(CommandRefused) as info:
            meeting.apply(UpdateSettings(changes, op="s"), NOW)
        assert info.value.code == "invalid_settings"
    meeting.apply(UpdateSettings({"title": "New title", "analysis_paused": True}, op="ok"), NOW)
    assert meeting.settings.title == "New title" and meeting.analysis_paused


def test_sequence_numbers_have_no_gaps() -> None:
    """Every event gets the next sequence number; refusals consume none."""
    meeting = new_meeting()
    seqs = []
    pid = join(meeting)
    seqs.append(meeting.seq)
    commands: list[Command] = [Vote(pid, 0, "agree", op="a"), Vote(pid, 99, "agree", op="b"),
                               PostStatement(pid, "Fresh.", op="c"), Vote(pid, 1, "pass", op="d")]
    for i, command in enumerate(commands):
        try:
            for event in meeting.apply(command, NOW + i).events:
                seqs.append(event.seq)
        except CommandRefused:
            pass
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
