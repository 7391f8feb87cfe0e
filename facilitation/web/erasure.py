"""HTTP endpoints of erasure (docs/agencies.md, "Seeing and erasing one's data"): a participant reads what
the meeting holds about them and erases it, with their phone's token (``X-Participant-Token``, the token the
phone keeps in ``localStorage``; never in a URL); the host deletes the meeting (``X-Host-Key`` header only).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from facilitation.core.erasure import receipt
from facilitation.core.errors import ClientError
from facilitation.core.meeting import hash_secret
from facilitation.live import erasure
from facilitation.live.room import Room
from facilitation.web.api import require_host, room_for
from facilitation.web.state import parts

__all__ = ["delete_meeting", "erase_me", "my_data"]


def _participant(request: Request, room: Room) -> int:
    token = request.headers.get("x-participant-token") or ""
    participant = room.meeting.participant_for_token(hash_secret(token)) if token else None
    if participant is None:
        raise ClientError("unknown_participant", "this phone has no data in this meeting (or it was erased)",
                          status=404)
    return participant


async def my_data(request: Request) -> JSONResponse:
    """``GET /api/meetings/{code}/mine``: the participant's receipt (profile, statements and what became of
    them, votes)."""
    room = await room_for(request)
    return JSONResponse(receipt(room.meeting, _participant(request, room)))


async def erase_me(request: Request) -> JSONResponse:
    """``POST /api/meetings/{code}/erase``: erase the participant, from the log, the analyses and the disk;
    returns once done."""
    room = await room_for(request)
    participant = _participant(request, room)
    replaced = await erasure.erase_participant(parts(request).hub, room.code, participant)
    return JSONResponse({"erased": participant, "events_replaced": replaced})


async def delete_meeting(request: Request) -> JSONResponse:
    """``DELETE /api/meetings/{code}``: the host deletes the meeting and everything stored with it."""
    room = await room_for(request)
    require_host(request, room, header_only=True)
    await erasure.delete_meeting(parts(request).hub, room.code)
    return JSONResponse({"deleted": room.code})
