// Translation catalogs: every user-visible string goes through t(key).
// Only the language in use is downloaded; the other comes when someone switches to it, and a switch that
// cannot fetch it (offline) keeps the current language instead of showing keys. The console, projector and
// home page read the full catalogs (static/i18n/<lang>.json, ~9 KB compressed); a phone reads its own subset
// (static/i18n/phone/<lang>.json, ~4.5 KB: the keys the participant page and the modules it loads name,
// copied by scripts/phone_catalog.py), one request either way.

import { safeGet, safeSet } from "./store.js";

const LANGS = ["zh-TW", "en"];
const STORE_KEY = "facilitation.lang";
const catalogs = {};
let current = "zh-TW";
let browserLanguage = null;
let folder = "/static/i18n";
const listeners = [];

/**
 * The first of the browser's preferred languages (navigator.languages) that the pages offer, or null:
 * any Chinese reads the zh-TW pages (a zh-CN reader is closer to them than to English), any English the en
 * ones.
 */
export function preferredLanguage(preferences = navigator.languages || [navigator.language]) {
  for (const tag of preferences || []) {
    const lower = String(tag || "").toLowerCase();
    if (lower === "zh" || lower.startsWith("zh-")) return "zh-TW";
    if (lower === "en" || lower.startsWith("en-")) return "en";
  }
  return null;
}

/** Fetch one catalog once; true when it is there to use. */
async function ensureCatalog(lang) {
  if (catalogs[lang]) return true;
  try {
    const response = await fetch(`${folder}/${lang}.json`);
    if (!response.ok) return false;
    catalogs[lang] = await response.json();
    return true;
  } catch {
    return false;
  }
}

/** Switch to `lang` once its catalog is loaded (a failed fetch leaves the page as it was). */
async function switchTo(lang) {
  if (!(await ensureCatalog(lang))) return false;
  current = lang;
  applyI18n();
  return true;
}

/**
 * Load the catalog in use. The language is the user's toggle choice, else (with `followBrowser`: a phone,
 * held by one person) the browser's language when the pages offer it, else the meeting's, else zh-TW.
 * Shared screens (projector, console) follow the meeting, not the laptop they run on. `catalog: "phone"`
 * reads the phone's subset.
 */
export async function loadI18n(meetingLanguage, { followBrowser = false, catalog = "" } = {}) {
  if (catalog) folder = `/static/i18n/${catalog}`;
  const chosen = safeGet(STORE_KEY);
  browserLanguage = followBrowser ? preferredLanguage() : null;
  const wanted = LANGS.includes(chosen) ? chosen : browserLanguage || (LANGS.includes(meetingLanguage)
    ? meetingLanguage : "zh-TW");
  if (!(await switchTo(wanted)) && wanted !== "zh-TW") await switchTo("zh-TW");
}

/** Adopt the meeting's language unless the user chose one with the toggle (or their browser's is used). */
export async function setMeetingLanguage(lang) {
  if (LANGS.includes(safeGet(STORE_KEY)) || browserLanguage) return;
  if (LANGS.includes(lang) && lang !== current) await switchTo(lang);
}

export function getLang() {
  return current;
}

export async function toggleLang() {
  const next = current === "zh-TW" ? "en" : "zh-TW";
  if (await switchTo(next)) safeSet(STORE_KEY, next);
}

export function onLangChange(callback) {
  listeners.push(callback);
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(catalogs[current] || {}, key);
}

function lookup(key) {
  return catalogs[current] && catalogs[current][key];
}

/**
 * The string for key in the current language, with {name} placeholders filled from vars. Plurals: when
 * vars.n (or vars.size) is 1 and the catalog has `key_one`, that form is used ("1 person", not "1 people").
 */
export function t(key, vars) {
  const count = vars ? (vars.n ?? vars.size) : undefined;
  const one = Number(count) === 1 ? lookup(`${key}_one`) : undefined;
  const text = one ?? lookup(key) ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

/** Fill every [data-i18n] element (textContent) and data-i18n-placeholder / -aria-label / -title. */
export function applyI18n(root = document) {
  document.documentElement.lang = current === "zh-TW" ? "zh-Hant-TW" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const callback of listeners) callback(current);
}
