"""The session summary: one frozen model of a finished (or running) meeting that every export reads.

Built from the meeting's stored event log and its last *published* analysis, so the report says what the
room saw on the projector, not what a fresh computation would say a minute later. When a meeting has no
published analysis (live analysis off, or the meeting never reached the scheduler) the summary runs
:func:`clustering.analyze` itself on the stored votes, with ``random_state=0``, and says so in
``analysis.source`` (``published`` or ``computed``; ``none`` when there is not a single vote).

Group membership, lanes and which statements represent a group come from that analysis; every figure
comes from the raw votes: each share is stored with its counts (``count`` of ``of``) and is their exact
quotient, smoothed values only order the lists, a statement nobody took a position on is never a verdict,
and a group below the minimum group size is not an opinion group (docs/export.md, "Where the numbers come
from").

The model is plain frozen dataclasses with ids as ints; :func:`summary_to_dict` gives its JSON form (the
``--format json`` export, documented in docs/export.md). Writers in :mod:`facilitation.export` only read
it: none of them recomputes a statistic, so Markdown, HTML, PDF, JSON and Pol.is CSVs always agree.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clustering.result import Tally
from facilitation.core.commands.exclusion import excluded
from facilitation.core.commands.importance import Importance
from facilitation.core.commands.lineage import Lineage
from facilitation.core.commands.markers import Markers
from facilitation.core.commands.publication import Publication
from facilitation.core.events import Event, FollowUpSet, MeetingCreated, ParticipantJoined, VoteCast
from facilitation.core.meeting import Meeting, StatementState
from facilitation.core.vocabulary import VOTE_WEIGHTS
from facilitation.export.consent import ConsentCheck, consent_checks
from facilitation.export.floor import FloorInfo, floor_info
from facilitation.export.needs import NeedsVotes, needs_votes
from facilitation.export.quality import ExclusionCheck, QualityCheck, exclusion_check, quality_check
from facilitation.export.questions import QuestionInfo, agenda_of
from facilitation.export.rounds import RoundInfo, round_shifts

__all__ = [
    "FORMAT_VERSION",
    "VOTE_CODES",
    "Acceptable",
    "AnalysisInfo",
    "FollowUpInfo",
    "GroupLean",
    "LaneStatement",
    "LogEntry",
    "MapPoint",
    "Opinion",
    "OpinionGroup",
    "ParticipantInfo",
    "Participation",
    "RoleCount",
    "Share",
    "StatementInfo",
    "Summary",
    "SummaryUnavailable",
    "Tally",
    "VoteRecord",
    "build_summary",
    "load_summary",
    "read_meeting",
    "statement_number",
    "summary_to_dict",
]

FORMAT_VERSION = 2
"""Version of the summary's JSON form; bumped only when a field changes meaning or disappears.
2: every share is a raw count (``count``/``of``) with its exact share, never a smoothed value; the
moderation log is structured (``from_phase``, ``to_phase``, ``changes`` instead of ``detail``)."""

VOTE_CODES: dict[str, float] = VOTE_WEIGHTS
"""Meeting vote values to the clustering library's codes (clustering.AGREE, ACCEPTABLE, PASS, DISAGREE)."""

MODERATED_OUT = frozenset({StatementState.REJECTED.value, StatementState.HIDDEN.value})


