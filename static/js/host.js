// The host console: moderation queue, phases, live analysis controls, exports. The host key comes from
// the URL fragment (never sent to the server in a URL), is kept in localStorage for this meeting and is
// removed from the visible address at once.

import { showConnection, wireLanguageToggle } from "./chrome.js";
import { $, codeFromPath, displayCode, el, formatNumber, setText, show } from "./dom.js";
import { has, loadI18n, onLangChange, setMeetingLanguage, t } from "./i18n.js";
import { LiveClient } from "./live.js";
import { keys, safeGet, safeSet } from "./store.js";

const code = codeFromPath();
const PHASES = ["lobby", "collecting", "voting", "reviewing", "closed"];
const PHASE_KEYS = {
  lobby: "phase.lobby",
  collecting: "phase.collecting",
  voting: "phase.voting",
  reviewing: "phase.reviewing",
  closed: "phase.closed",
};
const PHASE_HELP = {
  lobby: "phase_help.lobby",
  collecting: "phase_help.collecting",
  voting: "phase_help.voting",
  reviewing: "phase_help.reviewing",
  closed: "phase_help.closed",
};
const STATE_KEYS = {
  pending: "mine.pending",
  accepted: "mine.accepted",
  rejected: "mine.rejected",
  hidden: "mine.hidden",
};
const VOTE_KEYS = { agree: "vote.agree", acceptable: "vote.acceptable", pass: "vote.pass", disagree: "vote.disagree" };
const LOG_KEYS = { accept: "log.accept", reject: "log.reject", hide: "log.hide" };
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
};
let live = null;
let hostKey = null;

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
  await loadI18n(null);
  wireLanguageToggle();
  onLangChange(renderAll);
  const info = await fetch(`/api/meetings/${encodeURIComponent(code)}`).then((r) => (r.ok ? r.json() : null), () => null);
  if (!info) {
    fatal(t("error.unknown_meeting"));
    return;
  }
  state.settings = info.settings;
  setMeetingLanguage(info.settings.language);
  const joinUrl = (info.urls && info.urls.join) || `${window.location.origin}/m/${code}`;
  $("#join-link").value = joinUrl;
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
        show("#fatal", true);
        askKey();
        return;
      }
      fatal(t(error && has(`error.${error.code}`) ? `error.${error.code}` : "error.generic"));
    },
  }).start();
}

function fatal(text) {
  setText("#fatal", text);
  show("#fatal", true);
  show("#console", false);
}

// ------------------------------------------------------------------ messages

