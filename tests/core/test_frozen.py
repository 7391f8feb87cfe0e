"""quick_init (facilitation/core/frozen.py): the vote command and event it speeds up are made exactly as their
dataclass would make them (every field, defaults, still frozen), and a class it cannot serve is refused."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from facilitation.core.commands.statements import Vote
from facilitation.core.events import VoteCast
from facilitation.core.frozen import quick_init


def _generated(cls: type) -> type:
    """The same fields as a plain frozen dataclass: what the generated ``__init__`` makes."""
    return dataclass(frozen=True, slots=True)(type(f"Plain{cls.__name__}", (), {
        "__annotations__": {f.name: f.type for f in dataclasses.fields(cls)},
        **{f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}}))


@pytest.mark.parametrize("cls", [Vote, VoteCast], ids=lambda c: c.__name__)
def test_the_signature_is_the_dataclass_one(cls: type) -> None:
    """Same parameters, order and defaults as the dataclass's own ``__init__`` (a field added later is in it)."""
    def shape(klass: type) -> list[tuple[str, object, object]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(klass).parameters.values()]

    assert shape(cls) == shape(_generated(cls))


def test_every_field_is_set_and_the_instance_stays_frozen() -> None:
    """Positional, keyword and default arguments land in their fields; assignment is still refused."""
    cast = VoteCast(3, 1.5, participant=7, statement=2, value="agree", op="o")
    assert dataclasses.astuple(cast) == (3, 1.5, 7, 2, "agree", "o", "")
    assert cast == VoteCast(3, 1.5, 7, 2, "agree", "o", "") and hash(cast) == hash(VoteCast(3, 1.5, 7, 2, "agree", "o"))
    assert dataclasses.astuple(Vote(1, 2, "pass", "op")) == (1, 2, "pass", "op")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cast.value = "disagree"  # type: ignore[misc]
    with pytest.raises(TypeError):
        VoteCast(1, 2.0, 3, 4, "agree")  # type: ignore[call-arg]


def test_a_class_it_cannot_serve_is_refused() -> None:
    """A default factory, a __post_init__ or a class that is not frozen would be skipped steps: refused."""
    with pytest.raises(TypeError):
        @quick_init
        @dataclass(frozen=True, slots=True)
        class WithFactory:
            items: list[int] = field(default_factory=list)
    with pytest.raises(TypeError):
        @quick_init
        @dataclass(frozen=True, slots=True)
        class WithPostInit:
            value: int

            def __post_init__(self) -> None:
                return None
    with pytest.raises(TypeError):
        @quick_init
        @dataclass(slots=True)
        class NotFrozen:
            value: int
