// The host console, the facilitator's cockpit: the moderation queue first, the live map and lanes beside
// the phase and analysis controls, the people in the room by nickname and role, exports. The host key
// comes from the URL fragment (never sent to the server in a URL), is kept in localStorage for this
// meeting and removed from the visible address at once; the console shows the host link (with the key)
// so the host can open the console on a second device or hand it to a co-host.

import { normalizeAnalysis } from "./analysis.js";
import { showConnection, wireLanguageToggle } from "./chrome.js";
import { CheckBook, CheckPanel, renderNeeds } from "./decision.js";
import { $, codeFromPath, displayCode, el, formatNumber, isLoopback, setStatus, setText, show } from "./dom.js";
import { has, loadI18n, onLangChange, setMeetingLanguage, t } from "./i18n.js";
import { wireDeletion } from "./deletion.js";
import { LiveClient } from "./live.js";
import { wireMarkers } from "./markers.js";
import { renderPublishing, wirePublishing } from "./publishing.js";
import { buildLanes, ConsensusMap, renderGroups, renderLanes } from "./map.js";
import { HostFloor } from "./floorhost.js";
import { HostRound } from "./roundhost.js";
import { HostScreen } from "./screenhost.js";
import { HostSpotlight } from "./spothost.js";
import { keys, safeGet, safeSet } from "./store.js";
import { nearDuplicates, publishedRewrite, rewriteBox } from "./lineage.js";
import { HostFlags } from "./flagshost.js";
import { mountTimerPanel } from "./timerpanel.js";
import { mountAgendaPanel } from "./agenda.js";
import { PHASES, isClassic, phaseKey, stateKey, statementLabel, statementNumber, voteKey } from "./vocabulary.js";

const code = codeFromPath();
const PHASE_HELP = {
  lobby: "phase_help.lobby",
  collecting: "phase_help.collecting",
  voting: "phase_help.voting",
  reviewing: "phase_help.reviewing",
  closed: "phase_help.closed",
};
const LOG_KEYS = { accept: "log.accept", reject: "log.reject", hide: "log.hide", publish: "log.publish" };
/** How each setting change reads in the log: never the setting's internal name. */
const SETTING_LOG = {
  results_visible: (on) => t(on ? "log.results_shown" : "log.results_hidden"),
  analysis_paused: (on) => t(on ? "log.analysis_paused" : "log.analysis_resumed"),
  title: () => t("log.title_changed"),
  topic: () => t("log.topic_changed"),
  description: () => t("log.description_changed"),
  projector_theme: (theme) => t(theme === "light" ? "log.theme_light" : "log.theme_dark"),
};
const ANALYSIS_DONE = {
  pause: "host.analysis_done_pause",
  resume: "host.analysis_done_resume",
  recompute: "host.analysis_done_recompute",
};
const EXPORT_EXT = { md: "md", html: "html", pdf: "pdf", json: "json", polis: "zip" };

const state = {
  settings: {},
  phase: "lobby",
  resultsVisible: true,
  analysisPaused: false,
  analysisRun: null,
  analysisError: null,
  counters: {},
  byRole: {},
  statements: new Map(),
  log: [],
  people: new Map(),
  votes: [],
  analysis: null,
  typing: 0,
  book: new CheckBook(),
};
let checkPanel = null;
let live = null;
let hostKey = null;
let map = null;
let pendingPhase = null;
let spotlight = null;
let rounds = null;
let floor = null;
let screen = null;
let publicOrigin = window.location.origin;
let joinUrl = null;
let timerPanel = null;
let flags = null; // the voting-quality flags panel (flagshost.js), made once the live client exists
let agendaPanel = null;