class SummaryUnavailable(LookupError):
    """The meeting is not in the store."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"no meeting with code {self.code!r} in the store"


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Share:
    """``count`` of ``of`` votes of one group (or role) on a statement, and ``share`` = count / of (0 when
    nobody voted): raw counts, never smoothed, so a reader can check every figure by hand."""

    name: str
    count: int
    of: int
    share: float


def _share(name: str, count: int, of: int) -> Share:
    return Share(name, count, of, count / of if of else 0.0)


@dataclass(frozen=True)
class GroupLean:
    """How one opinion group (or role) voted on a statement, as shares of its votes."""

    name: str
    tally: Tally


@dataclass(frozen=True)
class FollowUpInfo:
    status: str
    """``adopted``, ``under_study`` or ``not_adopted``."""
    response: str
    at: float


def statement_number(statement_id: int) -> int:
    """The number a reader sees and says for a statement ("請看第 3 則"): its id plus one, never 0.

    Every page numbers the same way (static/js/vocabulary.js ``statementNumber``). Ids stay what they
    are wherever a program reads them (the JSON's ``id`` and ``statement`` fields, Pol.is ``comment-id``):
    other tools join on them (docs/export.md).
    """
    return statement_id + 1


@dataclass(frozen=True)
class StatementInfo:
    id: int
    number: int
    """What the reports print beside the statement: ``id + 1`` (:func:`statement_number`)."""
    text: str
    seed: bool
    """Seeded by the host (or imported from Pol.is) rather than written by a participant."""
    author: int | None
    """The participant who wrote it; None for the host's seeds."""
    state: str
    reason: str
    created_at: float
    tally: Tally
    by_group: tuple[GroupLean, ...]
    by_role: tuple[GroupLean, ...]
    lane: str | None
    """``acceptable``, ``disputed``, ``rejected`` or ``needs_votes``; None when moderated out or unanalysed."""
    follow_up: FollowUpInfo | None
    important: int = 0
    """How many participants marked it "this matters to me" (with their vote)."""


@dataclass(frozen=True)
class Acceptable:
    """A statement every group (and role) can accept. Each share counts agree + acceptable votes of the
    group (role) out of all its votes on the statement (pass included); ``worst_share`` is the lowest
    group share."""

    statement: int
    text: str
    worst_share: float
    groups: tuple[Share, ...]
    roles: tuple[Share, ...]


@dataclass(frozen=True)
class LaneStatement:
    """A disputed or rejected statement with how each group leans. ``shares`` are what the report shows:
    for a disputed statement each group's agree + acceptable votes of its votes, for a rejected one each
    group's disagree votes of its votes. ``spread`` is the gap between the most and least accepting
    group's raw accepted share (0 with one group)."""

    statement: int
    text: str
    spread: float
    most: str
    least: str
    shares: tuple[Share, ...]
    leans: tuple[GroupLean, ...]


@dataclass(frozen=True)
class Opinion:
    """A representative statement of a group, or a majority opinion of the whole room: ``count`` votes in
    ``direction`` (agree, or disagree) out of ``of`` votes on the statement by that group (or everyone)."""

    statement: int
    text: str
    direction: str
    count: int
    of: int
    share: float


@dataclass(frozen=True)
class OpinionGroup:
    id: str
    size: int
    representative: tuple[Opinion, ...]


@dataclass(frozen=True)
class RoleCount:
    role: str
    """The stakeholder role, ``""`` for participants who gave none."""
    participants: int
    votes: int


@dataclass(frozen=True)
class Participation:
    participants: int
    voters: int
    statements: int
    """Accepted statements (what people could vote on)."""
    statements_total: int
    """Every statement written or seeded, moderated ones included."""
    votes: int
    """Effective votes: the latest per (participant, statement)."""
    by_role: tuple[RoleCount, ...]


@dataclass(frozen=True)
class AnalysisInfo:
    source: str
    """``published`` (what the room saw), ``computed`` (run for this summary) or ``none``."""
    run: int | None
    seq: int | None
    """Log position the analysis covers."""
    at: float | None
    participants: int
    clustered: int
    k: int


@dataclass(frozen=True)
class LogEntry:
    """One moderation-log line as data: ``action`` is accept / reject / hide / phase / settings;
    ``from_phase``/``to_phase`` for a phase change, ``changes`` for a settings change. Writers turn it
    into words (never the identifiers themselves)."""

    at: float
    action: str
    statement: int | None
    reason: str
    from_phase: str
    to_phase: str
    changes: dict[str, Any]
    check: int | None = None
    """The consent check a ``check_opened`` / ``check_closed`` line is about."""
    sources: tuple[int, ...] = ()
    targets: tuple[int, ...] = ()
    """A ``reword`` / ``split`` / ``merge`` line: the statements closed and the new ones made of them."""


@dataclass(frozen=True)
class LineageLink:
    """One reword, split or merge (:mod:`facilitation.core.commands.lineage`): ``sources`` were closed into
    ``targets``, which keep the first source's author."""

    kind: str
    sources: tuple[int, ...]
    targets: tuple[int, ...]
    at: float


@dataclass(frozen=True)
class MapPoint:
    participant: int
    x: float
    y: float
    group: str | None


@dataclass(frozen=True)
class ParticipantInfo:
    id: int
    role: str
    joined_at: float
    votes: int
    statements: int
    excluded: bool = False
    """The host left them out of the analysis (``analysis_exclude``): their votes are in ``votes``, not in
    the groups and lanes."""


@dataclass(frozen=True)
class VoteRecord:
    """One effective vote, with the time it was cast (the latest vote of that participant there)."""

    participant: int
    statement: int
    value: str
    at: float
    important: bool = False
    """Marked "this matters to me" (Pol.is's per-vote importance)."""


@dataclass(frozen=True)
class Summary:
    """Everything a report shows. Ids are ints; times are seconds since the epoch."""

    format_version: int
    code: str
    title: str
    topic: str
    description: str
    language: str
    scale: str
    roles: tuple[str, ...]
    phase: str
    started_at: float
    ended_at: float
    duration_s: float
    generated_at: float
    join_url: str
    participation: Participation
    analysis: AnalysisInfo
    acceptable: tuple[Acceptable, ...]
    disputed: tuple[LaneStatement, ...]
    rejected: tuple[LaneStatement, ...]
    groups: tuple[OpinionGroup, ...]
    majority: tuple[Opinion, ...]
    statements: tuple[StatementInfo, ...]
    moderation_log: tuple[LogEntry, ...]
    map: tuple[MapPoint, ...]
    participants: tuple[ParticipantInfo, ...]
    votes: tuple[VoteRecord, ...]
    moderation: str = "post"
    max_statement_chars: int = 140
    ask_nickname: bool = True
    """The rest of the meeting's settings, so a Pol.is round trip (the sidecar) restores all of them."""
    privacy: dict[str, str] = dataclasses.field(default_factory=dict)
    """The privacy notice in force (PDPA §8), as phones showed it before joining."""
    require_consent: bool = False
    retention_days: int = 0
    notice_version: str = ""
    published_at: float | None = None
    """When the host published the record (``publish``); None: the record is a draft."""
    markers: tuple[tuple[int, float, str], ...] = ()
    """The markers set during the meeting (``mark``): number, time, label; they place the transcript."""
    consented: int = 0
    """Participants whose join records that they ticked the notice's consent box."""
    checks: tuple[ConsentCheck, ...] = ()
    """The consent checks on draft conclusions, in order (:mod:`facilitation.export.consent`)."""
    questions: tuple[QuestionInfo, ...] = ()
    """The agenda's questions with their statements and lane counts (:mod:`facilitation.export.questions`);
    empty for a meeting with the topic only."""
    floor: FloorInfo | None = None
    """The speaking queue's turns and time by role and by group, and the roles never heard (None: nobody
    asked for the floor; :mod:`facilitation.export.floor`)."""
    lineage: tuple[LineageLink, ...] = ()
    """Where statements came from: each reword, split and merge, in order."""
    excluded: tuple[int, ...] = ()
    """Participants the host left out of the analysis (issue 24): their votes are in ``votes`` (and each is
    marked ``excluded`` in ``participants``); the groups and lanes are without them."""
    exclusion: ExclusionCheck | None = None
    """Of the excluded, how many each voting-quality flag names and how many none, and whether any lane changes
    with their votes put back (None: nobody excluded; :mod:`facilitation.export.quality`)."""
    quality: QualityCheck | None = None
    """The voting-quality flags and whether any lane changes without the flagged (None: nobody flagged;
    :mod:`facilitation.export.quality`)."""
    needs: tuple[NeedsVotes, ...] = ()
    """What still needs votes: each statement whose lane is not settled, the opinion groups and roles short of
    votes on it and the fewest more votes that settle it, the closest to settled first
    (:mod:`facilitation.export.needs`)."""
    rounds: tuple[RoundInfo, ...] = ()
    """Rounds 2, 3, ... with each statement's votes before and in the round and who moved, by role and by
    opinion group (:mod:`facilitation.export.rounds`)."""

    def statement(self, statement_id: int) -> StatementInfo | None:
        for s in self.statements:
            if s.id == statement_id:
                return s
        return None


def summary_to_dict(summary: Summary) -> dict[str, Any]:
    """The JSON form: the dataclass tree as nested dicts and lists (see docs/export.md)."""
    return dataclasses.asdict(summary)


# ---------------------------------------------------------------- building


async def load_summary(store: Any, code: str, *, join_url: str = "", now: float | None = None) -> Summary:
    """Read a meeting and its last published analysis from ``store`` and build its summary.

    Raises :class:`SummaryUnavailable` for an unknown code. Building may run a full analysis (CPU-bound):
    an async caller serving other clients should call :func:`build_summary` in a thread instead.
    """
    events, analysis = await read_meeting(store, code)
    return build_summary(events, analysis, join_url=join_url, now=now)


async def read_meeting(store: Any, code: str) -> tuple[list[Event], dict[str, Any] | None]:
    """The meeting's events and its last published analysis, as stored."""
    events = await store.load(code)
    if not events:
        raise SummaryUnavailable(code)
    return events, await store.load_analysis(code)


def build_summary(
    events: Sequence[Event], analysis: Mapping[str, Any] | None, *, join_url: str = "", now: float | None = None
) -> Summary:
    """The summary of a meeting from its events and its published analysis (``{run, seq, at, result}``
    as the store returns it, or None to compute one)."""
    meeting = Meeting.replay(events)
    created = events[0]
    assert isinstance(created, MeetingCreated)
    vote_times, follow_up_seqs = _scan(events)
    result, info = _analysis(meeting, analysis)
    votes = _vote_records(meeting, vote_times)
    shown_groups = [g for g in result.get("groups", []) if _size(g) >= min_group_size()]
    counts = _counts(meeting, shown_groups, votes)
    statements = _statement_infos(meeting, result, counts)
    texts = {s.id: s.text for s in meeting.statements.values()}
    participants = _participant_infos(meeting, votes)
    ended = meeting.closed_at or _last_activity(events, follow_up_seqs)
    return Summary(
        format_version=FORMAT_VERSION,
        code=meeting.code,
        title=meeting.settings.title,
        topic=meeting.settings.topic,
        description=meeting.settings.description,
        language=meeting.settings.language,
        scale=meeting.settings.scale,
        roles=meeting.settings.roles,
        moderation=meeting.settings.moderation.value,
        max_statement_chars=meeting.settings.max_statement_chars,
        ask_nickname=meeting.settings.ask_nickname,
        privacy=dict(meeting.settings.privacy),
        require_consent=meeting.settings.require_consent,
        retention_days=meeting.settings.retention_days,
        published_at=meeting.part(Publication).published_at,
        markers=tuple(meeting.part(Markers).placed),
        notice_version=meeting.settings.notice_version,
        consented=sum(1 for e in events if isinstance(e, ParticipantJoined) and e.consented),
        phase=meeting.phase.value,
        started_at=meeting.created_at,
        ended_at=ended,
        duration_s=max(0.0, ended - meeting.created_at),
        generated_at=time.time() if now is None else now,
        join_url=join_url,
        participation=_participation(meeting, participants, votes),
        analysis=info,
        acceptable=_acceptable(statements),
        disputed=_lane_statements(statements, "disputed"),
        rejected=_lane_statements(statements, "rejected"),
        groups=_opinion_groups(shown_groups, counts, texts),
        majority=_majority(result, statements, counts, texts),
        statements=statements,
        moderation_log=tuple(_log_entry(e) for e in meeting.moderation_log),
        map=_map_points(result, counts.group_of),
        participants=participants,
        votes=votes,
        checks=consent_checks(meeting, counts.group_of, counts.group_ids),
        questions=agenda_of(meeting, {s.id: s.lane for s in statements if s.lane}, events),
        rounds=round_shifts(meeting, counts.group_of),
        excluded=tuple(sorted(excluded(meeting))),
        quality=quality_check(meeting, events, _lanes(result)),
        exclusion=exclusion_check(meeting, events, _lanes(result)),
        floor=floor_info(meeting, counts.group_of, events),
        needs=_needs(meeting, statements, counts.group_of),
        lineage=tuple(LineageLink(str(link["kind"]), tuple(link["sources"]), tuple(link["targets"]),
                                  float(link["at"])) for link in meeting.part(Lineage).links),
    )


def _needs(meeting: Meeting, statements: Sequence[StatementInfo],
           group_of: Mapping[int, str]) -> tuple[NeedsVotes, ...]:
    """What still needs votes, over the analysed votes (the host's exclusions left out, as in the analysis)."""
    left_out = excluded(meeting)
    analysed = {p: {s: VOTE_CODES[v] for s, v in mine.items()} for p, mine in meeting.votes.items()
                if p not in left_out and mine}
    found = needs_votes(analysed, {s.id: s.lane for s in statements if s.lane is not None}, group_of,
                        {p.id: p.role for p in meeting.participants.values() if p.id not in left_out})
    listed = {n.statement for n in found}
    placed = tuple(  # in the needs_votes lane with every need met: all passes (_lane_of), or votes since the run
        NeedsVotes(s.id, "needs_votes", 0, True, (), (),
                   "only_passes" if s.tally.agree + s.tally.acceptable + s.tally.disagree == 0 else "enough_now")
        for s in statements if s.lane == "needs_votes" and s.id not in listed)
    return found + placed


def _vote_records(meeting: Meeting, vote_times: Mapping[tuple[int, int], float]) -> tuple[VoteRecord, ...]:
    """Every effective vote with its time and whether its voter marked the statement important."""
    marks = meeting.part(Importance).marks
    return tuple(
        VoteRecord(pid, sid, value, vote_times[(pid, sid)], pid in marks.get(sid, ()))
        for pid, mine in sorted(meeting.votes.items())
        for sid, value in sorted(mine.items())
    )


@dataclass(frozen=True)
class _Counts:
    """The effective votes counted the three ways the reports show them: by everyone, by stakeholder role and
    by opinion group (the analysis' groups of at least :func:`min_group_size`).

    ``overall`` counts every vote cast; ``by_role`` and ``by_group`` count the analysis' participants only, so
    the role shares printed beside a lane are the ones the lane rests on (the host's exclusions leave the
    analysis, its groups and its role consensus alike; the reports say so in the exclusion note)."""

    group_ids: list[str]
    group_of: dict[int, str]
    overall: dict[int, Tally]
    by_role: dict[str, dict[int, Tally]]
    by_group: dict[str, dict[int, Tally]]

    def everyone(self, statement: int) -> Tally:
        return self.overall.get(statement, Tally())

    def group(self, group: str, statement: int) -> Tally:
        return self.by_group.get(group, {}).get(statement, Tally())


def _counts(meeting: Meeting, shown_groups: Sequence[Mapping[str, Any]], votes: Sequence[VoteRecord]) -> _Counts:
    role_of = {p.id: p.role for p in meeting.participants.values()}
    group_of = {int(m): str(g["id"]) for g in shown_groups for m in g.get("members", [])}
    left_out = excluded(meeting)
    return _Counts(
        group_ids=[str(g["id"]) for g in shown_groups],
        group_of=group_of,
        overall=_tallies(votes, dict.fromkeys(role_of, "")).get("", {}),
        by_role=_tallies((v for v in votes if v.participant not in left_out), role_of),
        by_group=_tallies((v for v in votes if v.participant in group_of), group_of),
    )


def _statement_infos(meeting: Meeting, result: Mapping[str, Any], counts: _Counts) -> tuple[StatementInfo, ...]:
    """Every statement with its votes in all, by group and by role, and its lane (accepted statements only)."""
    marks = meeting.part(Importance).marks
    lanes = {int(s): str(lane) for s, lane in result.get("lanes", {}).items()}
    return tuple(
        StatementInfo(
            id=s.id, number=statement_number(s.id), text=s.text, seed=s.seed, author=s.author,
            state=s.state.value, reason=s.reason, created_at=s.created_at,
            tally=counts.everyone(s.id),
            by_group=tuple(GroupLean(g, counts.group(g, s.id)) for g in counts.group_ids),
            by_role=tuple(
                GroupLean(r, counts.by_role.get(r, {}).get(s.id, Tally()))
                for r in meeting.settings.roles if r in counts.by_role
            ),
            lane=_lane_of(lanes.get(s.id), counts.everyone(s.id)) if s.state is StatementState.ACCEPTED else None,
            follow_up=_follow_up(meeting, s.id),
            important=len(marks.get(s.id, ())),
        )
        for s in sorted(meeting.statements.values(), key=lambda s: s.id)
    )


def _acceptable(statements: Sequence[StatementInfo]) -> tuple[Acceptable, ...]:
    """The acceptable lane, by maximin rank (the least accepting group's smoothed share) first."""
    return tuple(
        Acceptable(s.id, s.text, min((x.share for x in _accepted_all(s.by_group)), default=0.0),
                   _accepted_all(s.by_group), tuple(_accepted(lean) for lean in s.by_role if lean.tally.seen))
        for s in sorted((s for s in statements if s.lane == "acceptable"), key=lambda s: (-_rank(s.by_group), s.id))
    )


def _opinion(o: Mapping[str, Any], tally: Tally, texts: Mapping[int, str]) -> Opinion:
    """An analysis' representative or majority opinion, with the raw counts of ``tally``."""
    direction = str(o["direction"])
    count = tally.disagree if direction == "disagree" else tally.agree
    return Opinion(int(o["statement"]), texts[int(o["statement"])], direction, count, tally.seen,
                   count / tally.seen if tally.seen else 0.0)


def _opinion_groups(shown_groups: Sequence[Mapping[str, Any]], counts: _Counts,
                    texts: Mapping[int, str]) -> tuple[OpinionGroup, ...]:
    """Each opinion group with its representative statements, counted from the group's votes."""
    return tuple(
        OpinionGroup(
            str(g["id"]), _size(g),
            tuple(
                o for o in (
                    _opinion(r, counts.group(str(g["id"]), int(r["statement"])), texts)
                    for r in g.get("representative", []) if int(r["statement"]) in texts
                )
                if o.count  # "0 of 6 disagree" does not set a group apart, whatever a smoothed test says
            ),
        )
        for g in shown_groups
    )


def _majority(result: Mapping[str, Any], statements: Sequence[StatementInfo], counts: _Counts,
              texts: Mapping[int, str]) -> tuple[Opinion, ...]:
    """The room's majority opinions. One rests on enough of the room: a statement whose lane still needs
    votes (some group has too few on it) is left out, so the report does not call "3 of 4" the whole room's
    view while listing the same statement under "needs more votes" (found in the PO rehearsal)."""
    lane_shown = {s.id: s.lane for s in statements}
    return tuple(
        _opinion(o, counts.everyone(int(o["statement"])), texts)
        for o in result.get("majority", [])
        if int(o["statement"]) in texts and lane_shown.get(int(o["statement"])) != "needs_votes"
    )


def _map_points(result: Mapping[str, Any], group_of: Mapping[int, str]) -> tuple[MapPoint, ...]:
    return tuple(
        MapPoint(int(p), float(xy[0]), float(xy[1]), group_of.get(int(p)))
        for p, xy in sorted(result.get("positions", {}).items(), key=lambda kv: int(kv[0]))
    )


def _participant_infos(meeting: Meeting, votes: Sequence[VoteRecord]) -> tuple[ParticipantInfo, ...]:
    """Each participant with their role, votes and statements, and whether the host left them out."""
    left_out = excluded(meeting)
    votes_by_participant: dict[int, int] = {}
    for v in votes:
        votes_by_participant[v.participant] = votes_by_participant.get(v.participant, 0) + 1
    authored: dict[int, int] = {}
    for s in meeting.statements.values():
        if s.author is not None:
            authored[s.author] = authored.get(s.author, 0) + 1
    return tuple(
        ParticipantInfo(p.id, p.role, p.joined_at, votes_by_participant.get(p.id, 0), authored.get(p.id, 0),
                        p.id in left_out)
        for p in sorted(meeting.participants.values(), key=lambda p: p.id)
    )


def _participation(meeting: Meeting, participants: Sequence[ParticipantInfo],
                   votes: Sequence[VoteRecord]) -> Participation:
    by_role: dict[str, list[int]] = {}
    for p in participants:
        counts = by_role.setdefault(p.role, [0, 0])
        counts[0] += 1
        counts[1] += p.votes
    role_order = [*meeting.settings.roles, ""]
    return Participation(
        participants=len(participants),
        voters=len({v.participant for v in votes}),
        statements=meeting.accepted_count,
        statements_total=len(meeting.statements),
        votes=len(votes),
        by_role=tuple(RoleCount(r, *by_role[r]) for r in role_order if r in by_role),
    )


def _scan(events: Iterable[Event]) -> tuple[dict[tuple[int, int], float], set[int]]:
    """Time of each pair's latest vote, and which events are follow-ups (they come weeks later and must
    not stretch the meeting's duration)."""
    times: dict[tuple[int, int], float] = {}
    follow_ups: set[int] = set()
    for event in events:
        if isinstance(event, VoteCast):
            times[(event.participant, event.statement)] = event.at
        elif isinstance(event, FollowUpSet):
            follow_ups.add(event.seq)
    return times, follow_ups


def _last_activity(events: Sequence[Event], skip: set[int]) -> float:
    for event in reversed(events):
        if event.seq not in skip and event.type != "analysis_published":
            return event.at
    return events[0].at


def min_group_size() -> int:
    """Smallest group shown as an opinion group: the clustering library's rule (issue 14) when it has
    one, else 2. A one-person group speaks for nobody but its member; an older published analysis may
    still hold one, so the summary drops such groups itself (their members count as not in a group)."""
    import clustering.groups as library_groups

    return int(getattr(library_groups, "MIN_GROUP_SIZE", 2))


def _size(group: Mapping[str, Any]) -> int:
    """A group's size as the map shows it: its members, or the stated size when members are not listed."""
    members = group.get("members")
    return len(members) if members else int(group.get("size", 0))


def _lane_of(lane: str | None, tally: Tally) -> str | None:
    """The analysis' lane, except that a statement nobody took a position on (every vote a pass, or no
    vote) is never a verdict: it needs votes, it is not disputed."""
    if lane is None:
        return "needs_votes"
    if tally.agree + tally.acceptable + tally.disagree == 0 and lane in ("acceptable", "disputed", "rejected"):
        return "needs_votes"
    return lane


def _accepted(lean: GroupLean) -> Share:
    return _share(lean.name, lean.tally.agree + lean.tally.acceptable, lean.tally.seen)


def _disagreed(lean: GroupLean) -> Share:
    return _share(lean.name, lean.tally.disagree, lean.tally.seen)


def _smoothed(count: int, of: int) -> float:
    """Pol.is's Laplace-smoothed share (count + 1) / (of + 2): for ranking only, never shown."""
    return (count + 1) / (of + 2)


def _accepted_all(leans: Sequence[GroupLean]) -> tuple[Share, ...]:
    return tuple(_accepted(lean) for lean in leans)


def _rank(leans: Sequence[GroupLean]) -> float:
    """Maximin rank: the least accepting group's smoothed accepted share."""
    return min((_smoothed(x.tally.agree + x.tally.acceptable, x.tally.seen) for x in leans), default=0.0)


def from_map_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """The live scheduler's published map message (facilitation.analysis.messages.map_message) in the
    shape of ``AnalysisResult.to_dict()``, as far as it goes: members from the map's points, lanes per
    statement, the listed acceptable-to-all shares; per-group tallies are counted from the votes."""
    points = message.get("points", {})
    members: dict[int, list[str]] = {}
    positions: dict[str, list[float]] = {}
    for pid, x, y, g in zip(points.get("participants", []), points.get("x", []), points.get("y", []),
                            points.get("group", []), strict=False):
        positions[str(pid)] = [float(x), float(y)]
        if int(g) >= 0:
            members.setdefault(int(g), []).append(str(pid))
    counts = message.get("counts", {})
    groups = message.get("groups", [])
    return {
        "participants": counts.get("participants", 0),
        "clustered": counts.get("clustered", 0),
        "k": len(groups),
        "groups": [{**g, "members": members.get(i, [])} for i, g in enumerate(groups)],
        "positions": positions,
        "lanes": {str(s): lane for lane, ids in message.get("lanes", {}).items() for s in ids},
        "acceptable_to_all": message.get("acceptable_to_all", []),
        "majority": message.get("majority", []),
    }


def from_stored_analysis(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The stored analysis payload (``facilitation.analysis.worker.stored_payload``: the clustering
    library's result as versioned JSON text) as ``AnalysisResult.to_dict()``: exactly what the room saw,
    with every share's raw counts. Raises ``ValueError`` for an unknown format or version."""
    from clustering import AnalysisResult

    return AnalysisResult.from_dict(json.loads(str(payload["analysis"]))).to_dict()


def with_shown_letters(result: dict[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """The stored run's groups under the letters the room was shown them by (the payload's ``shown`` message,
    ``clustering.steady``: a camp keeps its letter from run to run, so the run's own ``A`` may be the room's
    ``B``) and in the room's order (by letter, as the projector lists them); unchanged when the room was not
    shown this run or the two messages do not line up. The console named the groups in what still needs
    votes by these letters too."""
    try:
        message, shown = json.loads(str(payload["message"])), json.loads(str(payload["shown"]))
        run_ids = [str(g["id"]) for g in message["groups"]]
        letters = [str(g["id"]) for g in shown["groups"]]
        pairs = zip(message["points"]["participants"], message["points"]["group"], shown["points"]["participants"],
                    shown["points"]["group"], strict=True)
        rename: dict[str, str] = {}
        for p, g, q, h in pairs:  # the same participants in the same order, each group one letter
            if p != q or (g < 0) != (h < 0):
                return result
            if g >= 0 and rename.setdefault(run_ids[g], letters[h]) != letters[h]:
                return result
    except (KeyError, TypeError, ValueError, IndexError):
        return result
    groups = [dict(g, id=rename.get(str(g["id"]), str(g["id"]))) for g in result.get("groups", [])]
    if len({g["id"] for g in groups}) != len(groups):
        return result
    return dict(result, groups=sorted(groups, key=lambda g: str(g["id"])))


def _analysis(meeting: Meeting, stored: Mapping[str, Any] | None) -> tuple[dict[str, Any], AnalysisInfo]:
    if stored is not None:
        result = stored.get("result", stored)
        if isinstance(result, Mapping) and isinstance(result.get("analysis"), str):
            result = with_shown_letters(from_stored_analysis(result), result)
        elif isinstance(result, Mapping) and isinstance(result.get("message"), str):
            result = from_map_message(json.loads(result["message"]))
        if isinstance(result, Mapping) and "groups" in result:
            info = AnalysisInfo("published", _opt_int(stored.get("run")), _opt_int(stored.get("seq")),
                                _opt_float(stored.get("at")), int(result.get("participants", 0)),
                                int(result.get("clustered", 0)), int(result.get("k", len(result["groups"]))))
            return dict(result), info
    left_out = excluded(meeting)  # as the live analysis: the host's exclusions leave their votes out
    triples = [
        (pid, sid, VOTE_CODES[value]) for pid, mine in meeting.votes.items() if pid not in left_out
        for sid, value in mine.items()
    ]
    if not triples:
        return {}, AnalysisInfo("none", None, None, None, 0, 0, 0)
    from clustering import analyze

    moderated_out = frozenset(s.id for s in meeting.statements.values() if s.state.value in MODERATED_OUT)
    roles: dict[Hashable, str] = {p.id: p.role for p in meeting.participants.values() if p.role}
    computed = analyze(
        triples, moderated_out=moderated_out, roles=roles or None, random_state=0,
        statements=[s.id for s in meeting.accepted_statements()],
    ).to_dict()
    info = AnalysisInfo("computed", None, meeting.seq, None, int(computed["participants"]),
                        int(computed["clustered"]), int(computed.get("k", len(computed["groups"]))))
    return computed, info


def _lanes(result: Mapping[str, Any]) -> dict[str, str]:
    """Statement id (text) -> lane, from an analysis result's ``lanes`` when it has that form (a map message
    lists statements by lane instead: then nothing is compared)."""
    lanes = result.get("lanes")
    if not isinstance(lanes, Mapping):
        return {}
    out = {str(s): lane for s, lane in lanes.items() if isinstance(lane, str)}
    return out if all(s.isdigit() for s in out) else {}


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)



def _tallies(votes: Iterable[VoteRecord], key_of: Mapping[int, str]) -> dict[str, dict[int, Tally]]:
    counts: dict[str, dict[int, list[int]]] = {}
    slot = {"agree": 0, "acceptable": 1, "disagree": 2, "pass": 3}
    for v in votes:
        key = key_of.get(v.participant, "")
        row = counts.setdefault(key, {}).setdefault(v.statement, [0, 0, 0, 0])
        row[slot[v.value]] += 1
    return {k: {s: Tally(*c) for s, c in by_s.items()} for k, by_s in counts.items()}


def _lane_statements(statements: Sequence[StatementInfo], lane: str) -> tuple[LaneStatement, ...]:
    """Disputed statements, most divided first; rejected ones, least accepted first (both ranked on
    smoothed shares so a verdict resting on more votes comes first; the shares shown are raw)."""
    out: list[tuple[float, LaneStatement]] = []
    for s in statements:
        if s.lane != lane:
            continue
        accepted = [_accepted(lean) for lean in s.by_group if lean.tally.seen]
        smoothed = {lean.name: _smoothed(lean.tally.agree + lean.tally.acceptable, lean.tally.seen)
                    for lean in s.by_group if lean.tally.seen}
        if accepted:
            most = max(accepted, key=lambda x: (x.share, x.count))
            least = min(accepted, key=lambda x: (x.share, -x.count))
            spread = most.share - least.share
            key = -(max(smoothed.values()) - min(smoothed.values())) if lane == "disputed" else \
                _smoothed(s.tally.agree + s.tally.acceptable, s.tally.seen)
        else:
            most = least = _share("", 0, 0)
            spread, key = 0.0, 0.0
        shown = tuple((_accepted if lane == "disputed" else _disagreed)(lean) for lean in s.by_group)
        out.append((key, LaneStatement(s.id, s.text, spread, most.name, least.name, shown, s.by_group)))
    out.sort(key=lambda kv: (kv[0], kv[1].statement))
    return tuple(item for _, item in out)


def _follow_up(meeting: Meeting, statement: int) -> FollowUpInfo | None:
    follow_up = meeting.follow_ups.get(statement)
    if follow_up is None:
        return None
    return FollowUpInfo(follow_up.status, follow_up.response, follow_up.at)


def _log_entry(entry: Mapping[str, Any]) -> LogEntry:
    statement = entry.get("statement")
    changes = entry.get("changes", {})
    return LogEntry(float(entry.get("at", 0.0)), str(entry.get("action", "")),
                    None if statement is None else int(statement), str(entry.get("reason", "")),
                    str(entry.get("from", "")), str(entry.get("to", "")),
                    dict(changes) if isinstance(changes, Mapping) else {},
                    int(entry["check"]) if "check" in entry else None,
                    tuple(int(x) for x in entry.get("sources", ())), tuple(int(x) for x in entry.get("targets", ())))
