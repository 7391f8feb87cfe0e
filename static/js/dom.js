// Tiny DOM helpers. Untrusted text (statements, nicknames, reasons) only ever goes through textContent.

/** Create an element: el("li", {class: "x", dataset: {id: 3}}, "text or", childNode, ...). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function setText(selector, text) {
  const node = typeof selector === "string" ? $(selector) : selector;
  if (node) node.textContent = text;
}

/** A status line in a tone: "ok" (green), "error" (red) or "info"; a success never looks like a failure. */
export function setStatus(selector, text, tone = "info") {
  const node = typeof selector === "string" ? $(selector) : selector;
  if (!node) return;
  node.textContent = text;
  node.dataset.tone = tone;
}

export function show(node, visible) {
  const target = typeof node === "string" ? $(node) : node;
  if (target) target.hidden = !visible;
}

/** The meeting code from a path like /m/ABCDEF or /host/ABCDEF. */
export function codeFromPath() {
  const parts = window.location.pathname.split("/").filter(Boolean);
  return (parts[1] || "").toUpperCase();
}

export function displayCode(code) {
  return code.length === 6 ? `${code.slice(0, 3)}-${code.slice(3)}` : code;
}

/** Host names that reach only this computer: 127.0.0.0/8, localhost (and *.localhost), ::1. */
export function isLoopback(hostname) {
  const name = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

export function formatNumber(n) {
  return new Intl.NumberFormat().format(n || 0);
}

/**
 * A figure a reader can check: the raw count, out of how many, and the share they make
 * ("5 / 5 贊成 · 100%"). Null when the counts are missing: a screen then prints no number at all
 * rather than a smoothed value that no raw count explains.
 */
export function countShare(count, seen) {
  if (!Number.isInteger(count) || !Number.isInteger(seen) || seen <= 0) return null;
  return { count, seen, percent: `${Math.round((count / seen) * 100)}%` };
}
