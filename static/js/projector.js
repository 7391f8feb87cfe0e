// The projector: one screen per phase, read from the back of a room. Lobby: a join slide (big QR, code,
// who has joined). Collecting and voting: the live consensus map and lanes beside the QR. Reviewing: the
// results deck (deck.js), what every group accepts first, paged at full size, beside a QR to read them on
// a phone. Closed: the same deck beside the thanks, the totals and where the summary is published. The
// host picks a dark or a light theme (`projector_theme`) and the screen follows live. Read-only: it
// connects as `projector` and never holds a host key.

import { acceptanceOf, laneStatements, normalizeAnalysis, statementId, storedAnalysisPossible } from "./analysis.js";
import { showConnection, wireLanguageToggle } from "./chrome.js";
import { AgendaView } from "./agenda.js";
import { Countdown } from "./countdown.js";
import { CheckBook, renderProjectorCheck } from "./decision.js";
import { Deck } from "./deck.js";
import { $, codeFromPath, displayCode, formatNumber, isLoopback, setText, show } from "./dom.js";
import { loadI18n, onLangChange, setMeetingLanguage, t } from "./i18n.js";
import { LiveClient } from "./live.js";
import { acceptKeys, acceptanceFigure, repFigure } from "./figures.js";
import { buildLanes, ConsensusMap, renderLanes } from "./map.js";
import { ProjectorFloor } from "./floorscreen.js";
import { ProjectorRound } from "./roundscreen.js";
import { ProjectorSpotlight } from "./spotscreen.js";
import { isClassic, phaseKey, statementLabel } from "./vocabulary.js";

const code = codeFromPath();
const FETCH_DELAY = 400;
/** Which screen each phase shows (body[data-screen], see projector.css). */
const SCREENS = { lobby: "join", collecting: "live", voting: "live", reviewing: "results", closed: "closed" };
const QR_IMAGES = ["#qr", "#slide-qr", "#closing-qr"];
/** Screens that show the results deck (and turn its pages). */
const DECK_SCREENS = new Set(["results", "closed"]);
const THEMES = new Set(["dark", "light"]);
const LANE_TITLES = { acceptable: "lane.acceptable", disputed: "lane.disputed", needs_votes: "lane.needs_votes" };
/** Keys of a presenter's clicker (PageDown/PageUp) and a keyboard that turn the deck's pages. */
const NEXT_KEYS = new Set(["PageDown", "ArrowRight", "ArrowDown", " "]);
const PREVIOUS_KEYS = new Set(["PageUp", "ArrowLeft", "ArrowUp"]);

const state = {
  settings: {},
  phase: "lobby",
  counters: {},
  statements: new Map(),
  analysis: null,
  run: null,
  votes: null,
};
const book = new CheckBook();
let map = null;
let deck = null;
let fetchTimer = null;
let laneTimer = null;
let joinHost = "";
const floor = new ProjectorFloor(() => ({ analysis: state.analysis }));
/** What the host chose the room sees (`screen`): "auto" lets the phase choose. */
let chosen = { view: "auto", group: "" };
const CHOSEN_SCREENS = { join: "join", live: "live", map: "map", lanes: "lanes", results: "results", group: "results" };
const round = new ProjectorRound(() => ({ statements: state.statements, analysis: state.analysis }));
const spotlight = new ProjectorSpotlight(() => ({ statements: state.statements, analysis: state.analysis, votes: state.votes }));
let countdown = null;
const agenda = new AgendaView({ onChange: () => { if (deck) { renderHead(); renderAnalysis(); } } });

