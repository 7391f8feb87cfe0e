// The front door: type a meeting code to join (/), or create a meeting (/new) and go to its console.

import { wireLanguageToggle } from "./chrome.js";
import { $, setText, show } from "./dom.js";
import { has, loadI18n, t } from "./i18n.js";
import { buildNoticeFields, fillNoticeFields, readNoticeFields } from "./notice.js";
import { keys, safeSet } from "./store.js";
import { oridPrompts } from "./agenda.js";

const CODE_ALPHABET = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$/;

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function wireJoin() {
  $("#code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("#code-input").value.toUpperCase().replace(/[\s-]/g, "");
    if (!CODE_ALPHABET.test(code)) {
      setText("#code-error", t("index.code_invalid"));
      return;
    }
    const response = await fetch(`/api/meetings/${code}`).catch(() => null);
    if (!response || !response.ok) {
      setText("#code-error", t(response && response.status === 429 ? "error.too_many_attempts" : "index.code_unknown"));
      return;
    }
    window.location.assign(`/m/${code}`);
  });
}

/** The agency's saved notice (FACILITATION_PRIVACY_NOTICE), a button away when the server has one. */
async function offerSavedNotice(form) {
  const response = await fetch("/api/privacy-default").catch(() => null);
  if (!response || !response.ok) return;
  const saved = await response.json();
  const button = $("#privacy-default");
  show(button, true);
  button.addEventListener("click", () => fillNoticeFields(form, saved));
}

function wireNew() {
  // ORID (focused conversation): four prompts after the topic, which the host edits freely before creating
  $("#f-orid").addEventListener("click", () => {
    $("#f-questions").value = oridPrompts().join("\n");
  });
  buildNoticeFields($("#privacy-fields"));
  offerSavedNotice($("#new-form"));
  $("#new-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = {
      title: form.title.value.trim(),
      topic: form.topic.value.trim(),
      description: form.description.value.trim(),
      language: form.language.value,
      scale: form.scale.value,
      moderation: form.moderation.value,
      max_statement_chars: Number(form.max_statement_chars.value) || 140,
      ask_nickname: form.ask_nickname.checked,
      live_results: form.live_results.checked,
      roles: lines(form.roles.value),
      seeds: lines(form.seeds.value),
      questions: lines(form.questions.value),
      privacy: readNoticeFields(form),
      require_consent: form.require_consent.checked,
      retention_days: Number(form.retention_days.value) || 0,
    };
    if (!body.title) {
      setText("#new-error", t("new.title_required"));
      form.title.focus();
      return;
    }
    setText("#new-error", "");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch("/api/meetings", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json();
      if (!response.ok) {
        const code = data.error && data.error.code;
        setText("#new-error", has(`error.${code}`) ? t(`error.${code}`) : (data.error && data.error.message) || t("error.generic"));
        return;
      }
      safeSet(keys.hostKey(data.code), data.host_key);
      window.location.assign(`/host/${data.code}#key=${encodeURIComponent(data.host_key)}`);
    } catch {
      setText("#new-error", t("error.network"));
    } finally {
      button.disabled = false;
    }
  });
}

async function boot() {
  await loadI18n(null);
  wireLanguageToggle();
  const creating = window.location.pathname.replace(/\/+$/, "") === "/new";
  show("#join-section", !creating);
  show("#new-section", creating);
  if (creating) {
    wireNew();
    $("#f-title").focus();
  } else {
    wireJoin();
  }
}

boot();
