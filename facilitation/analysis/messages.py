"""The ``{"type": "analysis"}`` messages, built from an :class:`~clustering.AnalysisResult`.

Pure functions, run inside the analysis worker process so the event loop only concatenates ready-made
JSON text. Two audiences (docs/protocol.md, "Live analysis"):

* **map** (projector and host): every clustered participant's position as parallel arrays rounded to
  :data:`POSITION_DECIMALS`, the groups with stable letter ids, sizes, centres, role make-up and
  representative statements, the traffic-light lanes, and short top lists. Never the vote matrix: a
  20,000-participant map is ~0.5 MB of JSON, a 1,000-participant map ~25 KB.
* **phone** (one participant): their group and position, group sizes, and, when the host shows results,
  a short summary (top statements per lane, what every group can accept, majority opinions, each group's
  representative statements). A phone message is about a kilobyte whatever the meeting's size.

Truthful numbers: the library's ``share`` values are smoothed ((count + 1) / (seen + 2)) and rank
statements; they are never what a screen prints. Every figure a person reads comes with the raw counts it
is made of (``count`` of ``seen``, or ``accepted`` of ``seen``), taken from the groups' raw tallies
(``AnalysisResult.group_votes``), so each one can be checked against the meeting's votes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clustering import AnalysisResult
from clustering.result import AcceptanceScore, Divisive, Opinion, Representative, Tally
from facilitation.core.protocol import PROTOCOL_VERSION, dumps

__all__ = [
    "LANE_NAMES",
    "POSITION_DECIMALS",
    "PhoneParts",
    "map_message",
    "phone_parts",
    "shown_message",
]

POSITION_DECIMALS = 3
"""Map positions are rounded to 3 decimals: far below a projector pixel, and short JSON."""
TOP = 10
"""Entries in each top list of the map (majority, consensus, acceptable to all)."""
DIVISIVE_TOP = 5
REPRESENTATIVE_TOP = 5
"""Representative statements per group on the map; phones get :data:`PHONE_REPRESENTATIVE_TOP`."""
PHONE_TOP = 5
PHONE_REPRESENTATIVE_TOP = 3
ROLE_TOP = 5
ROLE_MIN_SEEN = 3
"""A role's top statements only count statements at least 3 of its members voted on."""
LANE_NAMES = ("acceptable", "disputed", "rejected", "needs_votes")
PHONE_ACCEPTABLE_TOP = 5
"""Statements most of every group accepts on a phone (the "每組多數可接受的" list)."""


def _i(x: Any) -> int:
    """Ids are ints in this server (the library types them as any hashable)."""
    return int(x)


def _r(x: float, digits: int = POSITION_DECIMALS) -> float:
    return round(float(x), digits)


def _tally(result: AnalysisResult, group: str, statement: Any) -> Tally | None:
    return result.group_votes.get(group, {}).get(statement)


def _only_passes(result: AnalysisResult, statement: Any) -> bool:
    """Every group's members who voted on it said "pass": there is nothing to dispute (or accept) yet.

    False when the result has no group tallies for it (no opinion groups yet): nothing to judge by.
    """
    tallies = [votes[statement] for votes in result.group_votes.values() if statement in votes]
    return bool(tallies) and sum(t.agree + t.acceptable + t.disagree for t in tallies) == 0