async function boot() {
  const display = displayCode(code);
  for (const node of document.querySelectorAll(".join-code-text")) node.textContent = display;
  buildLanes($("#lanes"), "h2", { share: true });
  deck = new Deck($("#deck-pages"));
  countdown = new Countdown($("#timer"));
  await loadI18n(null);
  wireLanguageToggle();
  map = new ConsensusMap($("#map"), $("#map-empty"), $("#map-summary"));
  document.addEventListener("keydown", turnPages);
  document.addEventListener("pointermove", revealControls);
  onLangChange(() => {
    countdown.render();
    renderJoinWarning();
    renderHead();
    renderCounters();
    map.relabel();
    renderAnalysis();
    spotlight.render();
    round.render();
  });
  const info = await fetch(`/api/meetings/${encodeURIComponent(code)}`).then((r) => (r.ok ? r.json() : null), () => null);
  if (!info) {
    // An unknown code: say so instead of "connecting..." forever.
    document.body.dataset.screen = "missing";
    setText("#fatal", t("error.unknown_meeting"));
    show("#fatal", true);
    showConnection("failed");
    return;
  }
  state.settings = info.settings;
  state.phase = info.phase || state.phase;
  state.counters = info.counters || state.counters;
  state.votes = info.votes;
  setMeetingLanguage(info.settings.language);
  for (const selector of QR_IMAGES) {
    $(selector).src = `/api/meetings/${encodeURIComponent(code)}/qr.svg`;
    $(selector).alt = t("projector.qr_alt", { code: display });
  }
  const join = new URL((info.urls && info.urls.join) || `/m/${code}`, window.location.href);
  for (const node of document.querySelectorAll(".join-url-text")) writeUrl(node, `${join.host}${join.pathname}`);
  joinHost = join.hostname;
  renderJoinWarning();
  renderHead();
  renderCounters();
  new LiveClient({ code, role: "projector", onMessage: receive, onState: showConnection }).start();
}

/**
 * An address the room copies by eye breaks between its parts (after "/" or ".", before ":"), never inside
 * one: in the 230 px column beside the results at 1280x720 it read "192.168.1.23:800" over "0/m/…".
 * A <wbr> adds no character: the address reads and copies unchanged.
 */
function writeUrl(node, url) {
  const parts = url.split(/(?<=[/.])|(?=:)/);
  node.replaceChildren(...parts.flatMap((part, i) => (i ? [document.createElement("wbr"), part] : [part])));
}

function receive(msg) {
  countdown.receive(msg);
  agenda.receive(msg);
  switch (msg.type) {
    case "snapshot": {
      const meeting = msg.meeting || {};
      state.settings = meeting.settings || state.settings;
      state.phase = meeting.phase || state.phase;
      state.counters = meeting.counters || state.counters;
      state.statements = new Map((meeting.statements || []).map((s) => [s.id, s]));
      book.fromSnapshot(msg);
      if (msg.analysis) applyAnalysis(msg.analysis);
      else if (storedAnalysisPossible(msg)) fetchAnalysis();
      spotlight.fromSnapshot(msg);
      round.fromSnapshot(msg);
      floor.fromSnapshot(msg);
      chosen = meeting.screen || chosen;
      renderHead();
      renderCounters();
      renderAnalysis();
      break;
    }
    case "resumed":
      if (msg.counters) state.counters = msg.counters;
      renderCounters();
      break;
    case "batch": {
      let changed = false;
      for (const event of msg.events || []) changed = applyEvent(event) || changed;
      if (msg.counters) state.counters = msg.counters;
      renderCounters();
      if (changed) scheduleLanes();
      break;
    }
    case "event":
      if (applyEvent(msg.event || {})) scheduleLanes();
      break;
    case "counters":
      state.counters = msg.counters || state.counters;
      renderCounters();
      break;
    case "analysis":
      applyAnalysis(msg);
      break;
    default:
      break;
  }
}

