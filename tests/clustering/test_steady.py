"""The steady map's rule (clustering/steady.py): what the room is shown over successive exact runs."""

from __future__ import annotations

from clustering.steady import (
    FORMING_PARTICIPANTS,
    HOLD_RUNS,
    HOLD_SECONDS,
    MAX_STALE,
    Decision,
    SteadyState,
    decide,
    settle,
)


def g(*ranges: range) -> list[frozenset[object]]:
    return [frozenset(r) for r in ranges]


TWO = g(range(0, 20), range(20, 40))
THREE = g(range(0, 14), range(14, 27), range(27, 40))


def run(
    state: SteadyState | None, groups: list[frozenset[object]], at: float, clustered: int = 40,
) -> tuple[SteadyState, Decision]:
    return decide(state, groups, at, clustered)


def test_first_map_is_shown_at_once_and_is_forming() -> None:
    """The first map is shown at once, lettered by size (and forming with few people on it)."""
    _, d = run(None, g(range(0, 10), range(10, 30)), 0.0, clustered=FORMING_PARTICIPANTS - 1)
    assert d.show and d.letters == ("B", "A") and d.forming


def test_a_continuing_run_is_shown_under_the_same_letters() -> None:
    """A run whose groups continue the shown camps (even with a few people moved, in another order) is shown
    at once, each group under its camp's letter."""
    state, d = run(None, TWO, 0.0)
    moved = g(range(22, 40), range(0, 22))  # two people crossed, the k-means order flipped
    state, d2 = run(state, moved, 1.0)
    assert d2.show and not d2.changed
    assert d2.letters == (d.letters[1], d.letters[0])


def test_a_new_k_waits_for_runs_and_seconds() -> None:
    """A change of k is shown only after HOLD_RUNS consecutive runs and HOLD_SECONDS seconds."""
    state, _ = run(None, TWO, 0.0)
    t = 1.0
    shown_at = None
    for i in range(40):
        state, d = run(state, THREE, t)
        if d.show:
            shown_at = (i + 1, t)
            assert d.changed
            break
        t += 1.0
    assert shown_at is not None
    runs, at = shown_at
    assert runs >= HOLD_RUNS and at - 1.0 >= HOLD_SECONDS


def test_a_flickering_k_is_never_shown() -> None:
    """k flipping 2, 3, 2, 3 run after run never reaches the screen: every other run continues the map."""
    state, _ = run(None, TWO, 0.0)
    for i in range(1, 60):
        state, d = run(state, THREE if i % 2 else TWO, float(i))
        assert (d.show and not d.changed) if i % 2 == 0 else not d.show


def test_letters_are_never_skipped() -> None:
    """When a middle camp dissolves, the later camps move down: the room reads A, B, never A, C."""
    state, d = run(None, THREE, 0.0)
    assert sorted(d.letters) == ["A", "B", "C"]
    b = d.letters.index("B")
    keep = [grp for i, grp in enumerate(THREE) if i != b]
    merged = [keep[0] | THREE[b], keep[1]]
    for t in range(1, 30):
        state, d = run(state, merged, float(t))
        if d.show:
            assert sorted(d.letters) == ["A", "B"]
            break
    else:
        raise AssertionError("the new map was never shown")


def test_a_returning_camp_gets_its_letter_back() -> None:
    """A camp that splits off, merges back and splits off again keeps the letter it had."""
    state, d = run(None, THREE, 0.0)
    letter_of_last = d.letters[2]
    t = 0.0
    for groups in (g(range(0, 27), range(27, 40)), THREE):
        while True:
            t += 1.0
            state, d = run(state, groups, t)
            if d.show and d.changed:
                break
    assert d.letters[2] == letter_of_last


def test_stale_screen_takes_the_latest_run() -> None:
    """A map that never settles is still refreshed after MAX_STALE seconds, so figures never get older."""
    state, _ = run(None, TWO, 0.0)
    shapes = [g(range(0, 5), range(5, 40)), g(range(0, 35), range(35, 40)), THREE]
    t, shown = 0.0, False
    for i in range(200):
        t += 1.0
        state, d = run(state, shapes[i % 3], t)
        if d.show:
            shown = True
            assert t >= MAX_STALE
            break
    assert shown


def test_forming_with_few_people() -> None:
    """A map with fewer than FORMING_PARTICIPANTS clustered people is said to be forming."""
    state, _ = run(None, TWO, 0.0)
    for t in range(1, 20):
        state, d = run(state, TWO, float(t), clustered=FORMING_PARTICIPANTS - 1)
        assert d.forming
    state, d = run(state, TWO, 21.0)
    assert not d.forming


def test_settle_shows_the_waiting_map_with_steady_letters() -> None:
    """settle() shows the latest run at once (votes stopped, or reviewing), keeping continuing camps' letters."""
    state, _ = run(None, TWO, 0.0)
    state, held = run(state, THREE, 1.0)
    assert not held.show
    state, d2 = settle(state, THREE, 2.0, 40)
    assert d2.show and d2.changed and sorted(d2.letters) == ["A", "B", "C"]
    _, d3 = settle(state, list(reversed(THREE)), 3.0, 40)
    assert d3.show and not d3.changed and d3.letters == tuple(reversed(d2.letters))
