// The spotlight (issue 23), what every page shares: which statement the host put before the room, its
// countdown on this device's clock, and (projector, console) who voted what on it, to count by opinion group
// and by stakeholder role. The pages draw it with spotphone.js, spotscreen.js and
// spothost.js.
//
// The countdown: the server sends its deadline on the server's clock; this page's clock may be off by
// minutes (a phone set by hand). The snapshot's `now` (or a live event's `at`) says what the server's clock
// read when it was sent, so `offset` = this clock minus the server's, and the time left is
// deadline - (Date.now() - offset). The message's travel time makes the estimate err by a fraction of a
// second toward less time left, never more.
//
// The tally: `voters` is participant -> value for the spotlighted statement, filled from the screen data
// (docs/protocol.md, Spotlight) and overwritten by each later `vote` event, so a changed vote moves and
// a resent one never counts twice; every figure the pages show is a count of this table.

export class SpotlightModel {
  constructor() {
    this.statement = null;
    this.deadline = 0;
    this.seconds = 0;
    this.offset = null;
    this.voters = new Map();
    this.roles = new Map();
  }

  get active() {
    return this.statement !== null && this.statement !== undefined;
  }

  /** The server's clock read `serverNow` (seconds) just now. */
  clock(serverNow) {
    if (Number.isFinite(serverNow)) this.offset = Date.now() / 1000 - serverNow;
  }

  fromSnapshot(msg) {
    this.clock(msg.now);
    const spot = (msg.meeting && msg.meeting.spotlight) || {};
    this.set(spot);
    const screen = msg.screens && msg.screens.spotlight;
    if (screen) this.loadScreen(screen);
    for (const p of msg.participants || []) this.roles.set(String(p.participant), p.role || "");
  }

  set(spot) {
    const statement = spot.statement;
    if (statement !== this.statement) this.voters = new Map();
    this.statement = Number.isInteger(statement) ? statement : null;
    this.deadline = Number(spot.deadline) || 0;
    this.seconds = Number(spot.seconds) || 0;
  }

  loadScreen(screen) {
    this.voters = new Map(Object.entries(screen.voters || {}));
    for (const [role, ids] of Object.entries(screen.roles || {})) {
      for (const id of ids) this.roles.set(String(id), role);
    }
  }

  /** Fold an event; true when what a page shows of the spotlight changed. */
  apply(event, live = true) {
    switch (event.type) {
      case "spotlight_started":
        if (live && this.offset === null) this.clock(event.at);
        this.set(event);
        if (event.screen) this.loadScreen(event.screen);
        return true;
      case "spotlight_ended":
        this.set({ statement: null });
        return true;
      case "vote":
        if (!this.active || event.statement !== this.statement) return false;
        this.voters.set(String(event.participant), event.value);
        return true;
      case "participant_joined":
      case "profile_changed":
        this.roles.set(String(event.participant), event.role || "");
        return false;
      default:
        return false;
    }
  }

  /** Seconds left on the countdown (0 when it ran out), or null without one. */
  remaining() {
    if (!this.active || !this.deadline) return null;
    const now = Date.now() / 1000 - (this.offset || 0);
    return Math.max(0, Math.ceil(this.deadline - now));
  }

  /**
   * The votes on the spotlighted statement counted three ways: in all, by opinion group (`groupOf(pid)`,
   * null for someone the map has not placed) and by role. Each row: {key, counts: {value: n}, total}.
   */
  tally(groupOf) {
    const all = { key: "", counts: {}, total: 0 };
    const groups = new Map();
    const roles = new Map();
    const add = (rows, key, value) => {
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { key, counts: {}, total: 0 }));
      row.counts[value] = (row.counts[value] || 0) + 1;
      row.total += 1;
    };
    for (const [pid, value] of this.voters) {
      all.counts[value] = (all.counts[value] || 0) + 1;
      all.total += 1;
      const group = groupOf(pid);
      add(groups, group === null || group === undefined ? null : String(group), value);
      add(roles, this.roles.get(pid) ?? "", value);
    }
    const order = (rows, last) => Array.from(rows.values()).sort((a, b) => {
      if (a.key === last) return 1;
      if (b.key === last) return -1;
      return String(a.key).localeCompare(String(b.key));
    });
    return { all, groups: order(groups, null), roles: order(roles, "") };
  }
}

/** 75 -> "1:15". */
export function formatClock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