function takeKey() {
  const match = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
  if (match) {
    safeSet(keys.hostKey(code), decodeURIComponent(match[1]));
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  return safeGet(keys.hostKey(code));
}

async function boot() {
  setText("#code", displayCode(code));
  hostKey = takeKey();
  buildLanes($("#lanes"), "h3");
  await loadI18n(null);
  wireLanguageToggle();
  map = new ConsensusMap($("#map"), $("#map-empty"), $("#map-summary"));
  onLangChange(() => {
    renderAll();
    renderJoinWarning();
    map.relabel();
  });
  const info = await fetch(`/api/meetings/${encodeURIComponent(code)}`).then((r) => (r.ok ? r.json() : null), () => null);
  if (!info) {
    fatal(t("error.unknown_meeting"));
    show("#home-link", true);
    showConnection("failed");
    return;
  }
  state.settings = info.settings;
  state.votes = Array.isArray(info.votes) ? info.votes : [];
  setMeetingLanguage(info.settings.language);
  joinUrl = (info.urls && info.urls.join) || `${window.location.origin}/m/${code}`;
  publicOrigin = new URL(joinUrl, window.location.href).origin;
  $("#join-link").value = joinUrl;
  renderJoinWarning();
  $("#projector-link").href = `/projector/${code}`;
  $("#qr").src = `/api/meetings/${encodeURIComponent(code)}/qr.svg`;
  $("#qr").alt = t("host.qr_alt", { code: displayCode(code) });
  wireControls();
  if (hostKey) start();
  else askKey();
}

function askKey() {
  show("#key-section", true);
  show("#console", false);
  $("#key-input").focus();
}

function start() {
  show("#key-section", false);
  wirePublishing((type, fields) => live.send(type, fields));
  wireMarkers((type, fields) => live.send(type, fields));
  wireDeletion(code, () => hostKey, () => {
    live.stop();
    safeSet(keys.hostKey(code), null);
    fatal(t("host.deleted"));
  });
  timerPanel ??= mountTimerPanel({ send: (type, fields) => live.send(type, fields), phase: () => state.phase,
    goTo: requestPhase });
  agendaPanel ??= mountAgendaPanel({ send: (type, fields) => live.send(type, fields), settings: () => state.settings });
  live = new LiveClient({
    code,
    role: "host",
    hello: () => ({ host_key: hostKey }),
    onMessage: receive,
    onState: showConnection,
    onFatal: (error, closeCode) => {
      if (closeCode === 4003 && error && error.code === "forbidden") {
        safeSet(keys.hostKey(code), null);
        hostKey = null;
        setText("#fatal", t("error.forbidden_host"));
        show("#fatal-box", true);
        askKey();
        return;
      }
      fatal(t(error && has(`error.${error.code}`) ? `error.${error.code}` : "error.generic"));
    },
  }).start();
}

function fatal(text) {
  setText("#fatal", text);
  show("#fatal-box", true);
  show("#console", false);
}

// isLoopback lives in dom.js (the projector warns too); exported here as well for existing callers.
export { isLoopback };

/**
 * A join link on a loopback address opens on this laptop but on no phone: the terminal says so when the
 * server starts, yet the host looks at this console, so the warning stands beside the link as well.
 */
function renderJoinWarning() {
  const host = joinUrl ? new URL(joinUrl, window.location.href).hostname : "";
  const unreachable = Boolean(host) && isLoopback(host);
  setText("#join-warning", unreachable ? t("host.loopback_warning", { host }) : "");
  show("#join-warning", unreachable);
}

/**
 * The link that opens this console on another device: the page plus the key in the fragment. It names
 * the same address as the join link (one phones in the room can reach), not necessarily this tab's
 * (which may be the laptop's own 127.0.0.1).
 */
function hostLink() {
  return `${publicOrigin}/host/${code}#key=${encodeURIComponent(hostKey || "")}`;
}

// ------------------------------------------------------------------ messages

function receive(msg) {
  timerPanel.receive(msg);
  agendaPanel.receive(msg);
  if (flagsPanel().receive(msg) && msg.type === "quality_flags") flagsPanel().render();
  switch (msg.type) {
    case "snapshot": {
      const meeting = msg.meeting || {};
      state.settings = meeting.settings || state.settings;
      state.phase = meeting.phase;
      state.resultsVisible = meeting.results_visible !== false;
      state.analysisPaused = Boolean(meeting.analysis_paused);
      state.analysisError = msg.analysis_error || null;
      state.counters = meeting.counters || {};
      state.byRole = msg.participants_by_role || {};
      state.people = new Map((msg.participants || []).map((p) => [p.participant, p]));
      state.statements = new Map((msg.all_statements || []).map((s) => [s.id, { ...s, tally: { ...(s.tally || {}) } }]));
      state.log = meeting.moderation_log || [];
      state.publishedAt = (meeting.publication || {}).published_at ?? null;
      state.book.fromSnapshot(msg);
      if (msg.analysis && msg.analysis.run !== undefined) state.analysisRun = msg.analysis.run;
      if (msg.analysis) state.analysis = normalizeAnalysis(msg.analysis);
      if (msg.analysis) state.needs = msg.analysis.needs || [];
      spotlightPanel().fromSnapshot(msg);
      roundPanel().fromSnapshot(msg);
      floorPanel().fromSnapshot(msg);
      screenPanel().fromSnapshot(msg);
      show("#console", true);
      show("#fatal-box", false);
      $("#host-link").value = hostLink();
      renderAll();
      break;
    }
    case "welcome": {
      if (Array.isArray(msg.votes) && msg.votes.length) state.votes = msg.votes;
      break;
    }
    case "typing":
      state.typing = Number.isInteger(msg.count) && msg.count > 0 ? msg.count : 0;
      renderTyping();
      break;
    case "batch":
      for (const event of msg.events || []) applyEvent(event);
      if (msg.counters) state.counters = msg.counters;
      renderAll();
      break;
    case "resumed":
      if (msg.counters) state.counters = msg.counters;
      renderAll();
      break;
    case "event":
      applyEvent(msg.event || {});
      renderAll();
      break;
    case "analysis":
      if (msg.run !== undefined) state.analysisRun = msg.run;
      state.analysis = normalizeAnalysis(msg);
      state.needs = msg.needs || [];
      renderAll();
      break;
    case "analysis_error":
      state.analysisError = msg.error ? msg.error.message || msg.error.code : null;
      renderAll();
      break;
    default:
      break;
  }
}

function applyEvent(event) {
  flagsPanel().apply(event);
  spotlightPanel().apply(event);
  roundPanel().apply(event);
  floorPanel().apply(event);
  screenPanel().apply(event);
  switch (event.type) {
    case "record_published":
      state.publishedAt = event.at;
      state.log.push({ seq: event.seq, at: event.at, action: "publish" });
      break;
    case "statement_posted":
      state.statements.set(event.statement, {
        id: event.statement, text: event.text, author: event.author, seed: event.seed, state: event.state,
        reason: "", tally: {},
      });
      break;
    case "statement_moderated": {
      const statement = state.statements.get(event.statement);
      if (statement) Object.assign(statement, { state: event.state, reason: event.reason || "" });
      state.log.push({ seq: event.seq, at: event.at, action: event.action, statement: event.statement, reason: event.reason });
      break;
    }
    case "vote": {
      const statement = state.statements.get(event.statement);
      if (!statement) break;
      // The event names the vote it replaces, so a changed vote moves between values exactly.
      const previous = event.previous;
      if (previous) statement.tally[previous] = Math.max(0, (statement.tally[previous] || 0) - 1);
      statement.tally[event.value] = (statement.tally[event.value] || 0) + 1;
      break;
    }
    case "participant_joined":
      state.byRole[event.role || ""] = (state.byRole[event.role || ""] || 0) + 1;
      state.people.set(event.participant, { participant: event.participant, nickname: event.nickname || "", role: event.role || "" });
      break;
    case "profile_changed": {
      const before = state.people.get(event.participant);
      if (before && before.role !== (event.role || "")) {
        state.byRole[before.role] = Math.max(0, (state.byRole[before.role] || 0) - 1);
        state.byRole[event.role || ""] = (state.byRole[event.role || ""] || 0) + 1;
      }
      state.people.set(event.participant, { participant: event.participant, nickname: event.nickname || "", role: event.role || "" });
      break;
    }
    case "phase_changed":
      state.phase = event.to_phase;
      state.log.push({ seq: event.seq, at: event.at, action: "phase", from: event.from_phase, to: event.to_phase });
      break;
    case "settings_changed": {
      const changes = event.changes || {};
      if ("results_visible" in changes) state.resultsVisible = Boolean(changes.results_visible);
      if ("analysis_paused" in changes) state.analysisPaused = Boolean(changes.analysis_paused);
      for (const name of ["title", "topic", "description", "projector_theme"]) {
        if (name in changes) state.settings = { ...state.settings, [name]: changes[name] };
      }
      state.log.push({ seq: event.seq, at: event.at, action: "settings", changes });
      break;
    }
    case "analysis_published":
      state.analysisRun = event.run;
      state.analysisError = null;
      break;
    default:
      if (state.book.apply(event) && event.type !== "check_answer") {
        state.log.push({ seq: event.seq, at: event.at, action: event.type, check: event.check });
      }
      break;
  }
}

// ------------------------------------------------------------------ controls

function errorText(error) {
  if (!error) return t("error.generic");
  return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
}

function command(type, fields, statusSelector) {
  if (statusSelector) setStatus(statusSelector, "");
  return live.send(type, fields).catch((error) => {
    if (statusSelector) setStatus(statusSelector, errorText(error), "error");
    throw error;
  });
}

async function copy(input, statusSelector) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    const type = input.type;
    input.type = "text";
    input.select();
    document.execCommand("copy");
    input.type = type;
  }
  setStatus(statusSelector, t("host.copied"), "ok");
}

