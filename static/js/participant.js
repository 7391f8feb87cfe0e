// The participant's phone: join, vote one statement at a time, change votes, write statements, see
// results. Votes and posts go through the LiveClient's persistent queue, so a tunnel or a reload never
// loses or doubles them; a statement being written is kept on the phone until it is sent (draft.js). A
// first-time phone tries the buttons on a practice card that sends nothing (practice.js). Someone who opens the link after the meeting (reviewing or closed) without
// having joined reads the results as a viewer (a read-only `projector` connection) instead of joining.

import { groupOf, normalizeAnalysis, statementId, storedAnalysisPossible } from "./analysis.js";
import { showConnection, wireLanguageToggle } from "./chrome.js";
import { $, codeFromPath, displayCode, el, setText, show } from "./dom.js";
import { AgendaView } from "./agenda.js";
import { Draft } from "./draft.js";
import { TypingSignal } from "./typing.js";
import { acceptanceFigure, nameAcceptable, repFigure } from "./figures.js";
import { has, loadI18n, onLangChange, setMeetingLanguage, t } from "./i18n.js";
import { LiveClient } from "./live.js";
import { hasNotice, renderNotice } from "./notice.js";

import { PRACTICE_FEEDBACK, Practice } from "./practice.js";
import { keys, safeGet, safeGetJSON, safeSet, safeSetJSON } from "./store.js";
import { PHASES, VOTE_ICONS, isClassic, phaseKey, stateKey, statementLabel, voteKey } from "./vocabulary.js";

const code = codeFromPath();
const PHASE_NOTES = {
  lobby: "phase_note.lobby",
  reviewing: "phase_note.reviewing",
  closed: "phase_note.closed",
  voting: "phase_note.voting",
};
const ACK_WAIT = 1500;
/**
 * Votes that place a participant on the map (fewer when the meeting has fewer statements): the
 * clustering's MIN_VOTES_TO_CLUSTER (clustering/matrix.py), "fewer than 7 votes are not placed yet" in
 * docs/protocol.md. Past it, a phone without a group waits for other people, not for its own votes.
 */
const PLACED_AFTER = 7;

const state = {
  settings: null,
  phase: "lobby",
  resultsVisible: true,
  statements: new Map(),
  votes: new Map(),
  mine: new Map(),
  current: null,
  changing: false,
  participant: null,
  analysis: null,
  mapExists: false,
  nickname: "",
  role: "",
  ready: false,
  voteTicket: 0,
  awaiting: false,
  votes_offered: [],
  viewer: false,
  aboutFolded: false,
};
let live = null;
// countdown.js: loaded once the meeting has a timer. Until then the snapshot and the timer events are kept with
// the time they arrived, and replayed into it: the clock offset is the snapshot's arrival, not the module's.
let countdown = null;
let countdownLoading = null;
let timerMessages = [];

function receiveTimer(msg) {
  if (countdown) {
    countdown.receive(msg);
    return;
  }
  const events = msg.type === "batch" ? msg.events || [] : msg.type === "event" ? [msg.event || {}] : [];
  const timed = events.some((event) => String(event.type).startsWith("timer_"));
  if (msg.type === "snapshot") timerMessages = [];
  if (msg.type === "snapshot" || timed) timerMessages.push([msg, Date.now()]);
  if (!countdownLoading && (timed || timerMessages.some(([m]) => m.type === "snapshot" && (m.meeting || {}).timer))) {
    countdownLoading = import("./countdown.js").then((m) => {
      countdown = new m.Countdown($("#timer"));
      for (const [kept, at] of timerMessages) {
        countdown.receive(kept.type === "snapshot" ? { ...kept, now: kept.now + (Date.now() - at) / 1000 } : kept);
      }
      timerMessages = [];
    }, () => {
      countdownLoading = null;  // offline: the next message tries again
    });
  }
}

// publishing.js (the link to the published record): loaded once the record is published.
let publishing = null;

function showPublished(publishedAt) {
  if (typeof publishedAt !== "number") {
    show("#published", false);
    return;
  }
  publishing = publishing || import("./publishing.js");
  publishing.then((m) => m.showPublished(code, publishedAt), () => {
    publishing = null;
  });
}

// "My data" (mydata.js) is read or erased rarely: the panel shows from here, its module loads at the first
// press on one of its buttons, or at once for the receipt link (/m/CODE#my-data).
let myData = null;
let myDataOffered = false;

function pressMyData(id) {
  myData = myData || import("./mydata.js");
  myData.then((m) => m.press(code, id, { stop: () => live.stop(), onErased: erased }), () => {
    myData = null;
    setText("#my-data-status", t("mydata.failed"));
  });
}

