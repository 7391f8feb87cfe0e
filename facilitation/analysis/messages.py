"""The ``{"type": "analysis"}`` messages, built from an :class:`~clustering.AnalysisResult`.

Pure functions, run inside the analysis worker process so the event loop only concatenates ready-made
JSON text. Two audiences (docs/protocol.md, "Live analysis"):

* **map** (projector and host): every clustered participant's position as parallel arrays rounded to
  :data:`POSITION_DECIMALS`, the groups with stable letter ids, sizes, centres, role make-up and
  representative statements, the traffic-light lanes, and short top lists. Never the vote matrix: a
  20,000-participant map is ~0.5 MB of JSON, a 1,000-participant map ~25 KB.
* **phone** (one participant): their group and position, group sizes, and, when the host shows results,
  a short summary (top statements per lane, majority opinions, each group's representative statements).
  A phone message is a few hundred bytes whatever the meeting's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clustering import AnalysisResult
from facilitation.protocol import PROTOCOL_VERSION, dumps

__all__ = [
    "LANE_NAMES",
    "POSITION_DECIMALS",
    "PhoneParts",
    "map_message",
    "phone_parts",
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


def _i(x: Any) -> int:
    """Ids are ints in this server (the library types them as any hashable)."""
    return int(x)


def _r(x: float, digits: int = POSITION_DECIMALS) -> float:
    return round(float(x), digits)


def _lanes(result: AnalysisResult) -> dict[str, list[int]]:
    """Statement ids per lane, the most widely accepted first (the library's maximin order)."""
    order = {a.statement: i for i, a in enumerate(result.acceptance)}
    out: dict[str, list[int]] = {name: [] for name in LANE_NAMES}
    for statement, lane in sorted(result.lanes.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        out.setdefault(lane, []).append(_i(statement))
    return out


def _membership(result: AnalysisResult) -> dict[Any, int]:
    return {member: gi for gi, group in enumerate(result.groups) for member in group.members}


def _role_breakdown(result: AnalysisResult, roles: Mapping[int, str]) -> dict[str, Any]:
    """Per stakeholder role: its size and the statements it accepts and rejects most."""
    out: dict[str, Any] = {}
    for name, summary in result.roles.items():
        scored = []
        for statement, t in summary.votes.items():
            if t.seen >= ROLE_MIN_SEEN:
                scored.append((statement, (t.agree + t.acceptable) / t.seen, t.disagree / t.seen))
        accepts = sorted(scored, key=lambda x: (-x[1], x[0]))[:ROLE_TOP]
        rejects = sorted(scored, key=lambda x: (-x[2], x[0]))[:ROLE_TOP]
        out[name] = {
            "participants": summary.participants,
            "accepts": [{"statement": _i(s), "share": _r(a)} for s, a, _ in accepts],
            "rejects": [{"statement": _i(s), "share": _r(d)} for s, _, d in rejects],
        }
    return out


def map_message(
    result: AnalysisResult, *, run: int, upto_seq: int, at: float, roles: Mapping[int, str]
) -> dict[str, Any]:
    """The projector's and host's message: the whole map, compact."""
    membership = _membership(result)
    ids = sorted(result.positions, key=_i)
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
            "representative": [
                {"statement": _i(r.statement), "direction": r.direction, "share": _r(r.share),
                 "z": _r(r.z, 2)}
                for r in group.representative[:REPRESENTATIVE_TOP]
            ],
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
        "points": {
            "participants": [_i(p) for p in ids],
            "x": [_r(result.positions[p][0]) for p in ids],
            "y": [_r(result.positions[p][1]) for p in ids],
            "group": [membership.get(p, -1) for p in ids],
        },
        "lanes": _lanes(result),
        "acceptable_to_all": [
            {"statement": _i(a.statement), "worst_share": _r(a.worst_share),
             "groups": {g: _r(s) for g, s in a.group_shares.items()},
             "roles": {r: _r(s) for r, s in a.role_shares.items()}}
            for a in result.acceptable_to_all[:TOP]
        ],
        "majority": [
            {"statement": _i(o.statement), "direction": o.direction, "share": _r(o.share)}
            for o in result.majority[:TOP]
        ],
        "consensus": [{"statement": _i(c.statement), "score": _r(c.score)}
                      for c in result.consensus[:TOP]],
        "divisive": [
            {"statement": _i(d.statement), "spread": _r(d.spread), "most": d.most, "least": d.least}
            for d in result.divisive[:DIVISIVE_TOP]
        ],
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


def phone_parts(result: AnalysisResult, map_msg: dict[str, Any]) -> PhoneParts:
    """A participant's view: own group and position always, the summary only when results are shown."""
    head = dumps({
        "v": PROTOCOL_VERSION, "type": "analysis", "run": map_msg["run"], "upto_seq": map_msg["upto_seq"],
        "at": map_msg["at"], "groups": [{"id": g["id"], "size": g["size"]} for g in map_msg["groups"]],
    })[:-1]
    you: dict[int, str] = {}
    for group in result.groups:
        for member in group.members:
            x, y = result.positions.get(member, (0.0, 0.0))
            you[_i(member)] = f'{{"group":"{group.id}","x":{_r(x)},"y":{_r(y)}}}'
    lanes = map_msg["lanes"]
    summary = {
        "lanes": {name: ids[:PHONE_TOP] for name, ids in lanes.items()},
        "lane_counts": {name: len(ids) for name, ids in lanes.items()},
        "majority": map_msg["majority"][:PHONE_TOP],
        "representative": {g["id"]: g["representative"][:PHONE_REPRESENTATIVE_TOP] for g in map_msg["groups"]},
    }
    return PhoneParts(head, you, "}", "," + dumps({"summary": summary})[1:])
