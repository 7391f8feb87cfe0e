// localStorage helpers that never throw (private browsing, full storage) and per-meeting keys.

export function safeGet(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function safeSet(key, value) {
  try {
    if (value === null || value === undefined) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // the page still works; it just forgets on reload
  }
}

export function safeGetJSON(key, fallback) {
  if (!key) return fallback;
  try {
    const value = JSON.parse(safeGet(key));
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

export function safeSetJSON(key, value) {
  if (key) safeSet(key, JSON.stringify(value));
}

export const keys = {
  token: (code) => `facilitation.token.${code}`,
  queue: (code) => `facilitation.queue.${code}`,
  hostKey: (code) => `facilitation.host.${code}`,
  profile: (code) => `facilitation.profile.${code}`,
  draft: (code) => `facilitation.draft.${code}`,
  /** One key for every meeting: the practice card teaches the buttons, which are the same everywhere. */
  practiced: () => "facilitation.practiced",
};

/** A random id part that works on plain http too (crypto.randomUUID needs a secure context). */
export function randomId(bytes = 8) {
  const data = new Uint8Array(bytes);
  window.crypto.getRandomValues(data);
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}