/** Forward moves that end something for every phone, and so are asked about first. */
const CONFIRM_FORWARD = { reviewing: "host.confirm_reviewing", closed: "host.confirm_closed" };

/**
 * Going back a phase, reopening a closed meeting, ending voting (檢視結果) or the meeting (已結束) changes
 * what every phone can do: ask first. Leaving 蒐集意見 while phones are still writing asks too, with how
 * many; other forward moves happen at once.
 */
function requestPhase(phase) {
  const back = PHASES.indexOf(phase) < PHASES.indexOf(state.phase);
  const writing = state.phase === "collecting" && state.typing > 0;
  const key = back ? (state.phase === "closed" ? "host.confirm_reopen" : "host.confirm_back")
    : CONFIRM_FORWARD[phase] || (writing ? "host.confirm_leave_collecting" : null);
  if (!key) {
    changePhase(phase);
    return;
  }
  pendingPhase = phase;
  setText("#phase-confirm-text", t(key, { from: t(phaseKey(state.phase)), to: t(phaseKey(phase)) }));
  setText("#phase-confirm-typing", writing ? t("host.typing_unsent", { n: state.typing }) : "");
  show("#phase-confirm-typing", writing);
  show("#phase-confirm", true);
  $("#phase-confirm-no").focus();
}