function receive(msg) {
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
      state.statements = new Map((msg.all_statements || []).map((s) => [s.id, { ...s, tally: { ...(s.tally || {}) } }]));
      state.log = meeting.moderation_log || [];
      if (msg.analysis && msg.analysis.run !== undefined) state.analysisRun = msg.analysis.run;
      show("#console", true);
      show("#fatal", false);
      renderAll();
      break;
    }
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
  switch (event.type) {
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
      break;
    case "phase_changed":
      state.phase = event.to_phase;
      state.log.push({ seq: event.seq, at: event.at, action: "phase", from: event.from_phase, to: event.to_phase });
      break;
    case "settings_changed": {
      const changes = event.changes || {};
      if ("results_visible" in changes) state.resultsVisible = Boolean(changes.results_visible);
      if ("analysis_paused" in changes) state.analysisPaused = Boolean(changes.analysis_paused);
      for (const name of ["title", "topic", "description"]) {
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
      break;
  }
}

// ------------------------------------------------------------------ controls

function errorText(error) {
  if (!error) return t("error.generic");
  return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
}

function command(type, fields, statusSelector) {
  if (statusSelector) setText(statusSelector, "");
  return live.send(type, fields).catch((error) => {
    if (statusSelector) setText(statusSelector, errorText(error));
    throw error;
  });
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
  $("#copy-link").addEventListener("click", async () => {
    const input = $("#join-link");
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.select();
      document.execCommand("copy");
    }
    setText("#copy-status", t("host.copied"));
  });
  $("#results-visible").addEventListener("change", (event) => {
    command("settings", { changes: { results_visible: event.target.checked } }, "#analysis-status").catch(renderAll);
  });
  for (const action of ["pause", "resume", "recompute"]) {
    $(`#analysis-${action}`).addEventListener("click", () => {
      command("analysis", { action }, "#analysis-status").then(() => {
        setText("#analysis-status", t(ANALYSIS_DONE[action]));
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
      setText("#seed-status", t("host.seed_added"));
    }, () => {});
  });
  for (const button of document.querySelectorAll("#exports button")) {
    button.addEventListener("click", () => download(button.dataset.format));
  }
}

async function download(format) {
  setText("#export-status", t("host.export_working"));
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(code)}/export?format=${format}`, {
      headers: { "X-Host-Key": hostKey },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      setText("#export-status", response.status === 404 && !body.error
        ? t("host.export_unavailable") : errorText(body.error));
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
    setText("#export-status", t("host.export_done"));
  } catch {
    setText("#export-status", t("error.network"));
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

function renderAll() {
  const settings = state.settings || {};
  setText("#title", settings.title || "");
  setText("#topic", settings.topic || "");
  if (settings.title) document.title = `${settings.title} · ${t("host.page_title")}`;
  const c = state.counters || {};
  setText("#c-participants", formatNumber(c.participants));
  setText("#c-statements", formatNumber(c.statements));
  setText("#c-votes", formatNumber(c.votes));
  setText("#c-pending", formatNumber(c.pending));
  const roles = Object.entries(state.byRole).filter(([, n]) => n > 0)
    .map(([role, n]) => `${role || t("host.no_role")} ${n}`);
  setText("#by-role", roles.length ? t("host.by_role", { list: roles.join("、") }) : "");
  renderPhases();
  $("#results-visible").checked = state.resultsVisible;
  const status = [];
  status.push(t(state.analysisPaused ? "host.analysis_paused" : "host.analysis_running"));
  if (state.analysisRun !== null) status.push(t("host.analysis_run", { run: state.analysisRun }));
  if (state.analysisError) status.push(t("host.analysis_error", { error: state.analysisError }));
  setText("#analysis-state", status.join(" · "));
  renderQueue();
  renderStatements();
  renderLog();
}

function renderPhases() {
  const box = $("#phases");
  box.replaceChildren();
  const here = PHASES.indexOf(state.phase);
  PHASES.forEach((phase, index) => {
    box.append(el("button", {
      type: "button",
      "aria-pressed": phase === state.phase ? "true" : "false",
      disabled: index > here + 1 || phase === state.phase,
      onclick: () => command("phase", { phase }, "#phase-status").catch(() => {}),
    }, `${index + 1}. ${t(PHASE_KEYS[phase])}`));
  });
  setText("#phase-help", t(PHASE_HELP[state.phase] || "phase_help.lobby"));
}

function statementHead(statement) {
  const author = statement.seed ? t("host.by_host") : t("host.by_participant", { id: statement.author });
  return el("div", { class: "stmt-head" },
    el("span", { class: "stmt-id", text: `#${statement.id}` }),
    el("span", { class: "stmt-text", text: statement.text }),
    el("span", { class: "stmt-meta", text: author }));
}

function renderQueue() {
  const list = $("#queue");
  const pending = Array.from(state.statements.values()).filter((s) => s.state === "pending").sort((a, b) => a.id - b.id);
  setText("#queue-count", formatNumber(pending.length));
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
      error));
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

function tallyText(tally) {
  const parts = Object.keys(VOTE_KEYS).filter((v) => tally[v]).map((v) => `${t(VOTE_KEYS[v])} ${tally[v]}`);
  return parts.length ? parts.join(" · ") : t("host.no_votes");
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
    const stateText = t(STATE_KEYS[statement.state] || "mine.accepted");
    list.append(el("li", { dataset: { statement: statement.id } }, statementHead(statement),
      el("div", { class: "actions" },
        el("span", { class: `badge state-${statement.state}`, text: stateText }),
        statement.reason ? el("span", { class: "stmt-meta", text: t("mine.reason", { reason: statement.reason }) }) : null,
        el("span", { class: "stmt-meta", text: tallyText(statement.tally || {}) }),
        action),
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
      text = t("log.phase", { from: t(PHASE_KEYS[entry.from] || "phase.lobby"), to: t(PHASE_KEYS[entry.to] || "phase.lobby") });
    } else if (entry.action === "settings") {
      text = t("log.settings", { changes: Object.keys(entry.changes || {}).join(", ") });
    } else {
      const statement = state.statements.get(entry.statement);
      text = t(LOG_KEYS[entry.action] || "log.hide", { id: entry.statement, text: statement ? statement.text : "" });
      if (entry.reason) text += ` — ${t("mine.reason", { reason: entry.reason })}`;
    }
    list.append(el("li", {},
      time ? el("time", { datetime: time.toISOString(), text: time.toLocaleTimeString() }) : null,
      el("span", { text })));
  }
}

boot();
