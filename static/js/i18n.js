// Translation catalogs: every user-visible string goes through t(key).
// Both catalogs are loaded up front (a few KB) so the language toggle is instant and offline-safe.

import { safeGet, safeSet } from "./store.js";

const LANGS = ["zh-TW", "en"];
const STORE_KEY = "facilitation.lang";
const catalogs = {};
let current = "zh-TW";
let browserLanguage = null;
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

/**
 * Load both catalogs. The language is the user's toggle choice, else (with `followBrowser`: a phone,
 * held by one person) the browser's language when the pages offer it, else the meeting's, else zh-TW.
 * Shared screens (projector, console) follow the meeting, not the laptop they run on.
 */
export async function loadI18n(meetingLanguage, { followBrowser = false } = {}) {
  await Promise.all(LANGS.map(async (lang) => {
    const response = await fetch(`/static/i18n/${lang}.json`);
    catalogs[lang] = response.ok ? await response.json() : {};
  }));
  const chosen = safeGet(STORE_KEY);
  browserLanguage = followBrowser ? preferredLanguage() : null;
  current = LANGS.includes(chosen) ? chosen : browserLanguage || (LANGS.includes(meetingLanguage) ? meetingLanguage
    : "zh-TW");
  applyI18n();
}

/** Adopt the meeting's language unless the user chose one with the toggle (or their browser's is used). */
export function setMeetingLanguage(lang) {
  if (LANGS.includes(safeGet(STORE_KEY)) || browserLanguage) return;
  if (LANGS.includes(lang) && lang !== current) {
    current = lang;
    applyI18n();
  }
}

export function getLang() {
  return current;
}

export function toggleLang() {
  current = current === "zh-TW" ? "en" : "zh-TW";
  safeSet(STORE_KEY, current);
  applyI18n();
}

export function onLangChange(callback) {
  listeners.push(callback);
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(catalogs[current] || {}, key);
}

function lookup(key) {
  return (catalogs[current] && catalogs[current][key]) ?? (catalogs.en && catalogs.en[key]);
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
