// The projector: join QR and code, live counters, the consensus map and the lanes. Read-only: it
// connects as `projector` and never holds a host key.

import { normalizeAnalysis } from "./analysis.js";
import { showConnection, wireLanguageToggle } from "./chrome.js";
import { $, codeFromPath, displayCode, formatNumber, setText } from "./dom.js";
import { loadI18n, onLangChange, setMeetingLanguage, t } from "./i18n.js";
import { LiveClient } from "./live.js";
import { ConsensusMap, renderGroups, renderLanes } from "./map.js";

const code = codeFromPath();
const PHASE_KEYS = {
  lobby: "phase.lobby",
  collecting: "phase.collecting",
  voting: "phase.voting",
  reviewing: "phase.reviewing",
  closed: "phase.closed",
};
const FETCH_DELAY = 400;

const state = {
  settings: {},
  phase: "lobby",
  counters: {},
  statements: new Map(),
  analysis: null,
  run: null,
};
let map = null;
let fetchTimer = null;
let laneTimer = null;

async function boot() {
  const display = displayCode(code);
  setText("#join-code", display);
  await loadI18n(null);
  wireLanguageToggle();
  map = new ConsensusMap($("#map"), $("#map-empty"), $("#map-summary"));
  onLangChange(() => {
    renderHead();
    map.relabel();
    renderAnalysis();
  });
  const qr = $("#qr");
  qr.src = `/api/meetings/${encodeURIComponent(code)}/qr.svg`;
  qr.alt = t("projector.qr_alt", { code: display });
  const info = await fetch(`/api/meetings/${encodeURIComponent(code)}`).then((r) => (r.ok ? r.json() : null), () => null);
  if (info) {
    state.settings = info.settings;
    setMeetingLanguage(info.settings.language);
    const join = new URL((info.urls && info.urls.join) || `/m/${code}`, window.location.href);
    setText("#join-url", `${join.host}${join.pathname}`);
  }
  new LiveClient({ code, role: "projector", onMessage: receive, onState: showConnection }).start();
  fetchAnalysis();
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
  setText("#phase", t(PHASE_KEYS[state.phase] || "phase.lobby"));
  if (state.settings.title) document.title = `${state.settings.title} · ${t("projector.page_title")}`;
}

function renderCounters() {
  const c = state.counters || {};
  setText("#c-participants", formatNumber(c.participants));
  setText("#c-statements", formatNumber(c.statements));
  setText("#c-votes", formatNumber(c.votes));
}

function renderAnalysis() {
  map.update(state.analysis);
  renderGroups($("#groups"), state.analysis, statementText);
  renderLanes(document, state.analysis, state.statements);
}

/** For tests and other screens: render an analysis payload as if the server had sent it. */
export function showAnalysis(payload) {
  applyAnalysis(payload);
}

boot();
