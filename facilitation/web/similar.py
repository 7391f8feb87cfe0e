"""``GET /api/meetings/{code}/similar?statement=N`` (host key in ``X-Host-Key``): the open statements a
pending one probably repeats, for the console to offer a merge (issue 24, statement lineage).

Built on demand from the meeting's open statements with :class:`facilitation.core.similarity.NearDuplicateIndex`
(the same scoring bench/bench_near_duplicates.py measures): the console asks once per pending statement, which
is rare next to votes, so the meeting keeps no index of its own. Only ids and cosines go out; the console has
the texts already."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from facilitation.core.errors import ClientError
from facilitation.core.similarity import NearDuplicateIndex
from facilitation.core.state import StatementState
from facilitation.web.api import require_host, room_for

__all__ = ["near_duplicates"]

_OPEN = (StatementState.PENDING, StatementState.ACCEPTED)


async def near_duplicates(request: Request) -> JSONResponse:
    room = await room_for(request)
    require_host(request, room, header_only=True)
    raw = request.query_params.get("statement", "")
    meeting = room.meeting
    statement = meeting.statements.get(int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if statement is None:
        raise ClientError("unknown_statement", f"no statement {raw!r}", status=404)
    index = NearDuplicateIndex()
    for other in sorted(meeting.statements.values(), key=lambda s: s.id):
        if other.id != statement.id and other.state in _OPEN:
            index.add(other.id, other.text)
    found = index.similar(statement.text)
    return JSONResponse(
        {"statement": statement.id, "similar": [{"statement": s, "score": round(score, 3)} for s, score in found]}
    )
