"""`facilitation import-polis PATH [--store URL]`: a meeting from a Pol.is export folder.

The meeting is built through the pure core, as if it had happened live: ``Meeting.create``, then
``SetPhase``, ``PostStatement``, ``Join``, ``Vote`` and ``Moderate`` applied with the files' real
timestamps, and the resulting events stored. Choices (see docs/export.md):

- Statements are imported as host seeds, in comment-id order: the core makes an author agree with what
  they write, but Pol.is files do not always hold that vote, so importing them as the authors' posts
  would add votes. Seeds add none, so the imported votes equal the file's latest votes exactly. The
  Pol.is author id is not kept.
- Participants are the voters, joined in voter-id order at the conversation's start (Pol.is exports do
  not say when someone arrived). Commenters who never voted are not imported.
- **Original ids are kept**: the meeting numbers participants and statements 0, 1, 2, ... itself, so the
  Pol.is ids are recorded in the log: each statement's ``op`` is ``polis-<comment-id>``, and each voter's
  ``token_hash`` is ``polis-voter:<voter-id>`` (:data:`facilitation.export.polis.VOTER_TOKEN_PREFIX`).
  That value is not a SHA-256 hex digest, so no token can sign in as an imported voter. ``export
  --format polis`` writes these ids back, so an export of an imported meeting analyses exactly like the
  original, member by member.
- Only the latest vote per (voter, comment) is imported (Pol.is's rule), in time order.
- ``moderated`` -1 becomes a rejection (reason "moderated out in Pol.is") applied after the votes,
  since votes can only be cast on accepted statements; 0 (unmoderated, shown by Pol.is) and 1 are
  accepted. The meeting ends in the ``reviewing`` phase.
- ``votes.csv``'s ``important`` column (0/1 per vote, as Pol.is writes it when importance is on, and as
  ``export --format polis`` writes it when anyone marked something) becomes "this matters to me" on the
  latest vote of each pair (``MarkImportant`` right after that vote).
- A ``facilitation.json`` sidecar (written by ``export --format polis``) restores settings, phase,
  roles, "acceptable" votes, hidden statements, reasons and follow-ups.
- Texts are whitespace-normalised like every statement; a leading ``'`` added against CSV formula
  injection is removed; a duplicate text gets its comment id appended.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clustering.polis_io import PolisExportError, read_rows
from facilitation.core.codes import new_code
from facilitation.core.commands.importance import MarkImportant
from facilitation.core.commands.lineage import KINDS as LINEAGE_KINDS
from facilitation.core.commands.lineage import LineageRecorded
from facilitation.core.events import Event
from facilitation.core.meeting import (
    LANGUAGES,
    CommandRefused,
    Join,
    Meeting,
    MeetingSettings,
    Moderate,
    ModerationMode,
    PostStatement,
    SetFollowUp,
    SetPhase,
    Vote,
    hash_secret,
    normalize_text,
)
from facilitation.core.vocabulary import SCALES
from facilitation.export.polis import statement_op, voter_token
from facilitation.settings import Settings
from facilitation.storage import MeetingExists, open_store

__all__ = ["PolisFolder", "PolisImportError", "build_events", "read_folder", "run"]

MAX_TEXT = 1000
"""The core's largest statement limit; longer Pol.is comments are cut there with an ellipsis."""
REJECT_REASON = "moderated out in Pol.is"
_MODERATION_MODES = frozenset(m.value for m in ModerationMode)
APPEND_BATCH = 5000
"""Events per store append: one transaction each, so a 50,000-vote import takes ten."""
_CJK = re.compile(r"[\u3400-\u9fff]")
_NEUTRALIZED = re.compile(r"^'[=+\-@\t\r]")
_VALUES = {1: "agree", -1: "disagree", 0: "pass"}


class PolisImportError(ValueError):
    """The folder cannot be imported; says which file and why."""

    def __str__(self) -> str:
        return f"cannot import: {self.args[0]}"


@dataclass
class PolisFolder:
    """What the importer reads from an export folder."""

    name: str
    comments: list[dict[str, str]]
    votes: list[tuple[int, int, int, int]]
    """(timestamp ms, voter, comment, value): the latest per pair, in time order."""
    summary: dict[str, str] = field(default_factory=dict)
    sidecar: dict[str, Any] = field(default_factory=dict)
    important: set[tuple[int, int]] = field(default_factory=set)
    """(voter, comment) pairs whose latest vote is marked important (``votes.csv``'s ``important`` column)."""


def _int(text: str | None, what: str) -> int:
    try:
        return int(float((text or "").strip()))
    except (ValueError, OverflowError):
        raise PolisImportError(f"{what}: {text!r} is not a number") from None