function changePhase(phase) {
  pendingPhase = null;
  show("#phase-confirm", false);
  command("phase", { phase }, "#phase-status").then(() => {
    // The ack says the change is durable; the event itself reaches the console in its next batch. Show
    // the new phase now, so a quick next click is judged from it (forward, or back needing confirmation).
    state.phase = phase;
    renderAll();
    setStatus("#phase-status", t("host.phase_done", { phase: t(phaseKey(phase)) }), "ok");
  }, () => {});
}

function wireControls() {
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#key-input").value.trim();
    if (!value) return;
    hostKey = value;
    safeSet(keys.hostKey(code), value);
    show("#fatal", false);
    start();
  });
  $("#copy-link").addEventListener("click", () => copy($("#join-link"), "#copy-status"));
  $("#host-link-copy").addEventListener("click", () => copy($("#host-link"), "#host-link-status"));
  $("#host-link-show").addEventListener("click", () => {
    const input = $("#host-link");
    const hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    setText("#host-link-show", t(hidden ? "host.host_link_hide" : "host.host_link_show"));
  });
  $("#host-qr-toggle").addEventListener("click", toggleHostQr);
  $("#phase-confirm-yes").addEventListener("click", () => {
    if (pendingPhase) changePhase(pendingPhase);
  });
  $("#phase-confirm-no").addEventListener("click", () => {
    pendingPhase = null;
    show("#phase-confirm", false);
  });
  for (const radio of document.querySelectorAll("input[name=projector-theme]")) {
    radio.addEventListener("change", (event) => {
      command("settings", { changes: { projector_theme: event.target.value } }, "#theme-status").catch(renderAll);
    });
  }
  $("#results-visible").addEventListener("change", (event) => {
    command("settings", { changes: { results_visible: event.target.checked } }, "#analysis-status").catch(renderAll);
  });
  for (const action of ["pause", "resume", "recompute"]) {
    $(`#analysis-${action}`).addEventListener("click", () => {
      command("analysis", { action }, "#analysis-status").then(() => {
        setStatus("#analysis-status", t(ANALYSIS_DONE[action]), "ok");
      }, () => {});
    });
  }
  $("#seed-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("#seed-input");
    const text = input.value.trim();
    if (!text) return;
    command("seed", { text }, "#seed-status").then(() => {
      input.value = "";
      setStatus("#seed-status", t("host.seed_added"), "ok");
    }, () => {});
  });
  for (const button of document.querySelectorAll("#exports button")) {
    button.addEventListener("click", () => download(button.dataset.format));
  }
}