def _lanes(result: AnalysisResult) -> dict[str, list[int]]:
    """Statement ids per lane, the most widely accepted first (the library's maximin order).

    A statement everyone passed on moves to ``needs_votes``: a room that skipped it has not disagreed.
    """
    order = {a.statement: i for i, a in enumerate(result.acceptance)}
    out: dict[str, list[int]] = {name: [] for name in LANE_NAMES}
    for statement, lane in sorted(result.lanes.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        if lane != "needs_votes" and _only_passes(result, statement):
            lane = "needs_votes"
        out.setdefault(lane, []).append(_i(statement))
    return out


def _acceptable_entry(result: AnalysisResult, score: AcceptanceScore) -> dict[str, Any]:
    """One statement acceptable to all: per unit (group, or ``"all"`` before there are groups) how many
    accepted (agree or acceptable) of how many voted, from the very counts the verdict was made on."""
    counts: dict[str, dict[str, int]] = {}
    for group in score.group_shares:
        tally = score.group_counts.get(group) or _tally(result, group, score.statement)
        accepted = 0 if tally is None else tally.agree + tally.acceptable
        counts[group] = {"accepted": accepted, "seen": 0 if tally is None else tally.seen,
                         "disagree": 0 if tally is None else tally.disagree}
    return {
        "statement": _i(score.statement),
        "worst_share": _r(score.worst_share),
        "groups": {g: _r(s) for g, s in score.group_shares.items()},
        "roles": {r: _r(s) for r, s in score.role_shares.items()},
        "accepted": sum(c["accepted"] for c in counts.values()),
        "seen": sum(c["seen"] for c in counts.values()),
        "disagree": sum(c["disagree"] for c in counts.values()),
        "group_counts": counts,
    }


def _representative(result: AnalysisResult, group: str, rep: Representative) -> dict[str, Any]:
    """A representative statement with the raw count behind it: ``count`` of the group's ``seen`` voted
    ``direction`` (``share`` is the library's smoothed value, for ranking only)."""
    tally = _tally(result, group, rep.statement)
    count = 0 if tally is None else (tally.disagree if rep.direction == "disagree" else tally.agree)
    return {"statement": _i(rep.statement), "direction": rep.direction, "share": _r(rep.share),
            "z": _r(rep.z, 2), "count": count, "seen": 0 if tally is None else tally.seen}


def _majority_entry(opinion: Opinion) -> dict[str, Any]:
    """A majority opinion with the raw count behind it: ``count`` of all ``seen`` voters voted
    ``direction`` (``share`` is smoothed, for ranking only)."""
    counts = opinion.counts
    count = counts.disagree if opinion.direction == "disagree" else counts.agree
    return {"statement": _i(opinion.statement), "direction": opinion.direction, "share": _r(opinion.share),
            "count": count, "seen": counts.seen}


def _divisive_entry(split: Divisive) -> dict[str, Any]:
    """A divisive statement with, for its most and least accepting groups, ``accepted`` (agree or
    acceptable) of ``seen``: the raw votes behind ``spread`` (a difference of smoothed shares)."""
    counts = {g: {"accepted": t.accepted, "seen": t.seen} for g, t in split.counts.items()
              if g in (split.most, split.least)}
    return {"statement": _i(split.statement), "spread": _r(split.spread), "most": split.most,
            "least": split.least, "counts": counts}


def _membership(result: AnalysisResult) -> dict[Any, int]:
    return {member: gi for gi, group in enumerate(result.groups) for member in group.members}


def _points(result: AnalysisResult) -> dict[str, list[Any]]:
    """Every clustered participant's id, position and group index (-1: in no group), in id order.

    The coordinates are rounded in one numpy pass (``rint(x * 1000) / 1000``: the nearest double to a
    3-decimal number, so each prints short) rather than by ``round`` per value: at 10,000 participants the
    per-value calls were ~20 ms of every live run. The two roundings can differ only where ``x * 1000``
    lies within a rounding error of a half, a thousandth of a map unit."""
    membership = _membership(result)
    ids = sorted(result.positions, key=_i)
    xy = np.array([result.positions[p] for p in ids], dtype=np.float64).reshape(-1, 2)
    rounded = np.round(xy, POSITION_DECIMALS)
    return {
        "participants": [_i(p) for p in ids],
        "x": rounded[:, 0].tolist(),
        "y": rounded[:, 1].tolist(),
        "group": [membership.get(p, -1) for p in ids],
    }


def _role_breakdown(result: AnalysisResult, roles: Mapping[int, str]) -> dict[str, Any]:
    """Per stakeholder role: its size and the statements it accepts and rejects most."""
    out: dict[str, Any] = {}
    for name, summary in result.roles.items():
        scored = []
        for statement, t in summary.votes.items():
            if t.seen >= ROLE_MIN_SEEN:
                scored.append((statement, t.agree + t.acceptable, t.disagree, t.seen))
        accepts = sorted(scored, key=lambda x: (-x[1] / x[3], x[0]))[:ROLE_TOP]
        rejects = sorted(scored, key=lambda x: (-x[2] / x[3], x[0]))[:ROLE_TOP]
        out[name] = {
            "participants": summary.participants,
            "accepts": [{"statement": _i(s), "share": _r(a / n), "count": a, "seen": n} for s, a, _, n in accepts],
            "rejects": [{"statement": _i(s), "share": _r(d / n), "count": d, "seen": n} for s, _, d, n in rejects],
        }
    return out


def map_message(
    result: AnalysisResult, *, run: int, upto_seq: int, at: float, roles: Mapping[int, str]
) -> dict[str, Any]:
    """The projector's and host's message: the whole map, compact."""
    groups = []
    for group in result.groups:
        by_role: dict[str, int] = {}
        for member in group.members:
            role = roles.get(_i(member))
            if role:
                by_role[role] = by_role.get(role, 0) + 1
        groups.append({
            "id": group.id,
            "size": group.size,
            "center": [_r(c) for c in group.center],
            "roles": by_role,
            "representative": [_representative(result, group.id, r)
                               for r in group.representative[:REPRESENTATIVE_TOP]],
        })
    return {
        "v": PROTOCOL_VERSION,
        "type": "analysis",
        "run": run,
        "upto_seq": upto_seq,
        "at": at,
        "counts": {"participants": result.participants, "clustered": result.clustered,
                   "statements": result.statements, "votes": result.votes},
        "groups": groups,
        "points": _points(result),
        "lanes": _lanes(result),
        "acceptable_to_all": [_acceptable_entry(result, a) for a in result.acceptable_to_all[:TOP]
                              if not _only_passes(result, a.statement)],
        "majority": [_majority_entry(o) for o in result.majority[:TOP]],
        "consensus": [{"statement": _i(c.statement), "score": _r(c.score)}
                      for c in result.consensus[:TOP]],
        "divisive": [_divisive_entry(d) for d in result.divisive[:DIVISIVE_TOP]],
        "roles": _role_breakdown(result, roles),
        "elapsed_ms": _r(result.elapsed_ms, 1),
    }


class PhoneParts:
    """Ready-made JSON pieces of the phone message: ``head + ',"you":' + you + tail``.

    The event loop only concatenates strings per phone: at 20,000 phones that is ~10 ms, where building
    and serialising 20,000 dicts would stall it for ~200 ms.
    """

    __slots__ = ("head", "tail_plain", "tail_summary", "you")

    def __init__(self, head: str, you: dict[int, str], tail_plain: str, tail_summary: str) -> None:
        self.head = head
        self.you = you
        self.tail_plain = tail_plain
        self.tail_summary = tail_summary

    def text(self, participant: int, with_summary: bool) -> str:
        you = self.you.get(participant, "null")
        return f'{self.head},"you":{you}{self.tail_summary if with_summary else self.tail_plain}'


def phone_parts(result: AnalysisResult | None, map_msg: dict[str, Any]) -> PhoneParts:
    """A participant's view: own group and position always, the summary only when results are shown.
    Built from the map message alone (``result`` is not read)."""
    head = dumps({
        "v": PROTOCOL_VERSION, "type": "analysis", "run": map_msg["run"], "upto_seq": map_msg["upto_seq"],
        "at": map_msg["at"], "groups": [{"id": g["id"], "size": g["size"]} for g in map_msg["groups"]],
    })[:-1]
    points = map_msg["points"]
    letters = [g["id"] for g in map_msg["groups"]]
    you: dict[int, str] = {
        participant: f'{{"group":"{letters[g]}","x":{x!r},"y":{y!r}}}'
        for participant, x, y, g in zip(points["participants"], points["x"], points["y"], points["group"],
                                        strict=True)
        if g >= 0
    }
    lanes = map_msg["lanes"]
    summary = {
        "lanes": {name: ids[:PHONE_TOP] for name, ids in lanes.items()},
        "lane_counts": {name: len(ids) for name, ids in lanes.items()},
        "acceptable_to_all": [
            {"statement": a["statement"], "accepted": a["accepted"], "seen": a["seen"], "disagree": a["disagree"],
             "group_counts": a["group_counts"]}
            for a in map_msg["acceptable_to_all"][:PHONE_ACCEPTABLE_TOP]
        ],
        "majority": map_msg["majority"][:PHONE_TOP],
        "representative": {g["id"]: g["representative"][:PHONE_REPRESENTATIVE_TOP] for g in map_msg["groups"]},
    }
    return PhoneParts(head, you, "}", "," + dumps({"summary": summary})[1:])


def _renamed(mapping: Mapping[str, Any], rename: Mapping[str, str]) -> dict[str, Any]:
    return {rename.get(k, k): v for k, v in sorted(mapping.items(), key=lambda kv: rename.get(kv[0], kv[0]))}


def shown_message(msg: dict[str, Any], letters: tuple[str, ...], *, forming: bool) -> dict[str, Any]:
    """The map message as the room is shown it (`clustering.steady`): the same run, every figure unchanged,
    the groups under the steady ``letters`` (one per group of ``msg``, in its order) and listed in letter
    order (a group's colour and shape follow its place in the list), and ``steady.forming`` telling the
    projector whether to say the map is still forming. What still needs votes names the groups by the same
    letters (the console's "needs 2 more A votes" must name the A on the map)."""
    old = [g["id"] for g in msg["groups"]]
    rename = dict(zip(old, letters, strict=True))
    order = sorted(range(len(old)), key=lambda i: letters[i])
    place = {i: rank for rank, i in enumerate(order)}
    groups = [dict(msg["groups"][i], id=letters[i]) for i in order]
    points = dict(msg["points"], group=[place[g] if g >= 0 else -1 for g in msg["points"]["group"]])
    acceptable = [dict(a, groups=_renamed(a["groups"], rename), group_counts=_renamed(a["group_counts"], rename))
                  for a in msg["acceptable_to_all"]]
    divisive = [dict(d, most=rename.get(d["most"], d["most"]), least=rename.get(d["least"], d["least"]),
                     counts=_renamed(d["counts"], rename)) for d in msg["divisive"]]
    needs = [dict(n, groups=_renamed(n.get("groups", {}), rename)) for n in msg.get("needs", [])]
    return dict(msg, groups=groups, points=points, acceptable_to_all=acceptable, divisive=divisive,
                steady={"forming": forming}, **({"needs": needs} if "needs" in msg else {}))