/** Fold one event; true when the statements shown changed. */
function applyEvent(event) {
  if (spotlight.apply(event) | round.apply(event)) renderHead();
  floor.apply(event);
  if (event.type === "screen_chosen") {
    chosen = { view: event.shown, group: event.group || "" };
    renderHead();
    renderAnalysis();
  }
  switch (event.type) {
    case "statement":
      if (event.statement) state.statements.set(event.statement.id, event.statement);
      return true;
    case "statement_moderated":
      if (event.state === "accepted" && event.text !== undefined) {
        state.statements.set(event.statement, { id: event.statement, text: event.text, state: "accepted" });
      } else if (event.state !== "accepted") {
        state.statements.delete(event.statement);
        if (event.state !== "pending") book.withhold(event.statement);
      }
      return true;
    case "phase_changed":
      state.phase = event.to_phase;
      renderHead();
      renderAnalysis();
      return false;
    case "settings_changed":
      for (const name of ["title", "topic", "description", "projector_theme"]) {
        if (event.changes && name in event.changes) state.settings = { ...state.settings, [name]: event.changes[name] };
      }
      renderHead();
      return false;
    case "analysis_published":
      if (state.run === null || event.run > state.run) scheduleFetch();
      return false;
    default:
      if (book.apply(event)) {
        renderHead();
        renderCheck();
      }
      return false;
  }
}

function applyAnalysis(message) {
  const analysis = normalizeAnalysis(message);
  if (!analysis) return;
  if (analysis.run !== null && state.run !== null && analysis.run < state.run) return;
  state.analysis = analysis;
  state.run = analysis.run ?? state.run;
  clearTimeout(fetchTimer);
  fetchTimer = null;
  renderAnalysis();
  spotlight.render();
  round.render();
  floor.render();
}

function scheduleFetch() {
  if (fetchTimer) return;
  fetchTimer = setTimeout(fetchAnalysis, FETCH_DELAY);
}

