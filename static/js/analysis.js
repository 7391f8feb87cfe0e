// Reading the live analysis payload, whatever of it is present. The analysis engine is built in
// parallel: this module is the one place that knows its shape, so adapting to changes stays local.
//
// Accepted shapes (facilitation/analysis/messages.py and the library's to_dict()):
// - the map message {type: "analysis", run, groups: [{id, size, center, representative}], points:
//   {participants, x, y, group (index or -1)}, lanes: {lane: [statement ids]}, acceptable_to_all,
//   majority, consensus, divisive, counts};
// - the phone message {type: "analysis", run, groups: [{id, size}], you: {group, x, y} | null,
//   summary?: {lanes, lane_counts, acceptable_to_all, majority, representative: {group: [...]}}};
// Figures: `share` fields are the library's smoothed values, for ranking only; screens print the raw
// `count`/`seen` (representative) and `accepted`/`seen` (acceptable to all) through dom.js countShare().
// - the library's to_dict(): groups with members, positions {participant: [x, y]}, lanes {statement: lane};
// - any of these wrapped in `result` / `analysis` / `payload`, or a stored row whose `message` is JSON text.

export const LANE_ORDER = ["acceptable", "disputed", "needs_votes"];

const list = (value) => (Array.isArray(value) ? value : []);
const dict = (value) => (value && typeof value === "object" && !Array.isArray(value) ? value : {});

function unwrap(message) {
  let data = message;
  for (let depth = 0; depth < 3 && data && typeof data === "object"; depth += 1) {
    if (typeof data.message === "string" && !data.groups) {
      try {
        data = JSON.parse(data.message);
        continue;
      } catch {
        return data;
      }
    }
    const inner = [data.result, data.analysis, data.payload].find((c) => c && typeof c === "object" && !Array.isArray(c));
    if (!inner || data.groups) return data;
    data = inner;
  }
  return data;
}

/** The analysis inside a message or HTTP payload, in one internal shape with every field defaulted. */
export function normalizeAnalysis(message) {
  if (!message || typeof message !== "object") return null;
  const data = unwrap(message);
  if (!data || typeof data !== "object") return null;
  const groups = list(data.groups).map((group, index) => ({
    id: String(group.id ?? String.fromCharCode(65 + index)),
    size: Number(group.size ?? list(group.members).length),
    members: list(group.members).map(String),
    center: Array.isArray(group.center) ? group.center : null,
    representative: list(group.representative),
  }));
  const positions = {};
  const memberGroup = {};
  for (const group of groups) for (const member of group.members) memberGroup[member] = group.id;
  const points = dict(data.points);
  if (Array.isArray(points.participants)) {
    points.participants.forEach((pid, i) => {
      const x = list(points.x)[i];
      const y = list(points.y)[i];
      if (Number.isFinite(x) && Number.isFinite(y)) positions[String(pid)] = [x, y];
      const gi = list(points.group)[i];
      if (Number.isInteger(gi) && gi >= 0 && groups[gi]) memberGroup[String(pid)] = groups[gi].id;
    });
  }
  for (const [pid, p] of Object.entries(dict(data.positions))) {
    if (Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1])) positions[String(pid)] = [p[0], p[1]];
  }
  const summary = data.summary && typeof data.summary === "object" ? data.summary : null;
  const lanes = {};
  const laneOf = {};
  const addLane = (lane, sid) => {
    const id = String(sid);
    if (id in laneOf) return;
    laneOf[id] = lane;
    (lanes[lane] = lanes[lane] || []).push(id);
  };
  for (const [key, value] of Object.entries(dict(data.lanes || (summary && summary.lanes)))) {
    if (Array.isArray(value)) for (const sid of value) addLane(key, sid);
    else if (typeof value === "string") addLane(value, key);
  }
  const representative = dict(summary && summary.representative);
  for (const group of groups) {
    if (!group.representative.length && Array.isArray(representative[group.id])) {
      group.representative = representative[group.id];
    }
  }
  const you = data.you && typeof data.you === "object" ? data.you : null;
  const counts = dict(data.counts);
  return {
    run: data.run ?? message.run ?? null,
    groups,
    positions,
    memberGroup,
    lanes,
    laneOf,
    laneCounts: dict(summary && summary.lane_counts),
    acceptableToAll: list(data.acceptable_to_all || (summary && summary.acceptable_to_all)),
    consensus: list(data.consensus),
    majority: list(data.majority || (summary && summary.majority)),
    divisive: list(data.divisive),
    participants: counts.participants ?? data.participants ?? null,
    clustered: counts.clustered ?? data.clustered ?? null,
    myGroup: you && you.group ? String(you.group) : null,
    hasSummary: Boolean(summary),
    // the room's view (clustering/steady.py): true while few people are on the map or its groups are new
    forming: Boolean(data.steady && data.steady.forming),
  };
}