/** Show (or hide) the host link as a QR code; fetched with the key in a header, shown as a data: URL. */
async function toggleHostQr() {
  const img = $("#host-qr");
  if (!img.hidden) {
    img.hidden = true;
    img.removeAttribute("src");
    setText("#host-qr-toggle", t("host.host_qr_show"));
    return;
  }
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(code)}/host-qr.svg`, {
      headers: { "X-Host-Key": hostKey },
    });
    if (!response.ok) throw new Error(String(response.status));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(await response.text())}`;
    img.alt = t("host.host_qr_alt");
    img.hidden = false;
    setText("#host-qr-toggle", t("host.host_qr_hide"));
  } catch {
    setStatus("#host-link-status", t("error.network"), "error");
  }
}

/** An export the server could not make: its own hint (e.g. what to install for PDF) beats a generic line. */
function exportErrorText(status, error) {
  if (status === 404 && !error) return t("host.export_unavailable");
  if (error && error.code === "unavailable" && error.message) return t("host.export_failed", { reason: error.message });
  return errorText(error);
}

async function download(format) {
  setStatus("#export-status", t("host.export_working"), "info");
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(code)}/export?format=${format}`, {
      headers: { "X-Host-Key": hostKey },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      setStatus("#export-status", exportErrorText(response.status, body.error), "error");
      return;
    }
    const blob = await response.blob();
    const disposition = response.headers.get("content-disposition") || "";
    const named = /filename="?([^";]+)"?/.exec(disposition);
    const link = el("a", { href: URL.createObjectURL(blob), download: named ? named[1] : `${code}.${EXPORT_EXT[format]}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    setStatus("#export-status", t("host.export_done"), "ok");
  } catch {
    setStatus("#export-status", t("error.network"), "error");
  }
}

function moderate(id, action, reason, errorNode) {
  const fields = { statement: id, action };
  if (reason) fields.reason = reason;
  errorNode.textContent = "";
  live.send("moderate", fields).catch((error) => {
    errorNode.textContent = errorText(error);
  });
}

// ------------------------------------------------------------------ rendering

/**
 * Where the keyboard focus is inside a statement list, as a key that survives re-rendering: the console
 * rebuilds its lists on every batch of a live meeting (many a second), and a rebuilt button would take a
 * keyboard user's focus with it, back to the top of the page.
 */
function focusKey() {
  const node = document.activeElement;
  const item = node && node !== document.body ? node.closest("li[data-statement]") : null;
  if (!item || !item.parentElement || !item.parentElement.id) return null;
  const caret = node.tagName === "INPUT" ? [node.selectionStart, node.selectionEnd] : null;
  return { node, list: item.parentElement.id, statement: item.dataset.statement, tag: node.tagName, cls: node.className, caret };
}

function restoreFocus(key) {
  if (!key || document.contains(key.node)) return;
  const item = document.querySelector(`#${key.list} > li[data-statement="${key.statement}"]`);
  const again = item && Array.from(item.querySelectorAll(key.tag)).find((n) => n.className === key.cls);
  if (again) again.focus({ preventScroll: true });
  if (again && key.caret) again.setSelectionRange(...key.caret);  // a rebuilt input keeps the host's caret
}

