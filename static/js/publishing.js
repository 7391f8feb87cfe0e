// Publishing the meeting's record (政府資訊公開法: records of collegial bodies are published; a draft may be
// withheld): the console's explicit, confirmed `publish` once the meeting is closed, and, on phones and the
// console, the link to the public record page (/record/CODE, no key) once it is published.

import { $, setStatus, show } from "./dom.js";
import { t } from "./i18n.js";

/** The console: wire the button and its confirmation once; `send(type, fields)` is the live command. */
export function wirePublishing(send) {
  const button = $("#publish-record");
  if (!button || button.dataset.wired) return;
  button.dataset.wired = "1";
  button.addEventListener("click", () => {
    show("#publish-confirm", true);
    $("#publish-confirm-yes").focus();
  });
  $("#publish-confirm-no").addEventListener("click", () => {
    show("#publish-confirm", false);
    button.focus();
  });
  $("#publish-confirm-yes").addEventListener("click", async () => {
    show("#publish-confirm", false);
    setStatus("#publish-status", t("publish.running"));
    try {
      await send("publish", {});
      setStatus("#publish-status", t("publish.done"), "ok");
    } catch (error) {
      const key = error && error.code === "phase_forbids" ? "publish.close_first" : "publish.failed";
      setStatus("#publish-status", t(key), "error");
    }
  });
}

/** The console's panel for the current state: a draft (publish once closed) or published (the link). */
export function renderPublishing(code, publishedAt, phase) {
  const published = typeof publishedAt === "number";
  const button = $("#publish-record");
  if (!button) return;
  button.hidden = published;
  button.disabled = phase !== "closed";
  show("#publish-draft-note", !published);
  showLink("#publish-link", code, published);
}

/** A phone: the link to the published record (nothing while it is a draft). */
export function showPublished(code, publishedAt) {
  const published = typeof publishedAt === "number";
  show("#published", published);
  showLink("#published-link", code, published);
}

function showLink(selector, code, visible) {
  const link = $(selector);
  if (!link) return;
  link.href = `/record/${encodeURIComponent(code)}`;
  link.hidden = !visible;
}
