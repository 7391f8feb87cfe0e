// Page chrome shared by the three pages: the connection badge and the language toggle.

import { applyI18n, onLangChange, t, toggleLang } from "./i18n.js";

const STATE_KEYS = {
  connecting: "conn.connecting",
  reconnecting: "conn.reconnecting",
  online: "conn.online",
  offline: "conn.offline",
  failed: "conn.failed",
  idle: "conn.idle",
};

let lastState = "connecting";

/** Show the connection state as text plus an icon, never colour alone. */
export function showConnection(state) {
  lastState = state;
  const badge = document.getElementById("conn");
  if (!badge) return;
  badge.dataset.state = state;
  badge.textContent = t(STATE_KEYS[state] || "conn.connecting");
}

export function wireLanguageToggle() {
  const button = document.getElementById("lang-toggle");
  if (button) button.addEventListener("click", () => toggleLang());
  onLangChange(() => showConnection(lastState));
  applyI18n();
}
