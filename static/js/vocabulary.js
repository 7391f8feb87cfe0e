// The meeting's words as the pages name them, declared once for every page: phases in their order, and
// the catalog keys for phases, vote values and statement states. WHICH vote values a meeting offers, and
// in what order, come from the server (`votes` in the meeting info and the welcome), never from here.

import { has } from "./i18n.js";

export const PHASES = ["lobby", "collecting", "voting", "reviewing", "closed"];

export const VOTE_ICONS = { agree: "✓", acceptable: "～", pass: "→", disagree: "✗" };

/** The i18n key of a phase's name (an unknown phase reads as the lobby's, never as an identifier). */
export function phaseKey(phase) {
  return PHASES.includes(phase) ? `phase.${phase}` : "phase.lobby";
}

/**
 * Whether a meeting votes on the classic scale (agree / disagree / pass, no "acceptable"): its figures
 * then count agreement only, and must not say "agree or find it acceptable". The vote values the server
 * offers decide when known (`votes` in the meeting info and the welcome), else the settings' `scale`.
 */
export function isClassic(settings, votes) {
  if (Array.isArray(votes) && votes.length) return !votes.includes("acceptable");
  return Boolean(settings) && settings.scale === "classic";
}

/** The i18n key of a vote value's label. */
export function voteKey(value) {
  return has(`vote.${value}`) ? `vote.${value}` : "vote.pass";
}

/** The i18n key of a statement's moderation state, as its author and the host read it. */
export function stateKey(state) {
  return has(`mine.${state}`) ? `mine.${state}` : "mine.accepted";
}

/**
 * The number people read and say for a statement ("請看第 3 則"): its wire id plus one, so the first
 * statement is 1, never 0. Every page and every export (facilitation/export/summary.py `statement_number`)
 * numbers the same way; ids on the wire stay as they are.
 */
export function statementNumber(id) {
  return Number(id) + 1;
}

/** A statement's number as a label beside its text: "#3". */
export function statementLabel(id) {
  return `#${statementNumber(id)}`;
}
