"""Frames under 8 KiB that one JSON parser reads and the other does not are still refused with their op."""

from __future__ import annotations

import pytest

from facilitation.core.errors import ProtocolError
from facilitation.core.protocol import MAX_MESSAGE_BYTES, parse_client_message


def refusal(raw: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    return info.value


def test_an_integer_of_5000_digits_is_refused_by_its_field_with_the_op() -> None:
    """Past orjson's 64 bits and the standard parser's 4,300 digits: the field's own refusal."""
    raw = '{"v":1,"type":"vote","op":"huge-1","statement":' + "9" * 5000 + ',"value":"agree"}'
    assert len(raw) < MAX_MESSAGE_BYTES
    error = refusal(raw)
    assert (error.code, error.op) == ("invalid_field", "huge-1") and "statement" in error.message


@pytest.mark.parametrize("depth", [1100, 3000])
def test_nesting_deeper_than_both_parsers_is_refused_with_the_op(depth: int) -> None:
    """orjson stops at 1,024 levels and the standard parser near 1,000: malformed, still with its op."""
    raw = '{"type":"vote","x":{"a":"}]\\"["},"op":"deep-1","y":' + "[" * depth + "]" * depth + "}"
    assert len(raw) < MAX_MESSAGE_BYTES
    error = refusal(raw)
    assert (error.code, error.op) == ("malformed", "deep-1")


def test_a_nested_op_is_not_taken_for_the_frame_s() -> None:
    raw = '{"type":"vote","x":{"op":"inner"},"y":' + "[" * 1100 + "]" * 1100 + "}"
    assert refusal(raw).op == ""


def test_an_invalid_op_in_a_deep_frame_is_left_out() -> None:
    raw = '{"type":"vote","op":"\\u0007bell","y":' + "[" * 1100 + "]" * 1100 + "}"
    assert refusal(raw).op == ""


def test_broken_json_is_refused_without_an_op() -> None:
    error = refusal('{"type":"vote","op":"half-1","statement":')
    assert (error.code, error.op) == ("malformed", "")


def test_an_answer_encodes_as_dumps_does() -> None:
    """``dumps_answer`` (the acks' encoder) gives exactly ``dumps``'s text, also for what needs its fallbacks."""
    from facilitation.core.protocol import dumps, dumps_answer

    for message in ({"v": 1, "type": "ack", "op": "b1", "result": {"statement": 3, "value": "agree"}, "seq": 9,
                     "next": {"id": 4, "text": "Ünïcode 中文 ✓"}, "remaining": 2},
                    {"type": "ack", "result": {1: "an integer key"}},
                    {"type": "ack", "result": {"big": 2**70, "lone": "\ud800"}}):
        assert dumps_answer(message) == dumps(message)
