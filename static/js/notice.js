// The privacy notice (PDPA §8) a phone shows before joining, and its fields in the create form. The field
// names are facilitation/core/privacy.py's PRIVACY_FIELDS (a test holds the two lists equal); labels are
// the catalogues' privacy.<name>. Notice text is the host's: it only ever reaches the page as textContent.

import { el } from "./dom.js";
import { t } from "./i18n.js";

export const PRIVACY_FIELDS = ["agency", "purpose", "data", "period", "area", "recipients", "use", "rights",
  "contact", "decline"];
/** Shown on the join screen itself; the rest is a tap away (the notice's full text). */
const FIRST = ["agency", "purpose", "data", "period"];
const LABELS = {
  agency: "privacy.agency", purpose: "privacy.purpose", data: "privacy.data", period: "privacy.period",
  area: "privacy.area", recipients: "privacy.recipients", use: "privacy.use", rights: "privacy.rights",
  contact: "privacy.contact", decline: "privacy.decline",
};

export function hasNotice(settings) {
  const privacy = (settings && settings.privacy) || {};
  return Boolean(settings && settings.require_consent) || PRIVACY_FIELDS.some((name) => privacy[name]);
}

function entries(privacy, names) {
  return names.filter((name) => privacy[name]).map((name) => el("div", { class: "notice-item" },
    el("dt", { text: t(LABELS[name]) }), el("dd", { class: "notice-text", text: privacy[name] })));
}

/** How long the server keeps the meeting (its retention_days, enforced by the purge) and the way to erase
 * one's own data before that ("my data" on the phone). */
function retentionText(days) {
  const kept = days > 0 ? t("privacy.retention").replace("{days}", String(days)) : t("privacy.retention_none");
  return `${kept}${/[。！？]$/.test(kept) ? "" : " "}${t("privacy.erase_note")}`;  // no space after a full stop
}

/** The notice into `box`: the first items, then the full text behind a disclosure. */
export function renderNotice(box, settings) {
  const privacy = settings.privacy || {};
  const rest = PRIVACY_FIELDS.filter((name) => !FIRST.includes(name) && privacy[name]);
  box.replaceChildren(
    el("h3", { id: "notice-heading", text: t("privacy.heading") }),
    el("dl", { class: "notice-list" }, ...entries(privacy, FIRST)),
    el("p", { class: "notice-retention", text: retentionText(settings.retention_days) }),
    rest.length ? el("details", { class: "notice-full" },
      el("summary", { text: t("privacy.full") }),
      el("dl", { class: "notice-list" }, ...entries(privacy, rest))) : null,
  );
}

/** The notice's fields in the create form, each a labelled text area, inside `box`. */
export function buildNoticeFields(box) {
  box.replaceChildren(...PRIVACY_FIELDS.map((name) => el("div", { class: "field" },
    el("label", { for: `f-privacy-${name}`, dataset: { i18n: LABELS[name] }, text: t(LABELS[name]) }),
    el("textarea", { id: `f-privacy-${name}`, name: `privacy-${name}`, rows: 2, maxlength: 1500 }))));
}

/** The notice the form holds: only the fields filled in. */
export function readNoticeFields(form) {
  const privacy = {};
  for (const name of PRIVACY_FIELDS) {
    const value = form.elements[`privacy-${name}`].value.trim();
    if (value) privacy[name] = value;
  }
  return privacy;
}

/** Fill the form from a saved default ({privacy, require_consent, retention_days}). */
export function fillNoticeFields(form, saved) {
  for (const name of PRIVACY_FIELDS) form.elements[`privacy-${name}`].value = (saved.privacy || {})[name] || "";
  if ("require_consent" in saved) form.elements.require_consent.checked = Boolean(saved.require_consent);
  if ("retention_days" in saved) form.elements.retention_days.value = String(saved.retention_days);
}
