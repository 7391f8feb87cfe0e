// A round (issue 23), what the projector shares with the export's rule: the open round's `before` and `after`
// tables (statement -> participant -> value, docs/protocol.md, Rounds), kept up to date by `vote` events,
// and the shift counted from them exactly as facilitation/core/commands/rounds.py `shift` counts it: for
// each role or opinion group, the round's voters who kept their vote, voted for the first time, and each
// move from -> to. Only the round's voters count; every figure is a count of these tables.

export class RoundModel {
  constructor() {
    this.number = null;
    this.statements = [];
    this.before = new Map();
    this.after = new Map();
    this.roles = new Map();
  }

  get open() {
    return this.number !== null;
  }

  fromScreen(screen) {
    if (!screen) {
      this.number = null;
      return;
    }
    this.number = screen.round;
    this.statements = screen.statements || [];
    const table = (data) => new Map(Object.entries(data || {}).map(([sid, votes]) =>
      [Number(sid), new Map(Object.entries(votes))]));
    this.before = table(screen.before);
    this.after = table(screen.after);
    for (const [role, ids] of Object.entries(screen.roles || {})) for (const id of ids) this.roles.set(String(id), role);
  }

  /** Fold an event; true when what a screen shows of the round changed. */
  apply(event) {
    switch (event.type) {
      case "round_opened":
        this.fromScreen(event.screen || { round: event.round, statements: event.statements });
        return true;
      case "round_closed":
        this.number = null;
        return true;
      case "vote": {
        if (!this.open || !this.statements.includes(event.statement)) return false;
        if (!this.after.has(event.statement)) this.after.set(event.statement, new Map());
        this.after.get(event.statement).set(String(event.participant), event.value);
        return true;
      }
      case "participant_joined":
        this.roles.set(String(event.participant), event.role || "");
        return false;
      default:
        return false;
    }
  }

  /** The shift on statement `sid` by `keyOf(pid)`: [{key, voted, kept, fresh, moved: [[from, to, n]]}]. */
  shift(sid, keyOf) {
    const before = this.before.get(sid) || new Map();
    const rows = new Map();
    for (const [pid, value] of this.after.get(sid) || new Map()) {
      const key = keyOf(pid);
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { key, voted: 0, kept: 0, fresh: 0, moves: new Map() }));
      row.voted += 1;
      const earlier = before.get(pid);
      if (earlier === undefined) row.fresh += 1;
      else if (earlier === value) row.kept += 1;
      else row.moves.set(`${earlier}>${value}`, (row.moves.get(`${earlier}>${value}`) || 0) + 1);
    }
    return Array.from(rows.values()).map((row) => ({ ...row,
      moved: Array.from(row.moves.entries()).map(([move, n]) => [...move.split(">"), n]).sort((a, b) => b[2] - a[2]) }));
  }

  roleOf(pid) {
    return this.roles.get(String(pid)) ?? "";
  }
}
