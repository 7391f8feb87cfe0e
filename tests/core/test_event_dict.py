"""An event's stored form (Event.to_dict, generated per class on its first call): every field and the type,
for every event the core declares, a subclass included, and the JSON codec reads it back to the same event."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from facilitation.core.codec import decode, encode
from facilitation.core.commands import EVENT_TYPES
from facilitation.core.events import Event, VoteCast

_SAMPLES: dict[Any, Any] = {str: "文字 text", int: 7, bool: True, float: 2.5}


def _value(hint: Any) -> Any:
    if hint in _SAMPLES:
        return _SAMPLES[hint]
    args = typing.get_args(hint)
    if type(None) in args:
        return None
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        return origin([_value(args[0])]) if args else origin()
    if origin is dict or hint is dict:
        return {"k": 1}
    return None


def _sample(cls: type[Event]) -> Event:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _value(hints[f.name]) for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_to_dict_is_every_field_and_the_type(kind: str) -> None:
    """Called twice (the generic body, then the generated one): the fields in order, then ``type``."""
    event = _sample(EVENT_TYPES[kind])
    expected = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)} | {"type": kind}
    for _ in range(2):
        data = event.to_dict()
        assert data == expected
        assert list(data) == list(expected)
    assert decode(encode(event)) == event


def test_a_subclass_stores_its_own_fields_not_its_parents() -> None:
    """A subclass of an event whose to_dict was already generated gets its own (its extra field, its type)."""

    @dataclass(frozen=True, slots=True)
    class LoudVote(VoteCast):
        volume: int = 11
        type: ClassVar[str] = "loud_vote"

    parent = VoteCast(1, 2.0, 3, 4, "agree", "op")
    assert parent.to_dict()["type"] == "vote"  # the parent's generated to_dict is installed first
    data = LoudVote(5, 6.0, 3, 4, "agree", "op2", volume=12).to_dict()
    assert data["volume"] == 12 and data["type"] == "loud_vote" and data["seq"] == 5
    assert VoteCast(7, 8.0, 3, 4, "pass", "op3").to_dict() == {
        "seq": 7, "at": 8.0, "participant": 3, "statement": 4, "value": "pass", "op": "op3", "previous": "",
        "type": "vote"}


def test_a_subclass_without_a_type_of_its_own_still_stores_its_fields() -> None:
    """A subclass that keeps its parent's ``type`` still stores its own extra field."""

    @dataclass(frozen=True, slots=True)
    class TaggedVote(VoteCast):
        tag: str = "t"

    assert VoteCast(1, 2.0, 3, 4, "agree", "op").to_dict()["type"] == "vote"
    data = TaggedVote(5, 6.0, 3, 4, "agree", "op2", tag="x").to_dict()
    assert data["tag"] == "x" and data["type"] == "vote" and data["seq"] == 5


def test_the_dict_is_a_fresh_one_each_call() -> None:
    """Callers add keys to it (a view's ``seq``): two calls never share a dict."""
    event = VoteCast(1, 2.0, 3, 4, "agree", "op")
    first = event.to_dict()
    first["seq"] = 99
    assert event.to_dict()["seq"] == 1
