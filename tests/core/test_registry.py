"""The command registry: one declaration per command, from which parser, dispatch, HTTP parsers and the codec
derive; and the meeting-level rules it feeds (op conflicts, op memory, lookalike duplicates, size caps)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

import facilitation.core.commands.participants as participants
import facilitation.core.commands.statements as statements
from facilitation.core import meeting as core
from facilitation.core.errors import ClientError, ProtocolError
from facilitation.core.meeting import (
    Command,
    CommandRefused,
    Join,
    Meeting,
    MeetingSettings,
    PostStatement,
    SetFollowUp,
    SetProfile,
    UpdateSettings,
    Vote,
    hash_secret,
)
from facilitation.core.protocol import HOST_ONLY, NEEDS_OP, PARTICIPANT_ONLY, parse_client_message
from facilitation.core.registry import (
    COMMAND_TYPES,
    ROLES,
    SPECS,
    ClientMessage,
    decode_command,
    dispatch,
    encode_command,
    parse_http_command,
    parse_new_meeting,
)
from tests.core.helpers import NOW, join, new_meeting

SAMPLE: dict[str, Any] = {
    "statement": 1,
    "value": "agree",
    "text": "應該增設機車停車區。",
    "nickname": "小明",
    "stakeholder": "resident",
    "action": "hide",
    "reason": "off topic",
    "phase": "voting",
    "changes": {"title": "新標題", "results_visible": False},
    "status": "adopted",
    "response": "第一段\n第二段",
    "role": "participant",
    "since": 3,
    "token": "t" * 24,
    "host_key": "k" * 32,
    "consent": True,
}
"""A valid value for the field names of the original commands; a new command's fields bring their own
(``Field.example``)."""


def defined_commands() -> set[type[Command]]:
    """Every command class defined anywhere (declared in the table or not): the table must miss none."""
    found: set[type[Command]] = set()
    todo = [Command]
    while todo:
        for cls in todo.pop().__subclasses__():
            module = sys.modules[cls.__module__]
            # the class its module exports (a slotted dataclass leaves its unslotted first draft behind)
            if cls.__module__.startswith("facilitation.") and getattr(module, cls.__name__, None) is cls:
                found.add(cls)
            todo.append(cls)
    return found


def sample_frame(kind: str, op: str = "op-1") -> dict[str, Any]:
    spec = SPECS[kind]
    return {"v": 1, "type": kind, "op": op, **{f.name: SAMPLE.get(f.name, f.example) for f in spec.fields}}


def built_commands() -> list[Command]:
    commands: list[Command] = []
    for kind, spec in SPECS.items():
        if spec.command is None or not spec.roles:  # session messages; hello's Join is built by the session
            continue
        message = parse_client_message(json.dumps(sample_frame(kind)))
        role = next(iter(spec.roles))
        routed = dispatch(message, role, 7 if role == "participant" else None)
        assert routed.command is not None
        commands.append(routed.command)
    return commands


def test_every_field_of_every_command_has_a_sample() -> None:
    """Here, or as the field's declared example (a new command's new field)."""
    missing = {f.name for spec in SPECS.values() for f in spec.fields if f.name not in SAMPLE and f.example is None}
    assert not missing


def test_every_registered_command_round_trips_through_the_codec() -> None:
    commands = built_commands()
    assert {type(c) for c in commands} >= set(COMMAND_TYPES.values()) - {Join}
    for command in commands:
        data = json.loads(json.dumps(encode_command(command)))  # as it crosses Redis
        assert decode_command(data) == command


def test_every_command_class_is_in_the_codec_including_follow_ups() -> None:
    assert set(COMMAND_TYPES.values()) == defined_commands()
    follow_up = SetFollowUp(3, "adopted", "已採納", "op-9")
    assert decode_command(json.loads(json.dumps(encode_command(follow_up)))) == follow_up
    join_cmd = Join(hash_secret("x" * 20), "小明", "resident")
    assert decode_command(encode_command(join_cmd)) == join_cmd
    with pytest.raises(ValueError):
        decode_command({"kind": "Teleport"})


def test_derived_role_tables_match_the_declarations() -> None:
    """The original commands keep their roles (a new command adds to these sets)."""
    assert {"seed", "moderate", "phase", "settings", "analysis", "follow_up"} <= HOST_ONLY
    assert {"vote", "post", "profile", "next"} <= PARTICIPANT_ONLY
    assert {"vote", "post", "profile", "seed", "moderate", "phase", "settings", "analysis", "follow_up"} <= NEEDS_OP
    assert not HOST_ONLY & PARTICIPANT_ONLY and {"hello", "ping", "next"}.isdisjoint(NEEDS_OP)


@pytest.mark.parametrize("kind", sorted(k for k in SPECS if k != "hello"))
@pytest.mark.parametrize("role", ROLES)
def test_route_refuses_other_roles_with_the_op(kind: str, role: str) -> None:
    message = parse_client_message(json.dumps(sample_frame(kind, op="mine")))
    if role in SPECS[kind].roles:
        assert dispatch(message, role, 1 if role == "participant" else None).type == kind
        return
    with pytest.raises(ClientError) as info:
        dispatch(message, role, 1 if role == "participant" else None)
    assert info.value.code == "forbidden" and info.value.op == "mine"


def test_hello_after_hello_is_refused_with_its_op() -> None:
    with pytest.raises(ProtocolError) as info:
        dispatch(ClientMessage("hello", "h1", {"role": "host"}), "host", None)
    assert info.value.code == "already_greeted" and info.value.op == "h1"


@pytest.mark.parametrize("statement", [-1, "1", 1.5, True, 2**53 + 1, [1], {"a": 1}])
def test_wrong_typed_statement_refused_with_the_op(statement: Any) -> None:
    frame = {"v": 1, "type": "vote", "op": "v-typed", "statement": statement, "value": "agree"}
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps(frame))
    assert info.value.code == "invalid_field" and info.value.op == "v-typed"


@pytest.mark.parametrize(("value", "code"), [(1, "invalid_field"), (None, "missing_field"), (False, "invalid_field")])
def test_wrong_vote_value_refused_with_the_op(value: Any, code: str) -> None:
    frame = {"v": 1, "type": "vote", "op": "v-value", "statement": 0, "value": value}
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps(frame))
    assert info.value.code == code and info.value.op == "v-value"


def test_text_over_the_limit_and_oversized_frames_carry_the_op() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps({"v": 1, "type": "post", "op": "long", "text": "字" * 1001}))
    assert info.value.code == "too_long" and info.value.op == "long"
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps({"v": 1, "type": "post", "op": "huge", "text": "x" * 9000}))
    assert info.value.code == "too_large" and info.value.op == "huge"


def test_unknown_settings_keys_refused_with_the_op() -> None:
    frame = {"v": 1, "type": "settings", "op": "s1", "changes": {"scale": "classic", "\ud800": 1}}
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps(frame))
    assert info.value.code == "invalid_settings" and info.value.op == "s1"
    assert "\\ud800" in info.value.message  # named, but escaped: the refusal itself is sendable
    info.value.message.encode("utf-8")


def test_empty_settings_changes_are_refused() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps({"v": 1, "type": "settings", "op": "s0", "changes": {}}))
    assert info.value.code == "invalid_settings" and info.value.op == "s0"


def test_an_invalid_op_is_refused_without_one() -> None:
    for op in ["\ud800", "a\x1bb", "x" * 65, 5, ["op"]]:
        with pytest.raises(ProtocolError) as info:
            parse_client_message(json.dumps({"v": 1, "type": "vote", "op": op, "statement": 0, "value": "agree"}))
        assert info.value.code == "invalid_field" and info.value.op == ""


def test_http_follow_up_uses_the_same_schema() -> None:
    command = parse_http_command("follow_up", {"statement": 2, "status": "adopted", "response": " ok "})
    assert command == SetFollowUp(2, "adopted", "ok", "")
    for bad in ({"statement": "2", "status": "adopted"}, {"statement": 2, "status": 5},
                {"statement": 2, "status": "adopted", "response": "\x1b[31m"}):
        with pytest.raises(ProtocolError):
            parse_http_command("follow_up", bad)


def test_new_meeting_is_strict() -> None:
    settings, seeds = parse_new_meeting({"title": " 夜市 ", "roles": ["住戶"], "seeds": ["一。", "", "二。"]})
    assert settings.title == "夜市" and settings.roles == ("住戶",) and seeds == ["一。", "二。"]
    for bad in ({"title": 5}, {"title": ["a"]}, {"title": "\ud800"}, {"title": "x", "seeds": ["\ud800"]},
                {"title": "x", "roles": ["\u202eabc"]}, {"title": "x", "roles": "住戶"}, {"title": "\u200b"},
                {"title": "x", "max_statement_chars": 140.0}, {"title": "x", "ask_nickname": "yes"},
                {"title": "x", "titel": "typo"}, {}):
        with pytest.raises(ClientError):
            parse_new_meeting(bad)


# ---------------------------------------------------------------- meeting-level rules


def test_same_op_same_payload_is_a_duplicate_and_other_payload_a_conflict() -> None:
    m = new_meeting()
    p = join(m)
    first = m.apply(Vote(p, 0, "agree", "v1"), NOW)
    again = m.apply(Vote(p, 0, "agree", "v1"), NOW)
    assert again.duplicate and again.result == first.result and not again.events
    for other in (Vote(p, 0, "disagree", "v1"), Vote(p, 1, "agree", "v1"), PostStatement(p, "新的陳述。", "v1"),
                  SetProfile(p, "小明", "", "v1")):
        with pytest.raises(CommandRefused) as info:
            m.apply(other, NOW)
        assert info.value.code == "op_conflict"
    assert m.votes[p] == {0: "agree"}


def test_host_op_conflicts_across_command_types() -> None:
    m = new_meeting()
    m.apply(UpdateSettings({"title": "A"}, "h1"), NOW)
    assert m.apply(UpdateSettings({"title": "A"}, "h1"), NOW).duplicate
    with pytest.raises(CommandRefused) as info:
        m.apply(UpdateSettings({"title": "B"}, "h1"), NOW)
    assert info.value.code == "op_conflict"
    with pytest.raises(CommandRefused):
        m.apply(PostStatement(None, "種子。", "h1"), NOW)


def test_op_memory_is_recorded_once_and_replay_rebuilds_it() -> None:
    m, log = Meeting.create("ABCDEF", MeetingSettings(title="T"), hash_secret("key"), NOW, ("Seed one.", "Seed two."))
    log += m.apply(core.SetPhase("collecting", "to-collecting"), NOW).events
    joined = m.apply(Join(hash_secret("token-0000000000")), NOW)
    log += joined.events
    p = int(joined.result["participant"])
    commands: list[Command] = [Vote(p, 0, "agree", "a"), PostStatement(p, "第三條。", "b"),
                               SetProfile(p, "Ann", "", "c"), SetFollowUp(0, "adopted", "yes", "d")]
    for i, cmd in enumerate(commands):
        log += m.apply(cmd, NOW + i).events
    assert list(m.ops[str(p)]) == ["a", "b", "c"] and list(m.ops["host"]) == ["seed-0", "seed-1", "to-collecting", "d"]
    replayed = Meeting.replay(log)
    assert replayed.ops == m.ops
    assert replayed.apply(Vote(p, 0, "agree", "a"), NOW).duplicate
    with pytest.raises(CommandRefused):
        replayed.apply(Vote(p, 0, "pass", "a"), NOW)


@pytest.mark.parametrize("variant", ["應該增設\u200b機車停車區。", "應該增設機車停車區\u00ad。", "ＡＢＣ", "abc"])
def test_lookalike_statements_are_duplicates(variant: str) -> None:
    m = new_meeting(seeds=("應該增設機車停車區。", "ABC"))
    p = join(m)
    with pytest.raises(CommandRefused) as info:
        m.apply(PostStatement(p, variant, "x"), NOW)
    assert info.value.code == "duplicate"


def test_invisible_statement_is_empty() -> None:
    m = new_meeting()
    p = join(m)
    for text in ("\u200b\u200b", "\u0301", "\u3164"):
        with pytest.raises(CommandRefused) as info:
            m.apply(PostStatement(p, text, f"op-{ord(text[0])}"), NOW)
        assert info.value.code == "empty"


def test_meeting_full_caps_statements_and_participants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statements, "MAX_STATEMENTS", 3)
    monkeypatch.setattr(participants, "MAX_PARTICIPANTS", 2)
    m = new_meeting()
    p = join(m)
    m.apply(PostStatement(p, "third", "a"), NOW)
    with pytest.raises(CommandRefused) as info:
        m.apply(PostStatement(p, "fourth", "b"), NOW)
    assert info.value.code == "meeting_full" and len(m.statements) == 3
    join(m, "token-1111111111")
    with pytest.raises(CommandRefused) as info:
        join(m, "token-2222222222")
    assert info.value.code == "meeting_full"
    assert join(m, "token-1111111111") == 1  # a returning phone still gets in


def test_the_core_keeps_control_and_bidi_text_out_for_every_caller() -> None:
    """The Pol.is import and the demo call the core directly: it refuses such text itself."""
    m = new_meeting()
    p = join(m)
    for i, text in enumerate(["\x1b[2J", "a\u202eb", "\ud800"]):
        with pytest.raises(CommandRefused) as info:
            m.apply(PostStatement(p, text, f"x{i}"), NOW)
        assert info.value.code == "invalid_field"
        with pytest.raises(CommandRefused):
            m.apply(SetProfile(p, text, "", f"y{i}"), NOW)
        with pytest.raises(CommandRefused):
            m.apply(SetFollowUp(0, "adopted", text, f"z{i}"), NOW)
        with pytest.raises(CommandRefused):
            MeetingSettings(title=f"t{text}")
    assert len(m.statements) == 2