def _rows(path: Path) -> list[dict[str, str]]:
    """One export CSV file's rows, read as the analysis reads them (`clustering.polis_io.read_rows`)."""
    try:
        return read_rows(path)
    except PolisExportError as exc:
        raise PolisImportError(str(exc)) from exc


def read_folder(path: str | Path) -> PolisFolder:
    folder = Path(path)
    comments_file = folder / "comments.csv"
    if not comments_file.is_file():
        raise PolisImportError(f"{folder}: no comments.csv")
    comments = _rows(comments_file)
    latest: dict[tuple[int, int], tuple[int, int, int]] = {}
    important: set[tuple[int, int]] = set()
    votes_file, wide_file = folder / "votes.csv", folder / "participants-votes.csv"
    if votes_file.is_file():
        rows = [
            (_int(r.get("timestamp"), "votes.csv timestamp"), i, _int(r.get("voter-id"), "votes.csv voter-id"),
             _int(r.get("comment-id"), "votes.csv comment-id"), _int(r.get("vote"), "votes.csv vote"),
             _flag(r.get("important")))
            for i, r in enumerate(_rows(votes_file))
        ]
        rows.sort()
        for ts, order, voter, comment, value, marked in rows:
            latest[(voter, comment)] = (ts, order, value)
            (important.add if marked else important.discard)((voter, comment))  # the latest vote's mark
        source = "votes.csv"
    elif wide_file.is_file():
        stamp = max((_int(c.get("timestamp"), "comments.csv timestamp") for c in comments), default=0)
        wide = _rows(wide_file)
        columns = [c for c in (wide[0] if wide else {}) if c.strip().lstrip("-").isdigit()]
        for order, row in enumerate(wide):
            voter = _int(row.get("participant"), "participants-votes.csv participant")
            for column in columns:
                cell = (row.get(column) or "").strip()
                if cell:
                    latest[(voter, int(column))] = (stamp, order, _int(cell, "participants-votes.csv vote"))
        source = "participants-votes.csv"
    else:
        raise PolisImportError(f"{folder}: neither votes.csv nor participants-votes.csv")
    for (_, _), (_, _, value) in latest.items():
        if value not in _VALUES:
            raise PolisImportError(f"{source}: vote value {value} is not 1, -1 or 0")
    votes = sorted(((ts, voter, comment, value) for (voter, comment), (ts, _, value) in latest.items()),
                   key=lambda v: (v[0], v[1], v[2]))
    summary: dict[str, str] = {}
    summary_file = folder / "summary.csv"
    if summary_file.is_file():
        with summary_file.open(newline="", encoding="utf-8") as f:
            for pair in csv.reader(f):
                if len(pair) >= 2:
                    summary[pair[0]] = _unneutralize(pair[1])
    sidecar: dict[str, Any] = {}
    sidecar_file = folder / "facilitation.json"
    if sidecar_file.is_file():
        try:
            sidecar = json.loads(sidecar_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise PolisImportError(f"{sidecar_file}: {exc}") from exc
    return PolisFolder(folder.resolve().name, comments, votes, summary, sidecar, important)


def _flag(text: str | None) -> bool:
    """An ``important`` cell: 1 or 0 as we and Pol.is write it (true/false accepted); empty or absent: 0."""
    cell = (text or "").strip().lower()
    if cell in ("", "0", "false"):
        return False
    if cell in ("1", "true"):
        return True
    raise PolisImportError(f"votes.csv important: {text!r} is not 1 or 0")


def _unneutralize(text: str) -> str:
    return text[1:] if _NEUTRALIZED.match(text) else text


def _settings(data: PolisFolder, longest: int) -> MeetingSettings:
    saved = data.sidecar.get("settings", {}) if isinstance(data.sidecar.get("settings"), dict) else {}
    title = normalize_text(saved.get("title") or data.summary.get("topic", "") or data.name)[:200] or data.name[:200]
    description = saved.get("description", data.summary.get("conversation-description", ""))[:4000]
    sample = title + " ".join(c.get("comment-body", "") for c in data.comments[:20])
    language = saved.get("language") or ("zh-TW" if _CJK.search(sample) else "en")
    scale = saved.get("scale", "classic")
    limit = saved.get("max_statement_chars")
    limit = limit if type(limit) is int and 10 <= limit <= MAX_TEXT else 140
    moderation = saved.get("moderation")
    return MeetingSettings(
        title=title,
        topic=str(saved.get("topic", ""))[:500],
        description=description,
        language=language if language in LANGUAGES else "en",
        scale=scale if scale in SCALES else "classic",
        roles=tuple(saved.get("roles", ())),
        moderation=ModerationMode(moderation) if moderation in _MODERATION_MODES else ModerationMode.POST,
        # a Pol.is comment may be longer than our default: the limit never cuts an imported statement
        max_statement_chars=min(MAX_TEXT, max(limit, longest)),
        ask_nickname=saved.get("ask_nickname") is True,
    )


def build_events(data: PolisFolder, code: str, host_key_hash: str) -> tuple[Meeting, list[Event]]:
    """The imported meeting and its whole event log, built through the pure core."""
    comments = sorted(data.comments, key=lambda c: _int(c.get("comment-id"), "comments.csv comment-id"))
    texts = _statement_texts(comments)
    vote_comments = {comment for _, _, comment, _ in data.votes}
    unknown = vote_comments - texts.keys()
    if unknown:
        raise PolisImportError(f"votes on comments missing from comments.csv: {sorted(unknown)[:5]}")

    stamps = [_int(c.get("timestamp"), "comments.csv timestamp") for c in comments] + [v[0] for v in data.votes]
    start = min(stamps, default=0) / 1000
    end = max(stamps, default=0) / 1000
    settings = _settings(data, max((len(t) for t in texts.values()), default=0))
    meeting, events = Meeting.create(code, settings, host_key_hash, start)

    def apply(command: Any, at: float) -> None:
        events.extend(meeting.apply(command, at).events)

    apply(SetPhase("collecting"), start)
    roles = data.sidecar.get("roles", {}) if isinstance(data.sidecar.get("roles"), dict) else {}
    voters = sorted({voter for _, voter, _, _ in data.votes})
    participant_of: dict[int, int] = {}
    for voter in voters:
        role = str(roles.get(str(voter), ""))
        joined = meeting.apply(Join(voter_token(voter), "", role if role in settings.roles else ""), start)
        events.extend(joined.events)
        participant_of[voter] = int(joined.result["participant"])

    first_vote: dict[int, int] = {}
    for ts, _, comment, _ in data.votes:
        first_vote.setdefault(comment, ts)
    timeline: list[tuple[int, int, int, Any]] = []
    posted_at = 0
    statement_of: dict[int, int] = {}
    for index, c in enumerate(comments):
        cid = _int(c.get("comment-id"), "comments.csv comment-id")
        own = _int(c.get("timestamp"), "comments.csv timestamp")
        posted_at = max(posted_at, min(own, first_vote.get(cid, own)))
        statement_of[cid] = index  # statements are numbered in post order, which is comment-id order
        timeline.append((posted_at, 0, index, PostStatement(None, texts[cid], op=statement_op(cid))))
    post_time = {cid: timeline[statement_of[cid]][0] for cid in statement_of}
    acceptable = {(int(p), int(s)) for p, s in data.sidecar.get("acceptable", [])}
    for order, (ts, voter, comment, value) in enumerate(data.votes):
        label = _VALUES[value]
        if label == "agree" and settings.scale == "consent" and (voter, comment) in acceptable:
            label = "acceptable"
        vote = Vote(participant_of[voter], statement_of[comment], label, op="")
        timeline.append((max(ts, post_time[comment]), 1, order, (vote, ts, (voter, comment) in data.important)))
    timeline.sort(key=lambda item: (item[0], item[1], item[2]))
    for at, kind, _, command in timeline:
        if kind == 0:
            apply(command, at / 1000)
        else:
            vote, ts, marked = command
            apply(vote, ts / 1000)
            if marked:  # "this matters to me" goes with its vote, as the phone sends it right after
                apply(MarkImportant(vote.participant, vote.statement, True, op=""), ts / 1000)

    _restore_moderation(data, comments, statement_of, end, apply)
    events.extend(_restore_lineage(data, statement_of, meeting, end))
    _restore_phase_and_follow_ups(data, statement_of, end, apply)
    return meeting, events


def _statement_texts(comments: list[dict[str, str]]) -> dict[int, str]:
    """Each comment's statement text: normalised, made unique (a duplicate gets its id), cut to the limit."""
    texts: dict[int, str] = {}
    seen: set[str] = set()
    for c in comments:
        cid = _int(c.get("comment-id"), "comments.csv comment-id")
        text = normalize_text(_unneutralize(c.get("comment-body") or "")) or f"(#{cid})"
        if text in seen:
            text = f"{text} (#{cid})"
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        seen.add(text)
        texts[cid] = text
    return texts


Apply = Callable[[Any, float], None]


def _restore_moderation(data: PolisFolder, comments: list[dict[str, str]], statement_of: dict[int, int],
                        end: float, apply: Apply) -> None:
    """Rejected and hidden comments, with the reasons our sidecar kept (Pol.is's own files have none)."""
    states = data.sidecar.get("statements", {}) if isinstance(data.sidecar.get("statements"), dict) else {}
    for c in comments:
        cid = _int(c.get("comment-id"), "comments.csv comment-id")
        saved = states.get(str(cid), {}) if isinstance(states.get(str(cid)), dict) else {}
        state = saved.get("state")
        if state is None and _int(c.get("moderated") or "0", "comments.csv moderated") == -1:
            state = "rejected"
        if state in ("rejected", "hidden"):
            action = "reject" if state == "rejected" else "hide"
            # a reason the sidecar kept is restored as it was, empty included (a hide needs none);
            # Pol.is's own files have no reasons, and a rejection needs one
            reason = saved.get("reason") if isinstance(saved.get("reason"), str) else None
            if reason is None or (action == "reject" and not reason.strip()):
                reason = REJECT_REASON
            apply(Moderate(statement_of[cid], action, reason), end)


def _restore_lineage(data: PolisFolder, statement_of: dict[int, int], meeting: Meeting, end: float) -> list[Event]:
    """The rewords, splits and merges our sidecar kept. Their statements already came back from
    comments.csv (the originals hidden with their reasons by :func:`_restore_moderation`), so only the
    lineage event is folded in, not the commands that would make new statements."""
    links = data.sidecar.get("lineage", [])
    made: list[Event] = []
    for link in links if isinstance(links, list) else []:
        try:
            kind = str(link["kind"])
            sources = [statement_of[int(c)] for c in link["sources"]]
            targets = [statement_of[int(c)] for c in link["targets"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise PolisImportError(f"facilitation.json: a lineage entry names no known comment: {link!r}") from exc
        if kind not in LINEAGE_KINDS or not sources or not targets:
            raise PolisImportError(f"facilitation.json: not a lineage entry: {link!r}")
        text = "\n".join(meeting.statements[t].text for t in targets)
        event = LineageRecorded(meeting.next_seq(), end, kind, sources, targets, text)
        meeting.evolve(event)
        made.append(event)
    return made


def _restore_phase_and_follow_ups(data: PolisFolder, statement_of: dict[int, int], end: float,
                                  apply: Apply) -> None:
    """The phase the meeting had (reviewing for a Pol.is export), its follow-ups, and its close last."""
    target = str(data.sidecar.get("phase", "reviewing"))
    order_of = ["lobby", "collecting", "voting", "reviewing", "closed"]
    if target not in order_of or order_of.index(target) < 1:
        target = "reviewing"
    for phase in order_of[2: order_of.index(target) + 1]:
        if phase == "closed":
            break  # follow-ups and the close come last, below
        apply(SetPhase(phase), end)
    follow_ups = data.sidecar.get("follow_ups", {}) if isinstance(data.sidecar.get("follow_ups"), dict) else {}
    for cid_text, f in sorted(follow_ups.items(), key=lambda kv: float(kv[1].get("at", end))):
        cid = int(cid_text)
        if cid in statement_of:
            apply(SetFollowUp(statement_of[cid], str(f.get("status")), str(f.get("response", ""))),
                  float(f.get("at", end)))
    if target == "closed":
        apply(SetPhase("closed"), end)


async def store_meeting(store_url: str, data: PolisFolder) -> tuple[str, str, Meeting]:
    """Build and store the meeting under a fresh code; returns code, host key and the meeting."""
    store = open_store(store_url)
    await store.start()
    try:
        host_key = secrets.token_urlsafe(24)
        for _ in range(20):
            code = new_code()
            meeting, events = build_events(data, code, hash_secret(host_key))
            try:
                await store.create_meeting(code, events[:APPEND_BATCH])
            except MeetingExists:
                continue
            for i in range(APPEND_BATCH, len(events), APPEND_BATCH):
                await store.append(code, events[i: i + APPEND_BATCH])
            return code, host_key, meeting
        raise PolisImportError("could not allocate a meeting code")
    finally:
        await store.close()


def run(path: str, store: str | None) -> int:
    settings = Settings.from_env(store=store)
    try:
        data = read_folder(path)
        code, host_key, meeting = asyncio.run(store_meeting(settings.store_url, data))
    except (PolisImportError, CommandRefused, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from facilitation.tools.export import base_url

    base = base_url(settings)
    counters = meeting.counters
    print(f"imported {counters['participants']} participants, {len(meeting.statements)} statements, "
          f"{counters['votes']} votes", file=sys.stderr)
    print(f"code: {code}")
    print(f"host: {base}/host/{code}#key={host_key}")
    print(f"projector: {base}/projector/{code}")
    return 0
