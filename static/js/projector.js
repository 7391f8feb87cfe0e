// The projector: one screen per phase. Lobby: a join slide (big QR, code, who has joined). Collecting and
// voting: the live consensus map and lanes beside a small QR. Reviewing: the results (map, lanes with
// their raw counts). Closed: thanks, the totals and where the results stay readable. Read-only: it
// connects as `projector` and never holds a host key.

import { normalizeAnalysis, storedAnalysisPossible } from "./analysis.js";
import { showConnection, wireLanguageToggle } from "./chrome.js";
import { $, codeFromPath, displayCode, formatNumber, isLoopback, setText, show } from "./dom.js";
import { loadI18n, onLangChange, setMeetingLanguage, t } from "./i18n.js";
import { LiveClient } from "./live.js";
import { buildLanes, ConsensusMap, renderGroups, renderLanes } from "./map.js";
import { isClassic, phaseKey } from "./vocabulary.js";

const code = codeFromPath();
const FETCH_DELAY = 400;
/** Which screen each phase shows (body[data-screen], see projector.css). */
const SCREENS = { lobby: "join", collecting: "live", voting: "live", reviewing: "results", closed: "closed" };
const QR_IMAGES = ["#qr", "#slide-qr", "#closing-qr"];

const state = {
  settings: {},
  phase: "lobby",
  counters: {},
  statements: new Map(),
  analysis: null,
  run: null,
  votes: null,
};
let map = null;
let fetchTimer = null;
let laneTimer = null;
let joinHost = "";

async function boot() {
  const display = displayCode(code);
  for (const node of document.querySelectorAll(".join-code-text")) node.textContent = display;
  buildLanes($("#lanes"), "h2", { share: true });
  await loadI18n(null);
  wireLanguageToggle();
  map = new ConsensusMap($("#map"), $("#map-empty"), $("#map-summary"));
  onLangChange(() => {
    renderJoinWarning();
    renderHead();
    renderCounters();
    map.relabel();
    renderAnalysis();
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
  for (const node of document.querySelectorAll(".join-url-text")) node.textContent = `${join.host}${join.pathname}`;
  joinHost = join.hostname;
  renderJoinWarning();
  renderHead();
  renderCounters();
  new LiveClient({ code, role: "projector", onMessage: receive, onState: showConnection }).start();
}

function receive(msg) {
  switch (msg.type) {
    case "snapshot": {
      const meeting = msg.meeting || {};
      state.settings = meeting.settings || state.settings;
      state.phase = meeting.phase || state.phase;
      state.counters = meeting.counters || state.counters;
      state.statements = new Map((meeting.statements || []).map((s) => [s.id, s]));
      if (msg.analysis) applyAnalysis(msg.analysis);
      else if (storedAnalysisPossible(msg)) fetchAnalysis();
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
  switch (event.type) {
    case "statement":
      if (event.statement) state.statements.set(event.statement.id, event.statement);
      return true;
    case "statement_moderated":
      if (event.state === "accepted" && event.text !== undefined) {
        state.statements.set(event.statement, { id: event.statement, text: event.text, state: "accepted" });
      } else if (event.state !== "accepted") {
        state.statements.delete(event.statement);
      }
      return true;
    case "phase_changed":
      state.phase = event.to_phase;
      renderHead();
      renderAnalysis();
      return false;
    case "settings_changed":
      for (const name of ["title", "topic", "description"]) {
        if (event.changes && name in event.changes) state.settings = { ...state.settings, [name]: event.changes[name] };
      }
      renderHead();
      return false;
    case "analysis_published":
      if (state.run === null || event.run > state.run) scheduleFetch();
      return false;
    default:
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
}

function scheduleFetch() {
  if (fetchTimer) return;
  fetchTimer = setTimeout(fetchAnalysis, FETCH_DELAY);
}

async function fetchAnalysis() {
  fetchTimer = null;
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(code)}/analysis`);
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
  setText("#topic", state.settings.topic || "");
  setText("#phase", t(phaseKey(state.phase)));
  const screen = SCREENS[state.phase] || "live";
  document.body.dataset.screen = screen;
  setText("#join-h", t(screen === "results" ? "projector.scan_for_results" : "projector.scan_to_join"));
  if (state.settings.title) document.title = `${state.settings.title} · ${t("projector.page_title")}`;
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
  setText("#closing-totals", t("projector.closing_totals", {
    participants: formatNumber(c.participants), statements: formatNumber(c.statements), votes: formatNumber(c.votes),
  }));
}

function renderAnalysis() {
  map.update(state.analysis);
  renderGroups($("#groups"), state.analysis, statementText);
  renderLanes(document, state.analysis, state.statements, isClassic(state.settings, state.votes));
}

/** For tests and other screens: render an analysis payload as if the server had sent it. */
export function showAnalysis(payload) {
  applyAnalysis(payload);
}

boot();