function renderAll() {
  const focus = focusKey();
  renderPublishing(code, state.publishedAt, state.phase);
  const settings = state.settings || {};
  setText("#title", settings.title || "");
  setText("#topic", settings.topic || "");
  if (settings.title) document.title = `${settings.title} · ${t("host.page_title")}`;
  const c = state.counters || {};
  setText("#c-participants", formatNumber(c.participants));
  setText("#c-statements", formatNumber(c.statements));
  setText("#c-votes", formatNumber(c.votes));
  setText("#c-pending", formatNumber(c.pending));
  setText("#phase-now", t("host.phase_now", { phase: t(phaseKey(state.phase)) }));
  setText("#jump-phase-now", t(phaseKey(state.phase)));  // the phone's jump bar: the phase stays in sight
  // Without declared roles everyone is "no role": saying so ("Roles: none: 5") only reads as a fault.
  const declared = (settings.roles || []).length > 0;
  const roles = Object.entries(state.byRole).filter(([role, n]) => n > 0 && (declared || role !== ""))
    .map(([role, n]) => t("host.role_count", { role: role || t("host.no_role"), n }));
  setText("#by-role", roles.length ? t("host.by_role", { list: roles.join(t("host.list_sep")) }) : "");
  renderPhases();
  renderTyping();
  renderPeople();
  flagsPanel().render();
  $("#results-visible").checked = state.resultsVisible;
  const theme = settings.projector_theme === "light" ? "light" : "dark";
  for (const radio of document.querySelectorAll("input[name=projector-theme]")) radio.checked = radio.value === theme;
  const status = [];
  status.push(t(state.analysisPaused ? "host.analysis_paused" : "host.analysis_running"));
  if (state.analysisRun !== null) status.push(t("host.analysis_run", { run: state.analysisRun }));
  // The server's message is for the operator's log, not for the facilitator: say what it means here and
  // keep the detail in the tooltip.
  if (state.analysisError) status.push(t("host.analysis_failed"));
  setText("#analysis-state", status.join(" · "));
  $("#analysis-state").title = state.analysisError || "";
  renderQueue();
  renderStatements();
  renderLog();
  renderMap();
  spotlightPanel().render();
  roundPanel().render();
  renderCheck();
  floorPanel().render();
  screenPanel().render();
  restoreFocus(focus);
}

/** The spotlight panel (spothost.js), made once the strings are loaded. */
function spotlightPanel() {
  if (!spotlight) {
    spotlight = new HostSpotlight(() => ({ statements: state.statements, votes: state.votes, phase: state.phase }),
      (type, fields) => command(type, fields));
  }
  return spotlight;
}

/** Projector control and its preview (screenhost.js). */
function screenPanel() {
  if (!screen) screen = new HostScreen(() => ({ analysis: state.analysis }), (type, fields) => command(type, fields), code);
  return screen;
}

/** The speaking queue (floorhost.js). */
function floorPanel() {
  if (!floor) {
    floor = new HostFloor(() => ({ people: state.people, analysis: state.analysis }), (type, fields) => command(type, fields));
  }
  return floor;
}

/** The rounds panel (roundhost.js). */
function roundPanel() {
  if (!rounds) {
    rounds = new HostRound(() => ({ statements: state.statements, analysis: state.analysis, phase: state.phase,
      agenda: agendaPanel ? agendaPanel.view : null }),
      (type, fields) => command(type, fields));
  }
  return rounds;
}

function renderCheck() {
  if (!checkPanel) {
    checkPanel = new CheckPanel($("#check-body"), {
      book: state.book,
      send: (type, fields) => command(type, fields),
      errorText,
    });
  }
  Object.assign(checkPanel.ctx, { phase: state.phase, analysis: state.analysis, statements: state.statements,
    roleOf: (pid) => (state.people.get(pid) || {}).role || "" });
  checkPanel.render();
}

