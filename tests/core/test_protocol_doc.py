"""docs/protocol.md is what outside clients are written from: its command and event tables say exactly what
the declarations in facilitation/core/commands/ and facilitation/core/events.py say."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from facilitation.core.closes import CloseCode
from facilitation.core.command import EVERYONE, HOSTS, PARTICIPANTS
from facilitation.core.commands import EVENT_TYPES, SPECS
from facilitation.core.events import Event
from facilitation.core.state import HOST_SETTINGS

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
WHO = {"participant": PARTICIPANTS, "host": HOSTS, "anyone": EVERYONE}
MODES = {"all": "all", "own": "own", "author": "author", "—": ""}


def table(heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table after the line starting with ``heading``."""
    lines = PROTOCOL.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows: list[list[str]] = []
    for line in lines[start:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 2, f"no table under {heading!r}"
    return rows[2:]  # past the header and the |---| line


def first_code(cell: str) -> str:
    found = re.match(r"`([^`]+)`", cell)
    assert found, f"a cell that should start with a `name`: {cell!r}"
    return found.group(1)


def field_names(cell: str) -> set[str]:
    """`statement` (int), `value` (`agree`, ...) -> {statement, value}: the first name of each item."""
    if cell.startswith("—"):
        return set()
    depth, items, current = 0, [], ""
    for char in cell.split(";")[0]:
        depth += char in "({"
        depth -= char in ")}"
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return {first_code(item.strip()) for item in items if item.strip()}


def braced(cell: str) -> set[str] | None:
    """The names in a cell's first ``{a, b}``, None when it has none with plain names."""
    found = re.search(r"\{([a-z_, ]+)\}", cell)
    return None if found is None else {name.strip() for name in found.group(1).split(",")}


COMMAND_ROWS = table("| type | who |")
EVENT_ROWS = table("| event `type` |")


def test_the_command_table_lists_every_message_type_but_hello() -> None:
    documented = [first_code(row[0]) for row in COMMAND_ROWS]
    assert len(documented) == len(set(documented)), "a type documented twice"
    assert set(documented) == set(SPECS) - {"hello"}


@pytest.mark.parametrize("row", COMMAND_ROWS, ids=lambda row: first_code(row[0]))
def test_each_command_row_says_who_sends_it_and_its_fields(row: list[str]) -> None:
    spec = SPECS[first_code(row[0])]
    assert WHO[row[1]] == spec.roles
    assert field_names(row[2]) == set(spec.field_names)


def test_the_settings_row_names_every_setting_a_host_may_change() -> None:
    row = next(r for r in COMMAND_ROWS if first_code(r[0]) == "settings")
    assert braced(row[2]) == set(HOST_SETTINGS)


def _sample(cls: type[Event]) -> Event:
    """An instance with a plausible value in every field: an ack's ``result`` keys do not depend on them."""
    hints = typing.get_type_hints(cls)
    samples: dict[Any, Any] = {int: 1, float: 1.0, str: "accepted", bool: False, int | None: 1,
                               dict[str, Any]: {"title": "x"}, list[int]: [1]}
    return cls(**{f.name: samples[hints[f.name]] for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("row", [r for r in COMMAND_ROWS if SPECS[first_code(r[0])].command is not None],
                         ids=lambda row: first_code(row[0]))
def test_each_command_row_names_its_ack_result(row: list[str]) -> None:
    spec = SPECS[first_code(row[0])]
    acknowledging = spec.events[0]  # the event whose result() the ack carries
    assert braced(row[3]) == set(_sample(acknowledging).result())


def documented_audience() -> dict[str, tuple[str, str, str]]:
    audience: dict[str, tuple[str, str, str]] = {}
    for row in EVENT_ROWS:
        view = first_code(row[0])
        assert view not in audience, f"{view} documented twice"
        audience[view] = tuple(MODES[cell.split()[0]] for cell in row[1:4])  # type: ignore[assignment]
    return audience


def test_the_event_table_is_every_event_s_declared_audience() -> None:
    declared = {row.view: (row.phone, row.projector, row.host)
                for cls in EVENT_TYPES.values() for row in cls.audience}
    assert documented_audience() == declared


def test_every_close_code_is_documented() -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    assert [code for code in CloseCode if f"`{code.value}`" not in text] == []
