// Reading the live analysis payload, whatever of it is present. The analysis engine is built in
// parallel: this module is the one place that knows its shape, so adapting to changes stays local.
//
// Accepted shapes: the payload itself ({groups, positions, lanes, ...}) or a wrapper carrying it in
// `result`, `analysis` or `payload` (e.g. {"type": "analysis", "run": 3, "result": {...}}).

export const LANE_ORDER = ["acceptable", "disputed", "needs_votes"];

/** The clustering result inside an analysis message or HTTP payload, with every field defaulted. */
export function normalizeAnalysis(message) {
  if (!message || typeof message !== "object") return null;
  const inner = [message.result, message.analysis, message.payload].find(
    (candidate) => candidate && typeof candidate === "object" && !Array.isArray(candidate),
  );
  const data = inner || message;
  const list = (value) => (Array.isArray(value) ? value : []);
  const dict = (value) => (value && typeof value === "object" && !Array.isArray(value) ? value : {});
  const you = dict(message.you || data.you);
  return {
    run: message.run ?? data.run ?? null,
    groups: list(data.groups).map((group, index) => ({
      id: String(group.id ?? String.fromCharCode(65 + index)),
      size: Number(group.size ?? list(group.members).length),
      members: list(group.members).map(String),
      center: Array.isArray(group.center) ? group.center : null,
      representative: list(group.representative),
    })),
    positions: dict(data.positions),
    lanes: dict(data.lanes),
    acceptableToAll: list(data.acceptable_to_all),
    consensus: list(data.consensus),
    majority: list(data.majority),
    divisive: list(data.divisive),
    participants: data.participants ?? null,
    clustered: data.clustered ?? null,
    myGroup: you.group ?? message.group ?? data.group ?? null,
  };
}

/** The id of the opinion group a participant belongs to, or null. */
export function groupOf(analysis, participant) {
  if (!analysis) return null;
  if (analysis.myGroup) return String(analysis.myGroup);
  if (participant === null || participant === undefined) return null;
  const id = String(participant);
  const group = analysis.groups.find((g) => g.members.includes(id));
  return group ? group.id : null;
}

/** Statement id of an entry that is either an id or an object with `statement`. */
export function statementId(entry) {
  if (entry === null || entry === undefined) return null;
  if (typeof entry === "object") return entry.statement === undefined ? null : String(entry.statement);
  return String(entry);
}

/** Statements per lane, in a useful order: acceptable by acceptability, disputed by spread, others newest. */
export function laneStatements(analysis, knownIds) {
  const lanes = { acceptable: [], disputed: [], needs_votes: [] };
  if (!analysis) return lanes;
  const seen = new Set();
  const push = (lane, id) => {
    if (id === null || seen.has(id) || !lanes[lane]) return;
    seen.add(id);
    lanes[lane].push(id);
  };
  for (const entry of analysis.acceptableToAll) push("acceptable", statementId(entry));
  for (const entry of analysis.divisive) {
    const id = statementId(entry);
    if (analysis.lanes[id] === "disputed") push("disputed", id);
  }
  const byLane = Object.entries(analysis.lanes).sort((a, b) => Number(b[0]) - Number(a[0]));
  for (const [id, lane] of byLane) push(lane, String(id));
  for (const id of knownIds || []) {
    if (!(String(id) in analysis.lanes) && Object.keys(analysis.lanes).length) push("needs_votes", String(id));
  }
  return lanes;
}

/** Group palette: Okabe-Ito (safe for colour-blind viewers), with a shape per group as a second cue. */
export const GROUP_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#CC79A7", "#D55E00", "#0072B2", "#FFFFFF"];
export const GROUP_SHAPES = ["circle", "square", "triangle", "diamond", "cross", "star", "hexagon", "ring"];
