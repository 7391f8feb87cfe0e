// The practice card: before a phone's first real statement, one made-up statement to try the buttons on.
// A tap says what that choice means (可接受 above all: "not satisfied, but I can accept it", the method's
// whole point) and is never sent: it is not a vote, and no message leaves the phone for it. Done once per
// phone (the buttons are the same in every meeting); a phone that has voted already never sees it.

import { keys, safeGet, safeSet } from "./store.js";

/** What each choice means, said after the practice tap (catalog keys, one per vote value). */
export const PRACTICE_FEEDBACK = {
  agree: "practice.chose_agree",
  acceptable: "practice.chose_acceptable",
  pass: "practice.chose_pass",
  disagree: "practice.chose_disagree",
};

export class Practice {
  constructor() {
    this.done = safeGet(keys.practiced()) === "1";
    this.choice = null;
  }

  /** Whether the practice card comes first: not practised yet, and no statement voted on by a tap. */
  due(taps) {
    return !this.done && taps === 0;
  }

  /** A practice tap: remembered to explain it, sent nowhere. */
  choose(value) {
    this.choice = value;
  }

  /** Practised (or skipped): the real statements follow, on this and every later meeting. */
  finish() {
    this.done = true;
    this.choice = null;
    safeSet(keys.practiced(), "1");
  }
}