function offerMyData() {
  const token = safeGet(keys.token(code));
  show("#my-data", Boolean(token));
  if (!token || myDataOffered) return;
  myDataOffered = true;
  $("#my-data-link").href = `/m/${encodeURIComponent(code)}#my-data`;
  if (window.location.hash === "#my-data") {
    $("#my-data").scrollIntoView();
    pressMyData("my-data-show");
  }
}
$("#my-data").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (button) pressMyData(button.id);
});
const agenda = new AgendaView({
  onChange: (event) => {
    renderIntro();
    // the room moved on: the card in hand may be the old question's, so ask for the new question's
    if (event && event.type === "question_changed" && live) live.request("next");
  },
});
// The consent check (decision.js) is loaded only once the meeting has one: most of a meeting never
// needs it, and the phone's first load stays within its budget (tests/e2e/test_pages.py).
let book = null;
let checkCard = null;
let checkLoading = null;
let checkSnapshot = null;
const checkEvents = [];
let composing = false;
const draft = new Draft(code);
const practice = new Practice();
// spotphone.js: loaded at the first spotlight
let spotlight = null;
let spotlightLoading = null;

function withSpotlight(use) {
  spotlightLoading = spotlightLoading || import("./spotphone.js").then((m) => (spotlight = new m.PhoneSpotlight({
    takeCard: (id) => {
      const statement = state.statements.get(id);
      if (!statement || state.votes.has(id) || !votingOpen()) return false;
      Object.assign(state, { current: statement, changing: false, awaiting: false });
      render();
      return true;
    },
    changeVote,
  })));
  spotlightLoading.then((loaded) => {
    use(loaded);
    render();
  }, () => { spotlightLoading = null; });  // offline: the next snapshot or event tries again
}
// roundphone.js: loaded at the first round
let round = null;
let roundLoading = null;

function withRound(use) {
  roundLoading = roundLoading || import("./roundphone.js").then((m) => {
    m.roundBanner();
    return (round = new m.PhoneRound());
  });
  roundLoading.then((loaded) => {
    use(loaded);
    render();
  }, () => { roundLoading = null; });
}

// floorphone.js: loaded when the phone first touches the speaking queue
let floor = null;
let floorLoading = null;

function withFloor(use) {
  floorLoading = floorLoading || import("./floorphone.js").then((m) => (floor = new m.PhoneFloor(
    () => state.participant, (type) => live.send(type, {}))));
  floorLoading.then((loaded) => {
    use(loaded);
    loaded.render();
  }, () => { floorLoading = null; });
}
$("#floor-ask").addEventListener("click", () => withFloor((f) => f.toggle().then(() => f.render(), () => f.render())));

/** Whether the write box was open at the last render: reopening it says the kept draft is back. */
let writeWasOpen = null;

// ------------------------------------------------------------------ boot

async function boot() {
  setText("#code", displayCode(code));
  // A phone speaks its owner's language when the pages have it (the toggle still wins, and is remembered).
  const [info] = await Promise.all([fetchInfo(), loadI18n(null, { followBrowser: true, catalog: "phone" })]);
  wireLanguageToggle();
  onLangChange(render);
  onLangChange(() => countdown && countdown.render());
  wireWriting();
  wirePractice();
  if (!info) {
    fatal(t("error.unknown_meeting"));
    return;
  }
  state.settings = info.settings;
  state.phase = info.phase;
  state.votes_offered = Array.isArray(info.votes) ? info.votes : [];
  setMeetingLanguage(info.settings.language);
  renderIntro();
  const token = safeGet(keys.token(code));
  if (!token && (info.phase === "reviewing" || info.phase === "closed")) {
    view();
    return;
  }
  const asks = info.settings.ask_nickname || (info.settings.roles || []).length > 0;
  // With a privacy notice nothing is sent before the phone's holder has read it (and agreed, if asked).
  if (token || (!asks && !hasNotice(info.settings))) connect();
  else showJoin();
}

/** After the meeting, someone who never joined reads the results without becoming a participant. */
function view() {
  state.viewer = true;
  live = new LiveClient({
    code,
    role: "projector",
    onMessage: receive,
    onState: showConnection,
    onFatal: () => fatal(t("error.generic")),
  });
  live.start();
}