async function fetchAnalysis() {
  fetchTimer = null;
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(code)}/analysis?view=room`);
    if (response.ok) applyAnalysis(await response.json());
  } catch {
    // offline for a moment: the next analysis_published tries again
  }
}

function scheduleLanes() {
  if (laneTimer) return;
  laneTimer = setTimeout(() => {
    laneTimer = null;
    renderAnalysis();
  }, 250);
}

function statementText(id) {
  const statement = state.statements.get(Number(id));
  return statement ? statement.text : null;
}

function renderHead() {
  setText("#title", state.settings.title || "");
  setText("#topic", agenda.heading(state.settings));  // the current question, with an agenda
  // with an agenda the spotlight and round screens keep the question's line (spotlight.css)
  document.body.toggleAttribute("data-agenda", agenda.active);
  setText("#phase", t(phaseKey(state.phase)));
  // the spotlight and a round in collecting and voting; in reviewing the latest consent check takes the
  // deck's place (the room discusses it)
  const screen = spotlight.shown(state.phase) ? "spotlight" : CHOSEN_SCREENS[chosen.view]
    || (round.shown(state.phase) ? "round"
      : state.phase === "reviewing" && book.latest() ? "check" : SCREENS[state.phase] || "live");
  document.body.dataset.screen = screen;
  const theme = state.settings.projector_theme;
  document.body.dataset.theme = THEMES.has(theme) ? theme : "dark";
  setText("#join-h", t(screen === "results" ? "projector.scan_for_results" : "projector.scan_to_join"));
  if (state.settings.title) document.title = `${state.settings.title} · ${t("projector.page_title")}`;
  deck.setActive(DECK_SCREENS.has(screen));
}

/** The language button shows while the mouse moves over the screen, and for CONTROLS_SHOWN_MS after. */
const CONTROLS_SHOWN_MS = 3000;
let controlsTimer = null;
function revealControls() {
  document.body.classList.add("pointer-active");
  clearTimeout(controlsTimer);
  controlsTimer = setTimeout(() => document.body.classList.remove("pointer-active"), CONTROLS_SHOWN_MS);
}

/** A clicker or the keyboard turns the deck's pages (only where the deck is shown). */
function turnPages(event) {
  if (!DECK_SCREENS.has(document.body.dataset.screen) || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target instanceof HTMLButtonElement) return;
  const step = NEXT_KEYS.has(event.key) ? 1 : PREVIOUS_KEYS.has(event.key) ? -1 : 0;
  if (!step) return;
  event.preventDefault();
  deck.turn(step, true);
}

/**
 * A join address on 127.0.0.1 or localhost opens on this laptop only: the room would scan a QR code that
 * fails on every phone. The console warns the host; the projector says so beside the address as well.
 */
function renderJoinWarning() {
  const unreachable = Boolean(joinHost) && isLoopback(joinHost);
  for (const node of document.querySelectorAll(".join-warning")) {
    node.textContent = unreachable ? t("projector.loopback_warning", { host: joinHost }) : "";
    node.hidden = !unreachable;
  }
}

function renderCounters() {
  const c = state.counters || {};
  setText("#c-participants", formatNumber(c.participants));
  setText("#c-statements", formatNumber(c.statements));
  setText("#c-votes", formatNumber(c.votes));
  setText("#slide-count", t("projector.joined", { n: formatNumber(c.participants) }));
}

function renderAnalysis() {
  const classic = isClassic(state.settings, state.votes);
  map.update(state.analysis);
  renderLanes(document, state.analysis, agenda.filter(state.statements), classic);
  deck.show(deckSections(classic));
  renderCheck();
}

function renderCheck() {
  renderProjectorCheck($("#check"), book, state.analysis, statementText);
}

/**
 * The results deck's sections: what every group accepts first (the meeting's main result), then the
 * disputed statements, each opinion group's representative statements, and last what still needs votes
 * (only when there is any). The lanes are the same as on the live screen (analysis.js laneStatements).
 */
function deckSections(classic) {
  const analysis = state.analysis;
  const known = Array.from(agenda.filter(state.statements).keys()).map(String);  // the current question's
  const lanes = analysis ? laneStatements(analysis, known)
    : { acceptable: [], disputed: [], needs_votes: known.slice().sort((a, b) => Number(b) - Number(a)) };
  const item = (id, figure, figureTone) => ({ statement: String(id), label: statementLabel(id),
    text: statementText(id), figure, figureTone });
  const shown = (ids) => ids.filter((id) => statementText(id) !== null);
  const lane = (key, tone, icon, figure) => {
    const ids = shown(lanes[key] || []);
    const title = key === "acceptable" ? acceptKeys(classic).lane : LANE_TITLES[key];
    return { key, tone, icon, title: t(title), count: ids.length ? t("lane.count", { n: ids.length }) : "",
      rule: key === "acceptable" ? t(acceptKeys(classic).rule) : "", empty: t(analysis ? "lane.none" : "lane.waiting"),
      items: ids.map((id) => item(id, figure(id), tone)) };
  };
  const sections = [
    lane("acceptable", "ok", "✓", (id) => acceptanceFigure(acceptanceOf(analysis, id), classic)),
    lane("disputed", "bad", "⇄", () => ""),
  ];
  (analysis ? analysis.groups : []).forEach((group, index) => {
    const reps = group.representative.filter((rep) => statementText(statementId(rep)) !== null);
    sections.push({ key: `group-${group.id}`, tone: `g${index % 8}`, group: index, groupId: group.id,
      title: t("map.group_label", { group: group.id, size: group.size }), count: "", rule: t("projector.group_rule"),
      empty: t("lane.none"),
      items: reps.map((rep) => item(statementId(rep), repFigure(rep), rep.direction === "disagree" ? "bad" : "ok")) });
  });
  const needs = lane("needs_votes", "warn", "?", () => "");
  if (needs.items.length) sections.push(needs);
  // The host chose one opinion group's view: its page of the deck alone.
  if (chosen.view === "group") return sections.filter((section) => section.groupId === chosen.group);
  return sections;
}

/** For tests and other screens: render an analysis payload as if the server had sent it. */
export function showAnalysis(payload) {
  applyAnalysis(payload);
}

/** For tests: where the results deck is ({page, pages, section}), or null before it has pages. */
export function deckPosition() {
  return deck.position();
}

boot();