/**
 * Whether the server may hold a map its snapshot did not bring, so a screen should ask for it. A server
 * running live analysis puts the latest map in every snapshot (null before the first run: asking then
 * only logs a 404); one without live analysis sends no `analysis` field, yet may keep a map stored by an
 * earlier run, which takes votes.
 */
export function storedAnalysisPossible(snapshot) {
  const counters = (snapshot.meeting && snapshot.meeting.counters) || {};
  return !("analysis" in snapshot) && Number(counters.votes) > 0;
}

/** The id of the opinion group a participant belongs to, or null. */
export function groupOf(analysis, participant) {
  if (!analysis) return null;
  if (analysis.myGroup) return analysis.myGroup;
  if (participant === null || participant === undefined) return null;
  return analysis.memberGroup[String(participant)] ?? null;
}

/** The acceptable-to-all entry of a statement (with its raw counts), or null. */
export function acceptanceOf(analysis, id) {
  if (!analysis) return null;
  return analysis.acceptableToAll.find((entry) => statementId(entry) === String(id)) || null;
}

/** Statement id of an entry that is either an id or an object with `statement`. */
export function statementId(entry) {
  if (entry === null || entry === undefined) return null;
  if (typeof entry === "object") return entry.statement === undefined ? null : String(entry.statement);
  return String(entry);
}

/**
 * Statement ids per shown lane. Acceptable ones in the analysis's order (most widely accepted first),
 * disputed ones with the most divisive first; statements newer than the analysis need votes (newest first).
 */
export function laneStatements(analysis, knownIds) {
  const lanes = { acceptable: [], disputed: [], needs_votes: [] };
  if (!analysis) return lanes;
  lanes.acceptable = (analysis.lanes.acceptable || []).slice();
  if (!Object.keys(analysis.laneOf).length) {
    // No lanes in this payload: fall back on the acceptable-to-all list (each statement in one lane only).
    lanes.acceptable = analysis.acceptableToAll.map(statementId).filter(Boolean);
  }
  const disputed = analysis.lanes.disputed || [];
  const divisiveOrder = analysis.divisive.map(statementId);
  lanes.disputed = disputed.slice().sort((a, b) => rank(divisiveOrder, a) - rank(divisiveOrder, b));
  const shown = new Set(lanes.acceptable);
  const unplaced = (knownIds || []).map(String).filter((id) => !(id in analysis.laneOf) && !shown.has(id));
  lanes.needs_votes = unplaced.concat(analysis.lanes.needs_votes || [])
    .sort((a, b) => Number(b) - Number(a));
  return lanes;
}

function rank(order, id) {
  const index = order.indexOf(id);
  return index < 0 ? order.length : index;
}

/** Group palette: Okabe-Ito (safe for colour-blind viewers), with a shape per group as a second cue. */
export const GROUP_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#CC79A7", "#D55E00", "#0072B2", "#FFFFFF"];
export const GROUP_SHAPES = ["circle", "square", "triangle", "diamond", "cross", "star", "hexagon", "ring"];