async function fetchInfo() {
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(code)}`);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

/** Whether the join form was set up (its listeners are added once). */
let joinShown = false;

function showJoin() {
  joinShown = true;
  showConnection("idle");  // nothing connects before the person joins (and, when asked, agrees)
  const settings = state.settings;
  show("#join", true);
  const notice = hasNotice(settings);
  const consentAsked = Boolean(settings.require_consent);
  show("#notice", notice);
  if (notice) {
    renderNotice($("#notice"), settings);
    onLangChange(() => { if (!$("#notice").hidden) renderNotice($("#notice"), settings); });
  }
  show("#consent-field", consentAsked);
  show("#decline", consentAsked);
  $("#decline").addEventListener("click", () => {
    show("#join", false);  // nothing was sent, nothing is kept: the page only says so
    show("#declined", true);
    $("#declined").tabIndex = -1;
    $("#declined").focus();
  });
  show("#nickname-field", settings.ask_nickname);
  const roles = settings.roles || [];
  show("#roles-field", roles.length > 0);
  const box = $("#roles");
  box.replaceChildren();
  roles.forEach((role, index) => {
    const id = `role-${index}`;
    box.append(el("div", { class: "choice" },
      el("input", { type: "radio", name: "role", id, value: role }),
      el("label", { for: id, text: role })));
  });
  $("#join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const nickname = $("#nickname").value.trim();
    const chosen = document.querySelector("input[name=role]:checked");
    const consent = $("#consent").checked;
    if (consentAsked && !consent) {
      setText("#consent-error", t("privacy.consent_needed"));
      $("#consent").focus();
      return;
    }
    safeSetJSON(keys.profile(code), { nickname, stakeholder: chosen ? chosen.value : "", consent });
    show("#join", false);
    connect();
  });
  $("#nickname").focus();
}

function connect() {
  live = new LiveClient({
    code,
    role: "participant",
    queueKey: keys.queue(code),
    hello: () => {
      const token = safeGet(keys.token(code));
      if (token) return { token };
      const profile = safeGetJSON(keys.profile(code), {});
      const hello = {};
      if (profile.nickname) hello.nickname = profile.nickname;
      if (profile.stakeholder) hello.stakeholder = profile.stakeholder;
      if (profile.consent === true) hello.consent = true;
      return hello;
    },
    onMessage: receive,
    onState: (connection) => {
      showConnection(connection);
      renderQueued();
    },
    onFatal: (error, closeCode) => {
      if (error && error.code === "consent_required" && !joinShown) {
        // a key this meeting no longer knows (erased, or another server's): a new join, through the notice
        safeSet(keys.token(code), null);
        safeSet(keys.profile(code), null);
        showConnection("connecting");
        showJoin();
        return;
      }
      const key = error && has(`error.${error.code}`) ? `error.${error.code}` : closeCode === 4004
        ? "error.unknown_meeting" : "error.generic";
      fatal(t(key));
    },
    onCommandError: (entry, error) => {
      if (entry.type === "post") {
        keepRefused(entry.fields.text);
        setText("#write-status", errorText(error));
        render();
      }
      if (entry.type === "vote") resyncVotes();
    },
  });
  // Votes queued before a reload count as cast.
  for (const entry of live.queued()) {
    if (entry.type === "vote") state.votes.set(entry.fields.statement, entry.fields.value);
  }
  live.start();
}

/** This phone erased its data (mydata.js): nothing of the meeting stays on screen. */
function erased() {
  state.erased = true;
  // every panel and control of the meeting goes (the speaking queue's button, a check's card...): only its
  // title and the page's word that the data is gone stay, and the badge says there is no connection on purpose
  for (const node of document.querySelectorAll("#main > *")) {
    if (!node.matches(".intro, #erased")) node.hidden = true;
  }
  for (const id of ["#me", "#timer"]) show(id, false);
  showConnection("idle");
}

function fatal(text) {
  setText("#fatal", text);
  show("#fatal-box", true);
  showConnection("failed");
  for (const id of ["#vote", "#write", "#history", "#results", "#join", "#phase-note"]) show(id, false);
}

// ------------------------------------------------------------------ messages

function receive(msg) {
  receiveTimer(msg);
  agenda.receive(msg);
  switch (msg.type) {
    case "welcome":
      if (state.viewer) break;
      state.participant = msg.participant;
      if (msg.token) safeSet(keys.token(code), msg.token);
      offerMyData();
      if (Array.isArray(msg.votes) && msg.votes.length) state.votes_offered = msg.votes;
      break;
    case "snapshot":
      applySnapshot(msg);
      break;
    case "resumed":
      state.ready = true;
      render();
      break;
    case "event":
      applyEvent(msg.event || {});
      break;
    case "next":
      offerCard(msg.next, false);
      render();
      break;
    case "analysis":
      state.analysis = normalizeAnalysis(msg);
      state.mapExists = true;
      maybeFetchAnalysis();
      renderResults();
      break;
    case "batch":
      for (const event of msg.events || []) applyEvent(event);
      break;
    default:
      break;
  }
}

function applySnapshot(msg) {
  const meeting = msg.meeting || {};
  showPublished((meeting.publication || {}).published_at);
  state.settings = meeting.settings || state.settings;
  state.phase = meeting.phase || state.phase;
  state.resultsVisible = meeting.results_visible !== false;
  state.statements = new Map((meeting.statements || []).map((s) => [s.id, s]));
  const queued = new Map(live.queued().filter((e) => e.type === "vote")
    .map((e) => [e.fields.statement, e.fields.value]));
  state.votes = new Map(Object.entries((msg.you && msg.you.votes) || {}).map(([id, v]) => [Number(id), v]));
  for (const [id, value] of queued) state.votes.set(id, value);
  state.mine = new Map(((msg.you && msg.you.statements) || []).map((s) => [s.id, s]));
  const f = meeting.floor;
  if (floor || (f && (f.queue.some((q) => q.participant === state.participant)
    || (f.speaking && f.speaking.participant === state.participant)))) withFloor((loaded) => loaded.fromSnapshot(msg));
  if (round || (meeting.rounds && meeting.rounds.current)) {
    withRound((loaded) => {
      loaded.fromSnapshot(msg, msg.next);
      offerCard(msg.next, false);
    });
  }
  const spot = meeting.spotlight;
  if (spotlight || (spot && spot.statement !== null && spot.statement !== undefined)) {
    withSpotlight((loaded) => loaded.fromSnapshot(msg));
  }
  state.nickname = (msg.you && msg.you.nickname) || "";
  state.role = (msg.you && msg.you.role) || "";
  checkSnapshot = msg;
  checkEvents.length = 0;
  if (book) book.fromSnapshot(msg);
  else if (((meeting.decision || {}).checks || []).length) loadChecks();
  // A reconnect's snapshot keeps the card on screen while it is still to be voted on (see offerCard).
  offerCard(msg.next, false);
  if (msg.analysis) state.analysis = normalizeAnalysis(msg.analysis);
  state.mapExists = Boolean(msg.analysis) || storedAnalysisPossible(msg);
  state.ready = true;
  renderIntro();
  render();
  maybeFetchAnalysis();
}

function applyEvent(event) {
  if (spotlight) spotlight.apply(event);
  else if (event.type === "spotlight_started") withSpotlight((loaded) => loaded.apply(event));
  if (floor) {
    if (floor.apply(event)) floor.render();
  } else if (event.type.startsWith("floor_") && event.participant === state.participant) withFloor((l) => l.apply(event));
  if (event.type === "round_opened" || event.type === "round_closed") {
    withRound((loaded) => {
      loaded.apply(event);
      if (event.type === "round_opened" && votingOpen() && cardGone()) pickNext();
    });
  }
  switch (event.type) {
    case "record_published":
      showPublished(event.at);
      break;
    case "statement":
      if (event.statement) {
        state.statements.set(event.statement.id, event.statement);
        updateMine(event.statement.id, { ...event.statement, state: "accepted" });
        if (!state.current && votingOpen()) pickNext();
      }
      break;
    case "my_statement":
      if (event.statement) state.mine.set(event.statement.id, event.statement);
      break;
    case "statement_moderated": {
      const id = event.statement;
      if (event.state === "accepted" && event.text !== undefined) {
        const known = state.statements.get(id) || state.mine.get(id) || { id, seed: false };
        state.statements.set(id, { ...known, text: event.text, state: "accepted" });
        if (!state.current && votingOpen()) pickNext();
      } else if (event.state !== "accepted") {
        state.statements.delete(id);
        if (state.current && state.current.id === id) {
          state.changing = false;
          pickNext();
        }
      }
      if (state.mine.has(id)) setText("#write-status", "");
      updateMine(id, { state: event.state, reason: event.reason || "" });
      break;
    }
    case "vote":
      if (event.participant === state.participant) state.votes.set(event.statement, event.value);
      break;
    case "phase_changed":
      if (state.viewer && event.to_phase !== "reviewing" && event.to_phase !== "closed") {
        window.location.reload();  // the meeting was reopened: join it like everyone else
        return;
      }
      state.phase = event.to_phase;
      notePhaseChange(event.from_phase, event.to_phase);
      if (votingOpen() && !state.current) pickNext();
      maybeFetchAnalysis();
      break;
    case "settings_changed": {
      const changes = event.changes || {};
      if ("results_visible" in changes) state.resultsVisible = Boolean(changes.results_visible);
      for (const name of ["title", "topic", "description"]) {
        if (name in changes) state.settings = { ...state.settings, [name]: changes[name] };
      }
      renderIntro();
      maybeFetchAnalysis();
      break;
    }
    default:
      if (String(event.type).startsWith("check_")) {
        if (book) book.apply(event);
        else {
          checkEvents.push(event);
          loadChecks();
        }
      }
      break;
  }
  render();
}

function loadChecks() {
  if (checkLoading) return;
  checkLoading = import("./decision.js").then((module) => {
    book = new module.CheckBook({ counts: false });
    if (checkSnapshot) book.fromSnapshot(checkSnapshot);
    for (const event of checkEvents.splice(0)) book.apply(event);
    checkCard = new module.CheckCard($("#check-card"), { book, send: (type, fields) => live.send(type, fields), errorText });
    render();
  }, () => { checkLoading = null; });
}

/** Tell the phone when the host went back a phase or reopened the meeting: nothing happens silently. */
function notePhaseChange(from, to) {
  const back = PHASES.indexOf(to) < PHASES.indexOf(from);
  if (!back) {
    show("#phase-change", false);
    return;
  }
  const key = from === "closed" ? "phase_change.reopened" : "phase_change.back";
  setText("#phase-change", t(key, { phase: t(phaseKey(to)) }));
  show("#phase-change", true);
}

function updateMine(id, changes) {
  const mine = state.mine.get(id);
  if (mine) state.mine.set(id, { ...mine, ...changes });
}

/** The server's rule (facilitation/analysis/scheduler.py results_shown): reviewing or closed, or the
 * host's results_visible switch while the meeting runs. */
function resultsShown() {
  return state.phase === "reviewing" || state.phase === "closed"
    || (state.resultsVisible && (state.phase === "collecting" || state.phase === "voting"));
}

let analysisFetch = null;
let analysisFetchedAt = 0;
const REFETCH_AFTER = 10000;

/**
 * Phones get their analysis pushed (their group, and a summary while results are shown). When results
 * are shown but the last push had no summary yet (the host just flipped the switch), read the map once.
 * Before the first map there is nothing to read: the request would only fail (and log a 404).
 */
function maybeFetchAnalysis() {
  if (!state.mapExists || !resultsShown() || analysisFetch) return;
  if (state.analysis && state.analysis.hasSummary) return;
  if (Date.now() - analysisFetchedAt < REFETCH_AFTER) return;
  analysisFetch = setTimeout(async () => {
    analysisFetchedAt = Date.now();
    try {
      const response = await fetch(`/api/meetings/${encodeURIComponent(code)}/analysis?view=room`);
      const map = response.ok ? normalizeAnalysis(await response.json()) : null;
      if (map && !(state.analysis && state.analysis.hasSummary)) {
        map.myGroup = groupOf(state.analysis, state.participant) ?? groupOf(map, state.participant);
        state.analysis = map;
      }
    } catch {
      // offline: the next pushed analysis brings the summary
    } finally {
      analysisFetch = null;
      renderResults();
    }
  }, 300);
}

// ------------------------------------------------------------------ voting

function votingOpen() {
  return !state.viewer && (state.phase === "collecting" || state.phase === "voting");
}

/**
 * Whether the phone has no card worth keeping: none, or one hidden or voted on meanwhile. A card the
 * person can read is never swapped for another under their finger (a tap just then would vote on a
 * statement they did not read); only a phone without one takes the server's choice.
 */
function cardGone() {
  const card = state.current;
  if (!card) return true;
  if (state.changing) return !state.statements.has(card.id);
  return !state.statements.has(card.id) || state.votes.has(card.id);
}

let cardTimer = null;

/** Wait `delay` ms for the server's choice of the next card (an ack or a `next`), then take the local one. */
function awaitCard(delay) {
  state.awaiting = true;
  clearTimeout(cardTimer);
  cardTimer = setTimeout(() => {
    cardTimer = null;
    offerCard(null, true);
    render();
  }, delay);
}

/**
 * The server's (or, with `local`, this phone's) choice of the next card. It becomes the card only when the
 * phone shows none: after the fallback card appeared, a late ack's `next` must not replace it.
 */
function offerCard(next, local) {
  state.awaiting = false;
  clearTimeout(cardTimer);
  cardTimer = null;
  if (!cardGone()) return;
  state.changing = false;
  if (next && !state.votes.has(next.id)) state.current = next;
  else if (next && round && round.due(next.id)) Object.assign(state, { current: next, changing: true });
  else state.current = next || local ? localNext() : null;
}

/** The oldest accepted statement this phone has not voted on: used while offline or waiting. */
function localNext() {
  const ids = Array.from(state.statements.keys()).sort((a, b) => a - b);
  const id = ids.find((sid) => !state.votes.has(sid));
  return id === undefined ? null : state.statements.get(id);
}

function pickNext() {
  if (cardGone()) state.current = null;
  if (live && live.ready) {
    awaitCard(ACK_WAIT);
    live.request("next");
  } else {
    offerCard(null, true);
  }
}

/**
 * Vote `value` on `statement`: the card whose text was on screen when its buttons were drawn (renderCard
 * binds each button to it), never whatever `state.current` has become since.
 */
function vote(value, statement) {
  if (!statement || !votingOpen() || !live || !state.statements.has(statement.id)) return;
  if (spotlight && !spotlight.tapAllowed(statement.id)) return;
  if (round) round.voted(statement.id);
  state.votes.set(statement.id, value);
  state.changing = false;
  state.current = null;
  const ticket = ++state.voteTicket;
  awaitCard(live.ready ? ACK_WAIT : 0);
  // "this matters to me" goes with the vote: sent right after it (the server needs the vote first)
  const important = $("#important");
  const marked = important && important.checked;
  if (important) important.checked = false;
  live.send("vote", { statement: statement.id, value }, { persist: true }).then((ack) => {
    if (marked) live.send("important", { statement: statement.id, important: true }, { persist: true }).catch(() => {});
    if (ticket !== state.voteTicket) return;  // a later vote waits for its own ack
    offerCard(ack.next, true);
    render();
  }, (error) => {
    if (ticket === state.voteTicket) offerCard(null, true);
    resyncVotes();
    setText("#queued", errorText(error));
    show("#queued", true);
    render();
  });
  render();
  renderQueued();
}

/** A vote was refused: ask for a fresh snapshot-equivalent view by reconnecting the next statement. */
function resyncVotes() {
  if (live && live.ready) live.request("next");
}

function changeVote(id) {
  const statement = state.statements.get(id);
  if (!statement || !votingOpen()) return;
  state.current = statement;
  state.changing = true;
  render();
  $("#card").scrollIntoView({ behavior: "smooth", block: "center" });
  const first = $("#vote-buttons button");
  if (first) first.focus({ preventScroll: true });
}

// ------------------------------------------------------------------ writing

function normalized(text) {
  return text.normalize("NFC").trim().replace(/\s+/g, " ");
}

const typing = new TypingSignal((active) => live && live.request("typing", { active }));

function wireWriting() {
  const area = $("#write-text");
  area.value = draft.text;  // kept from before a reload or a phase change
  area.addEventListener("input", () => {
    draft.save(area.value);
    renderCounter();
    typing.update(area.value, state.phase === "collecting");
  });
  $("#draft-discard").addEventListener("click", () => {
    draft.clear();
    typing.stop();
    area.value = "";
    render();
  });
  area.addEventListener("compositionstart", () => {
    composing = true;
  });
  area.addEventListener("compositionend", () => {
    // Some browsers fire the Enter keydown that ends a composition after compositionend.
    setTimeout(() => {
      composing = false;
    }, 0);
  });
  area.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey) return;
    if (event.isComposing || composing || event.keyCode === 229) return;
    event.preventDefault();
    submitStatement();
  });
  $("#write-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitStatement();
  });
}

function limit() {
  return (state.settings && state.settings.max_statement_chars) || 140;
}

function renderCounter() {
  const length = Array.from(normalized($("#write-text").value)).length;
  const counter = $("#write-count");
  counter.textContent = t("write.count", { n: length, max: limit() });
  counter.classList.toggle("over", length > limit());
  $("#write-submit").disabled = length === 0 || length > limit();
  // Red figures alone do not say what to do: name the limit while the text is over it.
  setText("#write-too-long", length > limit() ? t("write.too_long", { max: limit() }) : "");
  show("#write-too-long", length > limit());
}

function submitStatement() {
  const area = $("#write-text");
  const text = normalized(area.value);
  if (!text || Array.from(text).length > limit() || !live) return;
  setText("#write-status", live.ready ? t("write.sending") : t("write.queued_offline"));
  // From here the text is in the command queue (kept across reloads until acknowledged); a refusal puts
  // it back in the draft (below, and onCommandError after a reload).
  draft.clear();
  typing.stop();
  live.send("post", { text }, { persist: true }).then((ack) => {
    const result = ack.result || {};
    state.mine.set(result.statement, { ...(state.mine.get(result.statement) || {}), id: result.statement, text,
      state: result.state });
    setText("#write-status", result.state === "pending" ? t("write.pending") : t("write.accepted"));
    if (normalized(area.value) === text) {
      area.value = "";
      draft.clear();
    }
    renderCounter();
    render();
  }, (error) => {
    keepRefused(text);
    setText("#write-status", errorText(error));
    renderCounter();
    render();
  });
}

/**
 * A post the server refused (the phase moved on while it was on its way, a duplicate, too long...): its
 * text goes back into the draft, before whatever the person has started writing meanwhile.
 */
function keepRefused(text) {
  const area = $("#write-text");
  const typed = area.value.trim() && normalized(area.value) !== text ? `\n${area.value}` : "";
  area.value = `${text}${typed}`;
  draft.save(area.value);
}

function errorText(error) {
  if (!error) return t("error.generic");
  return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
}

// ------------------------------------------------------------------ rendering

function renderIntro() {
  const settings = state.settings || {};
  setText("#title", settings.title || "");
  const topic = agenda.heading(settings);  // the current question, with an agenda
  setText("#topic", topic);
  setText("#description", settings.description || "");
  show("#topic", Boolean(topic));
  show("#about", Boolean(settings.description));
  if (settings.title) document.title = `${settings.title} · ${t("participant.page_title")}`;
  const who = [state.nickname, state.role].filter(Boolean).join(" · ");
  setText("#me", who ? t("participant.you_are", { who }) : "");
  show("#me", Boolean(who));
}

function render() {
  if (!state.ready || state.erased) return;
  const open = votingOpen();
  // The description is read before joining; while voting it would push the card and its buttons below
  // the fold of a small phone, so it folds once (a tap on its summary opens it again, and stays open).
  if (open && !state.aboutFolded) {
    state.aboutFolded = true;
    $("#about").open = false;
  }
  show("#vote", open);
  renderWriting();
  show("#history", open && votedShown() > 0);
  const noteKey = PHASE_NOTES[state.phase];
  show("#phase-note", Boolean(noteKey));
  if (noteKey) setText("#phase-note", t(noteKey));
  renderCard();
  if (spotlight) spotlight.render(state.statements, state.votes, open);
  if (round) round.render(open);
  show("#floor", !state.viewer && state.phase !== "closed");
  renderHistory();
  renderMine();
  renderResults();
  renderQueued();
  renderCounter();
  renderCheck();
}

function renderCheck() {
  if (!checkCard || state.viewer || state.participant === null || state.participant === undefined) {
    show("#check-card", false);
    return;
  }
  checkCard.render();
}

/**
 * Votes on statements still shown: a vote on one the host has since hidden stays on record but no longer
 * counts here, so "left + voted" is the number of statements the phone offers (as in the history list).
 */
function votedShown() {
  return Array.from(state.votes.keys()).filter((id) => state.statements.has(id)).length;
}

/**
 * The author's own agree: the server records one when someone posts (docs/protocol.md, the author's own
 * vote). It is "你提出的", not a tap: never shown as 贊成 and never counted under 已表態. A different value
 * on one's own statement was a tap (the author changed their mind) and counts like any other.
 */
function ownRecord(id) {
  return state.mine.has(id) && state.votes.get(id) === "agree";
}

/** The statements this phone tapped a vote on (still shown): what 已表態 counts. */
function taps() {
  return Array.from(state.votes.keys()).filter((id) => state.statements.has(id) && !ownRecord(id)).length;
}

/** The practice card stands in for the first real card while it is due (practice.js). */
function practising() {
  return votingOpen() && !state.changing && practice.due(taps()) && (Boolean(state.current) || state.awaiting);
}

/**
 * The write box while posting is open; otherwise, when something unsent is kept, that text with a word
 * that it waits on this phone for posting to open again (and, when it does, that it is back in the box).
 */
function renderWriting() {
  const writeOpen = state.phase === "collecting" && !state.viewer;
  show("#write", writeOpen);
  const kept = !writeOpen && !state.viewer && draft.present;
  show("#draft-kept", kept);
  setText("#draft-text", kept ? draft.text : "");
  if (writeOpen && writeWasOpen === false && draft.present) {
    $("#write-text").value = draft.text;
    setText("#write-status", t("draft.restored"));
  }
  writeWasOpen = writeOpen;
}

function renderCard() {
  const practisingNow = practising();
  const statement = practisingNow ? null : state.current;
  const remaining = Array.from(state.statements.keys()).filter((id) => !state.votes.has(id)).length;
  setText("#progress", t("vote.progress", { left: remaining, done: taps() }));
  // Between a vote and the next card (the ack is on its way) statements remain: "all done" would be
  // wrong for that second, so the card stays in place with a neutral line until the next one arrives.
  const waiting = !statement && !practisingNow && state.awaiting && remaining > 0;
  const card = $("#card");
  const box = $("#vote-buttons");
  // The buttons are rebuilt below: note where keyboard focus was, to put it back on the new ones.
  const active = document.activeElement;
  const drawn = practisingNow ? "practice" : statement ? String(statement.id) : "";
  const sameCard = Boolean(drawn) && box.dataset.statement === drawn;
  const focusedValue = box.contains(active) ? (sameCard && active.dataset.value) || "" : active === card ? "" : null;
  show(card, Boolean(statement) || waiting || practisingNow);
  card.classList.toggle("card-practice", practisingNow);
  card.setAttribute("aria-busy", waiting ? "true" : "false");
  show("#done", !statement && !waiting && !practisingNow);
  show("#waiting", waiting);
  show("#statement", Boolean(statement) || practisingNow);
  show("#practice-label", practisingNow);
  show("#changing", Boolean(statement) && state.changing);
  show("#statement-number", Boolean(statement));
  setText("#statement-number", statement ? statementLabel(statement.id) : "");
  setText("#statement", practisingNow ? t("practice.statement") : statement ? statement.text : "");
  show("#acceptable-help", (Boolean(statement) || practisingNow) && state.votes_offered.includes("acceptable"));
  renderPractice(practisingNow);
  box.replaceChildren();
  box.dataset.statement = drawn;
  if (statement || practisingNow) {
    const current = practisingNow ? practice.choice : state.votes.get(statement.id);
    for (const value of state.votes_offered) {
      box.append(el("button", {
        type: "button",
        class: `vote vote-${value}`,
        dataset: { value },
        "aria-pressed": current === value ? "true" : "false",
        // bound to the statement drawn with it: a vote never lands on a card that replaced this one; a
        // practice tap only explains itself
        onclick: practisingNow ? () => practiceTap(value) : () => vote(value, statement),
      }, el("span", { class: "icon", "aria-hidden": "true", text: VOTE_ICONS[value] }),
      el("span", { class: "label", text: t(voteKey(value)) })));
    }
  }
  if (focusedValue !== null) restoreFocus(focusedValue);
}

/** Under the practice card: what the tapped choice means, then "開始表態"; "跳過練習" throughout. */
function renderPractice(practisingNow) {
  show("#practice", practisingNow);
  if (!practisingNow) return;
  const choice = practice.choice;
  setText("#practice-feedback", choice ? t(PRACTICE_FEEDBACK[choice] || "practice.try") : t("practice.try"));
  show("#practice-start", Boolean(choice));
}

function practiceTap(value) {
  practice.choose(value);
  render();
}

function wirePractice() {
  const finish = () => {
    practice.finish();
    render();
    const first = $("#vote-buttons button");
    if (first) first.focus({ preventScroll: true });
  };
  $("#practice-start").addEventListener("click", finish);
  $("#practice-skip").addEventListener("click", finish);
}

/**
 * Keep a keyboard or screen-reader user's place across a rebuild: the same button (`value`) when the card
 * is the same, else the first button of the new card, else the card (waiting) or the "all done" line.
 */
function restoreFocus(value) {
  const buttons = Array.from($("#vote-buttons").children);
  const target = (value && buttons.find((b) => b.dataset.value === value)) || buttons[0]
    || ($("#card").hidden ? $("#done") : $("#card"));
  if (target && target !== document.activeElement) target.focus({ preventScroll: true });
}

function renderHistory() {
  const list = $("#voted");
  list.replaceChildren();
  const ids = Array.from(state.votes.keys()).filter((id) => state.statements.has(id)).sort((a, b) => b - a);
  for (const id of ids) {
    const value = state.votes.get(id);
    const record = ownRecord(id)
      ? el("span", { class: "voted-value voted-own", text: t("vote.yours") })
      : el("span", { class: `voted-value vote-${value}`, text: `${VOTE_ICONS[value] || ""} ${t(voteKey(value))}` });
    list.append(el("li", {},
      el("button", { type: "button", class: "voted-item", onclick: () => changeVote(id) },
        el("span", { class: "voted-number", text: statementLabel(id) }),
        el("span", { class: "voted-text", text: state.statements.get(id).text }),
        record)));
  }
}

function renderMine() {
  const list = $("#my-statements");
  list.replaceChildren();
  const items = Array.from(state.mine.values()).sort((a, b) => b.id - a.id);
  for (const item of items) {
    const stateText = t(stateKey(item.state));
    const children = [el("span", { class: "mine-number", text: statementLabel(item.id) }),
      el("span", { class: "mine-text", text: item.text || "" }),
      el("span", { class: `badge state-${item.state}`, text: stateText })];
    if (item.state === "rejected" && item.reason) {
      children.push(el("span", { class: "mine-reason", text: t("mine.reason", { reason: item.reason }) }));
    }
    list.append(el("li", { class: "mine-item" }, ...children));
  }
  show(list, items.length > 0);
  show("#mine-heading", items.length > 0);
}

function renderResults() {
  const visible = state.ready && resultsShown();
  show("#results", visible);
  if (!visible) return;
  const final = state.phase === "reviewing" || state.phase === "closed";
  setText("#results-heading", t(final ? "results.heading_final" : "results.heading"));
  const analysis = state.analysis;
  const groupId = state.viewer ? null : groupOf(analysis, state.participant);
  const group = analysis && analysis.groups.find((g) => g.id === groupId);
  show("#my-group", !state.viewer);
  setText("#my-group", group ? t("results.your_group", { group: group.id, size: group.size }) : noGroupText());
  const thinks = $("#group-thinks");
  thinks.replaceChildren();
  for (const rep of (group ? group.representative : []).slice(0, 5)) {
    const statement = state.statements.get(Number(statementId(rep)));
    if (!statement) continue;
    thinks.append(el("li", {}, numbered(statement),
      el("span", { class: `result-share dir-${rep.direction}`, text: repFigure(rep) })));
  }
  const accepts = $("#everyone-accepts");
  nameAcceptable($("#everyone-accepts-h"), $("#everyone-accepts-rule"), isClassic(state.settings, state.votes_offered));
  accepts.replaceChildren();
  for (const entry of (analysis ? analysis.acceptableToAll : []).slice(0, 5)) {
    const statement = state.statements.get(Number(statementId(entry)));
    if (!statement) continue;
    const figure = acceptanceFigure(entry, isClassic(state.settings, state.votes_offered));
    accepts.append(el("li", {}, numbered(statement),
      figure ? el("span", { class: "result-share dir-agree", text: figure }) : null));
  }
  const disputed = $("#disputed");
  disputed.replaceChildren();
  for (const id of (analysis ? analysis.lanes.disputed || [] : []).slice(0, 5)) {
    const statement = state.statements.get(Number(id));
    if (statement) disputed.append(el("li", {}, numbered(statement)));
  }
  // The phone's summary lists at most five statements a lane; its lane_counts say how many there are.
  sayMore("#everyone-accepts-more", accepts.children.length,
    laneTotal(analysis, "acceptable", analysis ? Math.max(analysis.acceptableToAll.length,
      (analysis.lanes.acceptable || []).length) : 0));
  sayMore("#disputed-more", disputed.children.length,
    laneTotal(analysis, "disputed", analysis ? (analysis.lanes.disputed || []).length : 0));
  show("#group-thinks-h", thinks.children.length > 0);
  show("#accepts-block", accepts.children.length > 0);
  show("#disputed-h", disputed.children.length > 0);
  show("#results-empty", !thinks.children.length && !accepts.children.length && !disputed.children.length);
}

/** A statement in a results list: "#3" and its text, the number the projector shows for it too. */
function numbered(statement) {
  return el("span", { class: "result-text" }, el("span", { class: "result-number", text: statementLabel(statement.id) }),
    " ", statement.text);
}

/** How many statements a lane holds: the summary's `lane_counts`, else the statements it lists. */
function laneTotal(analysis, lane, listed) {
  const count = analysis ? Number(analysis.laneCounts[lane]) : NaN;
  return Number.isInteger(count) ? Math.max(count, listed) : listed;
}

/** "還有 N 則" under a list that shows `shown` of a lane's `total` statements; hidden when all are listed. */
function sayMore(selector, shown, total) {
  const more = shown > 0 && total > shown;
  setText(selector, more ? t("lane.more", { n: total - shown }) : "");
  show(selector, more);
}

/**
 * Why the phone has no group yet: too few votes of its own ("vote on a few more"), or, once it has voted
 * enough to be placed, too few people for groups to form, where voting more would not help.
 */
function noGroupText() {
  const enough = Math.min(PLACED_AFTER, state.statements.size);
  return t(enough > 0 && votedShown() >= enough ? "results.no_group_yet" : "results.no_group");
}

function renderQueued() {
  if (!live) return;
  const waiting = live.queued().filter((e) => e.type === "vote").length;
  const shown = waiting > 0 && !live.ready;
  show("#queued", shown);
  if (shown) setText("#queued", t("vote.queued", { n: waiting }));
}

boot();