function renderPhases() {
  // The buttons are made once and updated in place: the console re-renders on every batch of a live
  // meeting, and a replaced button takes the keyboard's focus with it.
  const box = $("#phases");
  if (box.children.length !== PHASES.length) {
    box.replaceChildren(...PHASES.map((phase) => el("button", { type: "button", onclick: () => requestPhase(phase) })));
  }
  const here = PHASES.indexOf(state.phase);
  PHASES.forEach((phase, index) => {
    const button = box.children[index];
    button.setAttribute("aria-pressed", phase === state.phase ? "true" : "false");
    button.disabled = index > here + 1 || phase === state.phase;
    button.textContent = `${index + 1}. ${t(phaseKey(phase))}`;
  });
  setText("#phase-help", t(PHASE_HELP[state.phase] || "phase_help.lobby"));
}

/** "✎ 3 支手機正在寫意見" beside the phase buttons while 蒐集意見 runs and someone is writing. */
function renderTyping() {
  const shown = state.phase === "collecting" && state.typing > 0;
  show("#typing-now", shown);
  setText("#typing-now", shown ? t("host.typing", { n: state.typing }) : "");
}

function flagsPanel() {
  if (!flags) flags = new HostFlags({ name: personName, send: (type, fields) => command(type, fields), errorText });
  return flags;
}

/** "小華 · 住戶", or "匿名 #3" for someone who gave no nickname: how the host sees a person. */
function personName(id) {
  const person = state.people.get(id);
  const name = person && person.nickname ? person.nickname : t("host.anonymous", { id });
  return person && person.role ? `${name} · ${person.role}` : name;
}

function renderPeople() {
  const list = $("#people");
  const people = Array.from(state.people.values()).sort((a, b) => a.participant - b.participant);
  setText("#people-count", formatNumber(people.length));
  show("#people-empty", people.length === 0);
  show(list, people.length > 0);  // an empty scrollable list would be an invisible stop for the Tab key
  list.replaceChildren(...people.map((p) => el("li", { dataset: { participant: p.participant } },
    el("span", { class: "person-name", text: p.nickname || t("host.anonymous", { id: p.participant }) }),
    p.role ? el("span", { class: "badge", text: p.role }) : null)));
}

function renderMap() {
  if (!map) return;
  map.update(state.analysis);
  const accepted = new Map(Array.from(state.statements.values()).filter((s) => s.state === "accepted").map((s) => [s.id, s]));
  renderGroups($("#groups"), state.analysis, (id) => {
    const statement = accepted.get(Number(id));
    return statement ? statement.text : null;
  });
  // with an agenda, the lanes of the current question (the map stays the whole meeting's: docs/meetings.md)
  const lanes = agendaPanel ? agendaPanel.view.filter(accepted) : accepted;
  renderLanes(document, state.analysis, lanes, isClassic(state.settings, state.votes));
  show("#needs-heading", renderNeeds($("#needs"), state.needs, accepted) > 0);
}

function statementHead(statement) {
  const author = statement.seed ? t("host.by_host") : t("host.by_participant", { name: personName(statement.author) });
  return el("div", { class: "stmt-head" },
    el("span", { class: "stmt-id", text: statementLabel(statement.id) }),
    el("span", { class: "stmt-text", text: statement.text }),
    el("span", { class: "stmt-meta", text: author }),
    agendaPanel && agendaPanel.view.active  // with an agenda: which question the statement answers
      ? el("span", { class: "badge stmt-question", text: t("agenda.of_question", { n: agendaPanel.view.questionOf(statement.id) + 1 }) })
      : null);
}

function renderQueue() {
  const list = $("#queue");
  const pending = Array.from(state.statements.values()).filter((s) => s.state === "pending").sort((a, b) => a.id - b.id);
  setText("#queue-count", formatNumber(pending.length));
  setText("#jump-queue-count", formatNumber(pending.length));
  show("#queue-empty", pending.length === 0);
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : null;
  const reasons = new Map(Array.from(list.querySelectorAll("input")).map((input) => [input.id, input.value]));
  list.replaceChildren();
  for (const statement of pending) {
    const reasonId = `reason-${statement.id}`;
    const error = el("p", { class: "action-error", role: "alert" });
    const reason = el("input", { id: reasonId, maxlength: 280, "aria-label": t("host.reason_label") });
    reason.placeholder = t("host.reason_placeholder");
    reason.value = reasons.get(reasonId) || "";
    list.append(el("li", { dataset: { statement: statement.id } }, statementHead(statement),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "accept", onclick: () => moderate(statement.id, "accept", "", error) },
          t("host.accept")),
        el("button", { type: "button", class: "hide", onclick: () => moderate(statement.id, "hide", "", error) },
          t("host.hide")),
        reason,
        el("button", {
          type: "button",
          class: "reject",
          onclick: () => {
            if (!reason.value.trim()) {
              error.textContent = t("error.reason_required");
              reason.focus();
              return;
            }
            moderate(statement.id, "reject", reason.value.trim(), error);
          },
        }, t("host.reject"))),
      nearDuplicates(statement, {
        code, hostKey: () => hostKey, statements: state.statements, errorText, changed: renderQueue,
        send: (type, fields) => live.send(type, fields),
      }),
      rewriteBox(statement, { errorText, send: (type, fields) => live.send(type, fields) }),
      error));
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

/** "贊成 5（56%）· 反對 4（44%）· 共 9 票": raw counts first, each share of the statement's votes. */
function tallyText(tally) {
  const values = state.votes.length ? state.votes : Object.keys(tally);
  const total = values.reduce((sum, v) => sum + (tally[v] || 0), 0);
  if (!total) return t("host.no_votes");
  const parts = values.filter((v) => tally[v]).map((v) => t("host.tally_part", {
    label: t(voteKey(v)), n: tally[v], percent: `${Math.round((tally[v] / total) * 100)}%`,
  }));
  return `${parts.join(" · ")} · ${t("host.tally_total", { n: total })}`;
}

function renderStatements() {
  const list = $("#all-statements");
  list.replaceChildren();
  const items = Array.from(state.statements.values()).filter((s) => s.state !== "pending").sort((a, b) => b.id - a.id);
  for (const statement of items) {
    const error = el("p", { class: "action-error", role: "alert" });
    const action = statement.state === "accepted"
      ? el("button", { type: "button", class: "hide", onclick: () => moderate(statement.id, "hide", "", error) }, t("host.hide"))
      : el("button", { type: "button", class: "accept", onclick: () => moderate(statement.id, "accept", "", error) }, t("host.restore"));
    const stateText = t(stateKey(statement.state));
    list.append(el("li", { dataset: { statement: statement.id } }, statementHead(statement),
      el("div", { class: "actions" },
        el("span", { class: `badge state-${statement.state}`, text: stateText }),
        statement.reason ? el("span", { class: "stmt-meta", text: t("mine.reason", { reason: statement.reason }) }) : null,
        el("span", { class: "stmt-meta", text: tallyText(statement.tally || {}) }),
        action),
      // reword / split a published statement (lineage.js: what the server's rules allow; nothing once closed)
      statement.state === "accepted" && state.phase !== "closed"
        ? publishedRewrite(statement, { errorText, send: (type, fields) => live.send(type, fields) }) : null,
      error));
  }
}

function renderLog() {
  const list = $("#log");
  list.replaceChildren();
  const entries = state.log.slice(-100).reverse();
  show("#log-empty", entries.length === 0);
  for (const entry of entries) {
    const time = entry.at ? new Date(entry.at * 1000) : null;
    let text;
    if (entry.action === "phase") {
      text = t("log.phase", { from: t(phaseKey(entry.from)), to: t(phaseKey(entry.to)) });
    } else if (entry.action === "check_opened" || entry.action === "check_closed") {
      text = `${t(entry.action === "check_opened" ? "check.open" : "check.close")} · ${t("check.number", { n: entry.check })}`;
    } else if (entry.action === "settings") {
      const changes = Object.entries(entry.changes || {})
        .map(([name, value]) => (SETTING_LOG[name] ? SETTING_LOG[name](Boolean(value)) : t("log.other_setting")));
      text = changes.join("；");
    } else {
      const statement = state.statements.get(entry.statement);
      text = t(LOG_KEYS[entry.action] || "log.hide", { id: statementNumber(entry.statement), text: statement ? statement.text : "" });
      if (entry.reason) text += ` — ${t("mine.reason", { reason: entry.reason })}`;
    }
    list.append(el("li", {},
      time ? el("time", { datetime: time.toISOString(), text: time.toLocaleTimeString() }) : null,
      el("span", { text })));
  }
}

boot();
