// Rendering the live analysis on the projector: the consensus map (SVG dots, one per participant,
// coloured AND shaped by opinion group, with text labels and sizes), the group cards with their
// representative statements, and the three lanes. Everything is keyed and updated in place, and moves
// are CSS transitions on `transform`, so a new analysis animates smoothly without flicker.
// Statement text is untrusted: it only ever reaches the page through textContent.

import { acceptanceOf, groupOf, LANE_ORDER, laneStatements, statementId } from "./analysis.js";
import { el } from "./dom.js";
import { acceptanceFigure, nameAcceptable, repFigure } from "./figures.js";
import { t } from "./i18n.js";
import { MapTable } from "./maptable.js";
import { statementLabel } from "./vocabulary.js";

const SVG = "http://www.w3.org/2000/svg";
const VIEW_W = 1000;
const VIEW_H = 600;
const MARGIN = 60;
const DOT = 12;
const LANE_LIMIT = 5;
const REPS_PER_GROUP = 2;
/** Dots closer than this (view-box pixels, a sixth of a dot) count as one pile with a "×n" badge. */
const STACK_PX = 2;

const SHAPES = [
  `M ${-DOT} 0 a ${DOT} ${DOT} 0 1 0 ${2 * DOT} 0 a ${DOT} ${DOT} 0 1 0 ${-2 * DOT} 0`,
  `M ${-DOT} ${-DOT} h ${2 * DOT} v ${2 * DOT} h ${-2 * DOT} Z`,
  `M 0 ${-DOT * 1.2} L ${DOT * 1.1} ${DOT * 0.9} L ${-DOT * 1.1} ${DOT * 0.9} Z`,
  `M 0 ${-DOT * 1.25} L ${DOT * 1.25} 0 L 0 ${DOT * 1.25} L ${-DOT * 1.25} 0 Z`,
  `M ${-DOT} ${-DOT / 3} h ${DOT * 2 / 3} v ${-DOT * 2 / 3} h ${DOT * 2 / 3} v ${DOT * 2 / 3} h ${DOT * 2 / 3} v ${DOT * 2 / 3} h ${-DOT * 2 / 3} v ${DOT * 2 / 3} h ${-DOT * 2 / 3} v ${-DOT * 2 / 3} h ${-DOT * 2 / 3} Z`,
];

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

function groupClass(index) {
  return index >= 0 ? `g${index % 8}` : "gx";
}

function shapeFor(index) {
  return SHAPES[(index >= 0 ? index : 0) % SHAPES.length];
}

/** A small legend icon: the group's shape in its colour. */
export function groupIcon(index) {
  const icon = svg("svg", { viewBox: `${-DOT * 1.4} ${-DOT * 1.4} ${DOT * 2.8} ${DOT * 2.8}`, "aria-hidden": "true" });
  icon.append(svg("path", { d: shapeFor(index), class: groupClass(index) }));
  return icon;
}

export class ConsensusMap {
  constructor(svgNode, emptyNode, summaryNode) {
    this.svg = svgNode;
    this.empty = emptyNode;
    this.summary = summaryNode;
    this.dotLayer = svg("g", { class: "dots" });
    this.stackLayer = svg("g", { class: "stacks" });
    this.labelLayer = svg("g", { class: "labels" });
    this.svg.append(this.dotLayer, this.stackLayer, this.labelLayer);
    this.dots = new Map();
    this.stacks = new Map();
    this.labels = new Map();
    this.analysis = null;
    // the map's long description (maptable.js): visible on demand in the console, for screen readers only
    // on the projector, whose screen is for the room
    this.table = new MapTable(summaryNode, { hidden: document.body.classList.contains("projector") });
    this.scale = 0;
    // Labels are sized in screen pixels where a page asks for it (projector.css divides by --map-scale),
    // so a resize changes their size in view-box units: measure and place them again.
    // A text measured while the map was hidden (the projector's spotlight or round screen: display none)
    // has no length, and its plate would be too narrow for it: measure again once the map has a size.
    this.unmeasured = false;
    new ResizeObserver(() => {
      if (this.measureScale() || this.unmeasured) this.update(this.analysis);
    }).observe(this.svg);
    this.measureScale();
  }

  /** The view box's screen pixels per unit (the SVG keeps its aspect: the smaller ratio); true if changed. */
  measureScale() {
    // rounded down: a size divided by it is never below the size asked for
    const { width, height } = this.svg.getBoundingClientRect();
    const scale = Math.floor(Math.min(width / VIEW_W, height / VIEW_H) * 1e4) / 1e4;
    if (!(scale > 0) || scale === this.scale) return false;
    this.scale = scale;
    this.svg.style.setProperty("--map-scale", String(scale));
    return true;
  }

  /** Place every participant of the analysis; dots move to their new place with a transition. */
  update(analysis) {
    this.analysis = analysis;
    this.unmeasured = false;
    const entries = Object.entries((analysis && analysis.positions) || {})
      .filter(([, p]) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
    const hasMap = entries.length > 0;
    this.svg.classList.toggle("is-empty", !hasMap);
    this.empty.hidden = hasMap;
    const groupIndex = new Map((analysis ? analysis.groups : []).map((g, i) => [g.id, i]));
    const memberGroup = new Map(Object.entries((analysis && analysis.memberGroup) || {}));
    const project = this.projection(entries.map(([, p]) => p));
    const seen = new Set();
    const sums = new Map();
    const piles = new Map();
    const placed = [];
    for (const [pid, position] of entries) {
      seen.add(pid);
      const [x, y] = project(position);
      const spot = `${Math.round(x / STACK_PX)},${Math.round(y / STACK_PX)}`;
      const pile = piles.get(spot) || { pid, x, y, n: 0 };
      pile.n += 1;
      piles.set(spot, pile);
      const gid = memberGroup.get(pid);
      const index = gid === undefined ? -1 : groupIndex.get(gid);
      placed.push({ group: gid === undefined ? null : gid, x, y });
      if (gid !== undefined) {
        const sum = sums.get(gid) || { x: 0, y: 0, n: 0, top: Infinity };
        sum.x += x;
        sum.y += y;
        sum.n += 1;
        sum.top = Math.min(sum.top, y);
        sum.points = sum.points || [];
        sum.points.push([x, y]);
        sums.set(gid, sum);
      }
      let dot = this.dots.get(pid);
      if (!dot) {
        dot = svg("path", { class: "dot entering" });
        dot.style.transform = `translate(${x}px, ${y}px)`;
        this.dotLayer.append(dot);
        this.dots.set(pid, dot);
        requestAnimationFrame(() => requestAnimationFrame(() => dot.classList.remove("entering")));
      }
      dot.setAttribute("d", shapeFor(index));
      dot.setAttribute("class", `dot ${groupClass(index)}${dot.classList.contains("entering") ? " entering" : ""}`);
      dot.style.transform = `translate(${x.toFixed(1)}px, ${y.toFixed(1)}px)`;
    }
    for (const [pid, dot] of this.dots) {
      if (seen.has(pid)) continue;
      this.dots.delete(pid);
      dot.classList.add("leaving");
      setTimeout(() => dot.remove(), 900);
    }
    const plates = this.updateLabels(analysis, sums, groupIndex, placed);
    this.updateStacks(piles, plates);
    this.table.update(analysis ? analysis.groups : [], placed);
    if (this.summary) {
      const total = analysis && analysis.participants !== null ? analysis.participants : entries.length;
      const key = analysis && analysis.forming ? "map.summary_forming" : "map.summary";
      this.summary.textContent = hasMap ? t(key, { groups: analysis.groups.length, placed: entries.length, total }) : "";
    }
  }

  /** Uniform scale into the view box, so distances on the map keep their meaning. */
  projection(points) {
    if (!points.length) return () => [VIEW_W / 2, VIEW_H / 2];
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const minX = Math.min(...xs);
    const maxX = Math.max(...xs);
    const minY = Math.min(...ys);
    const maxY = Math.max(...ys);
    const spanX = Math.max(maxX - minX, 1e-9);
    const spanY = Math.max(maxY - minY, 1e-9);
    const scale = Math.min((VIEW_W - 2 * MARGIN) / spanX, (VIEW_H - 2 * MARGIN - 40) / spanY);
    const offX = (VIEW_W - spanX * scale) / 2;
    const offY = (VIEW_H - spanY * scale) / 2 + 20;
    const degenerate = maxX === minX && maxY === minY;
    return ([x, y]) => (degenerate ? [VIEW_W / 2, VIEW_H / 2] : [offX + (x - minX) * scale, offY + (y - minY) * scale]);
  }

  /**
   * "×6" beside a dot that hides others: people who voted alike sit on the same spot, and without the
   * count the map would show one dot for a group labelled "6 people". Keyed by the pile's first
   * participant, so a badge slides with its dot. A badge goes to the nearest spot around its pile that
   * covers no dot, no group label (`plates`, view-box boxes) and no other badge, biggest piles first; a
   * pile with no such spot near it shows no badge rather than a count over someone else's dot.
   */
  updateStacks(piles, plates) {
    const shown = new Set();
    const dots = Array.from(piles.values()).map((p) => box(p.x, p.y, 2 * DOT * 1.25 + 4, 2 * DOT * 1.25 + 4));
    const taken = plates.slice();
    const big = Array.from(piles.values()).filter((p) => p.n >= 2).sort((a, b) => b.n - a.n);
    for (const pile of big) {
      let badge = this.stacks.get(pile.pid);
      const fresh = !badge;
      if (fresh) {
        badge = svg("text", { class: "stack", "text-anchor": "middle", "dominant-baseline": "central" });
        this.stackLayer.append(badge);
      }
      badge.textContent = t("map.stack", { count: pile.n });
      const size = parseFloat(getComputedStyle(badge).fontSize) || 26;
      // the text's box as the browser reports it (a CJK font's line box: about 1.45 em), with a margin
      const width = this.textLength(badge) + size * 0.3;
      const height = size * 1.5;
      const spot = badgeSpot(pile, width, height, (b) => !dots.some((d) => overlaps(b, d)) && !taken.some((d) => overlaps(b, d)));
      if (!spot) {
        badge.remove();
        this.stacks.delete(pile.pid);
        continue;
      }
      taken.push(box(spot.x, spot.y, width, height));
      shown.add(pile.pid);
      this.stacks.set(pile.pid, badge);
      if (fresh) badge.style.transform = `translate(${spot.x.toFixed(1)}px, ${spot.y.toFixed(1)}px)`;
      badge.style.transform = `translate(${spot.x.toFixed(1)}px, ${spot.y.toFixed(1)}px)`;
    }
    for (const [pid, badge] of this.stacks) {
      if (!shown.has(pid)) {
        badge.remove();
        this.stacks.delete(pid);
      }
    }
  }

  updateLabels(analysis, sums, groupIndex, points) {
    const seen = new Set();
    const placed = [];
    const dots = points.map((p) => box(p.x, p.y, 2 * DOT * 1.25 + 4, 2 * DOT * 1.25 + 4));
    for (const group of analysis ? analysis.groups : []) {
      const sum = sums.get(group.id);
      if (!sum) continue;
      seen.add(group.id);
      let label = this.labels.get(group.id);
      if (!label) {
        const rect = svg("rect", { rx: 10, ry: 10 });
        const text = svg("text", { "text-anchor": "middle", "dominant-baseline": "central" });
        label = svg("g", { class: "group-label" });
        label.append(rect, text);
        this.labelLayer.append(label);
        this.labels.set(group.id, label);
      }
      label.setAttribute("class", `group-label ${groupClass(groupIndex.get(group.id))}`);
      const text = label.querySelector("text");
      text.textContent = t("map.group_label", { group: group.id, size: group.size });
      // the label's box follows its text size (26 units here, screen pixels on the projector)
      const size = parseFloat(getComputedStyle(text).fontSize) || 26;
      const height = Math.round(size * 1.55);
      const width = Math.max(3 * size, this.textLength(text) + size);
      const rect = label.querySelector("rect");
      rect.setAttribute("x", String(-width / 2));
      rect.setAttribute("y", String(-height / 2));
      rect.setAttribute("width", String(width));
      rect.setAttribute("height", String(height));
      // over the member nearest the group's mean, so the label sits on its own group even when another
      // group's dots lie between its members' mean and its topmost member
      const [ax, ay] = anchorOf(sum);
      const spot = labelSpot(ax, ay, width, height, dots, placed);
      label.style.transform = `translate(${spot.x.toFixed(1)}px, ${spot.y.toFixed(1)}px)`;
    }
    for (const [gid, label] of this.labels) {
      if (!seen.has(gid)) {
        label.remove();
        this.labels.delete(gid);
      }
    }
    // with the plate's outline: half its stroke lies outside the box
    const stroke = Math.max(...Array.from(this.labels.values(), (l) => parseFloat(getComputedStyle(l.querySelector("rect")).strokeWidth) || 0), 0);
    return placed.map((p) => box(p.x, p.y, p.w + stroke, p.h + stroke));
  }

  /** A text's length in view-box units; 0 for a text not laid out (a hidden map), noted to measure again. */
  textLength(node) {
    const length = node.getComputedTextLength();
    if (!(length > 0) && node.textContent) this.unmeasured = true;
    return length;
  }

  /** Re-render the text parts after a language switch. */
  relabel() {
    if (this.analysis) this.update(this.analysis);
    else this.table.render();
  }
}

/** The member dot nearest the mean of a group's dots (`sum`: their sums and the dots). */
function anchorOf(sum) {
  const mx = sum.x / sum.n;
  const my = sum.y / sum.n;
  let best = sum.points[0];
  let bestD = Infinity;
  for (const p of sum.points) {
    const d = (p[0] - mx) ** 2 + (p[1] - my) ** 2;
    if (d < bestD) {
      bestD = d;
      best = p;
    }
  }
  return best;
}

/**
 * Where a group's label goes: the spot nearest its anchor dot (first just above it, then below, beside, or
 * a step further out, on a grid of half a plate) that covers no dot and no label already placed, inside the
 * view box. A label placed only clear of other labels covered a dot of another group lying just above its
 * anchor (seen on a real meeting's map at 1920x1080), and at 1280x720 a plate a third of the map wide
 * covered its own group. With no free spot it goes above the anchor, clear of the other labels only
 * (`freeSpot`), as before.
 */
function labelSpot(ax, ay, width, height, dots, placed) {
  const reach = DOT * 1.25 + 4;
  const cx = Math.min(VIEW_W - width / 2 - 4, Math.max(width / 2 + 4, ax));  // centred, kept on the map
  const above = ay - reach - height / 2;
  const near = dots.filter((d) => Math.abs((d.left + d.right) / 2 - ax) < 3 * width
    && Math.abs((d.top + d.bottom) / 2 - ay) < 8 * height);
  const clear = (b) => b.left >= 0 && b.top >= 0 && b.right <= VIEW_W && b.bottom <= VIEW_H
    && !near.some((d) => overlaps(b, d)) && !placed.some((p) => overlaps(b, box(p.x, p.y, p.w + 8, p.h + 8)));
  const spots = [];
  for (let i = -12; i <= 12; i += 1) {
    for (let j = -8; j <= 8; j += 1) {
      const x = cx + (j * width) / 4;
      const y = above + (i * height) / 2;
      // nearest first; at equal distance above before below, centred before slid
      spots.push({ x, y, d: ((x - ax) / width) ** 2 + ((y - above) / height) ** 2 + (i > 0 ? 0.01 : 0) });
    }
  }
  spots.sort((a, b) => a.d - b.d);
  for (const { x, y } of spots) {
    if (clear(box(x, y, width, height))) {
      placed.push({ x, y, w: width, h: height });
      return { x, y };
    }
  }
  return { x: cx, y: freeSpot(placed, cx, Math.max(height / 2 + 4, above), width, height) };
}

/** A label height below or above `cy` that does not overlap the labels already placed. */
function freeSpot(placed, cx, cy, width, height) {
  const edge = height / 2 + 4;
  const clashes = (y) => placed.some((p) => Math.abs(p.x - cx) < (p.w + width) / 2 + 4 && Math.abs(p.y - y) < (p.h + height) / 2 + 4);
  let y = cy;
  for (let step = 1; clashes(y) && step < 20; step += 1) {
    const offset = Math.ceil(step / 2) * (height + 4);
    y = step % 2 ? cy - offset : cy + offset;
    if (y < edge || y > VIEW_H - edge) y = cy + Math.ceil(step / 2) * (height + 4) * (step % 2 ? 1 : -1);
  }
  y = Math.min(VIEW_H - edge, Math.max(edge, y));
  placed.push({ x: cx, y, w: width, h: height });
  return y;
}

/** A box centred on (x, y), in view-box units. */
function box(x, y, width, height) {
  return { left: x - width / 2, right: x + width / 2, top: y - height / 2, bottom: y + height / 2 };
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** Where a pile's count can go: beside, above or below the pile, nearest first, inside the view box. */
function badgeSpot(pile, width, height, free) {
  const reach = DOT * 1.25 + 4;
  for (const ring of [0, 1, 2, 3]) {
    const dx = reach + width / 2 + ring * height;
    const dy = reach + height / 2 + ring * height;
    const candidates = [[dx, 0], [-dx, 0], [0, -dy], [0, dy], [dx, -dy], [-dx, -dy], [dx, dy], [-dx, dy]];
    for (const [ox, oy] of candidates) {
      const x = pile.x + ox;
      const y = pile.y + oy;
      const b = box(x, y, width, height);
      if (b.left < 0 || b.top < 0 || b.right > VIEW_W || b.bottom > VIEW_H) continue;
      if (free(b)) return { x, y };
    }
  }
  return null;
}

/** One card per group: its shape and colour, "A 組 · 12 人", and its most representative statements. */
export function renderGroups(list, analysis, statementText) {
  list.replaceChildren();
  if (!analysis) return;
  analysis.groups.forEach((group, index) => {
    const reps = el("ul", {});
    for (const rep of group.representative.slice(0, REPS_PER_GROUP)) {
      const text = statementText(statementId(rep));
      if (text === null) continue;
      const agree = rep.direction !== "disagree";
      reps.append(el("li", {},
        el("span", { class: `rep-dir ${agree ? "rep-agree" : "rep-disagree"}`, text: repFigure(rep) }),
        document.createTextNode(text)));
    }
    list.append(el("li", { class: `group-card ${groupClass(index)}`, dataset: { group: group.id } },
      el("h3", {}, groupIcon(index), el("span", { text: t("map.group_label", { group: group.id, size: group.size }) })),
      reps));
  });
}

const LANE_ICONS = { acceptable: "✓", disputed: "⇄", needs_votes: "?" };

/**
 * The lanes' sections, one per `LANE_ORDER` entry, appended to `container` with headings of level
 * `heading` ("h2" on the projector, "h3" in the console under its own heading): the lanes are declared
 * once, in analysis.js, not again in each page. Texts are `data-i18n` keys, filled by applyI18n.
 * With `share` (the projector) the lanes split the container's fixed height by need (shareLanes).
 */
export function buildLanes(container, heading, { share = false } = {}) {
  for (const lane of LANE_ORDER) {
    const id = `lane-${lane}`;
    container.append(el("section", { class: `lane lane-${lane}`, "aria-labelledby": `${id}-h` },
      el(heading, { id: `${id}-h` },
        el("span", { class: "lane-icon", "aria-hidden": "true", text: LANE_ICONS[lane] }), " ",
        el("span", { id: `${id}-title`, dataset: { i18n: `lane.${lane}` } }), " ",
        el("span", { id: `${id}-n`, class: "lane-count" })),
      lane === "acceptable" ? el("p", { id: `${id}-rule`, class: "lane-rule", dataset: { i18n: "lane.acceptable_rule" } }) : null,
      el("ol", { id, class: "lane-list" }),
      el("p", { id: `${id}-more`, class: "lane-more muted", hidden: true }),
      el("p", { id: `${id}-empty`, class: "lane-empty muted",
        dataset: { i18n: lane === "needs_votes" ? "lane.none" : "lane.waiting" } })));
  }
  if (share) sharing.add(container);
  for (const section of container.querySelectorAll(".lane")) laneWatcher.observe(section);
}

/**
 * Fill the three lanes. Without an analysis, every statement is listed under "needs more votes"
 * (newest first) and the other lanes say they are waiting, so the room still sees new statements.
 */
export function renderLanes(root, analysis, statements, classic = false) {
  const known = Array.from(statements.keys()).map(String);
  const lanes = analysis ? laneStatements(analysis, known)
    : { acceptable: [], disputed: [], needs_votes: known.slice().sort((a, b) => Number(b) - Number(a)) };
  for (const lane of LANE_ORDER) {
    const ids = lanes[lane].filter((id) => statements.has(Number(id)));
    const list = root.querySelector(`#lane-${lane}`);
    reconcile(list, ids.slice(0, LANE_LIMIT), (id) => ({
      text: statements.get(Number(id)).text,
      figure: lane === "acceptable" ? acceptanceFigure(acceptanceOf(analysis, id), classic) : "",
    }));
    const count = root.querySelector(`#lane-${lane}-n`);
    count.textContent = ids.length ? t("lane.count", { n: ids.length }) : "";
    const empty = root.querySelector(`#lane-${lane}-empty`);
    empty.hidden = ids.length > 0;
    empty.textContent = t(analysis || lane === "needs_votes" ? "lane.none" : "lane.waiting");
    list.dataset.total = String(ids.length);
  }
  nameAcceptable(root.querySelector("#lane-acceptable-title"), root.querySelector("#lane-acceptable-rule"), classic, "lane");
  const container = root.querySelector(`#lane-${LANE_ORDER[0]}`).closest(".lane").parentElement;
  if (sharing.has(container)) shareLanes(container);
  else for (const section of container.querySelectorAll(":scope > .lane")) fitLane(section);
}

/** The size of each lane when it was last fitted: a resize to the same size needs no new fit. */
const fittedSize = new WeakMap();

/**
 * Refit a lane whose box changed size (the window, or the results heading taking room on the projector).
 * A lane that grows with its items (the console) is reported again after a fit, at the size just stored.
 */
const laneWatcher = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    const before = fittedSize.get(target);
    if (before && before.width === target.clientWidth && before.height === target.clientHeight) continue;
    // a shared lane's size changes with the others' (the window, or the results heading): share again
    if (sharing.has(target.parentElement)) shareLanes(target.parentElement);
    else fitLane(target);
  }
});

/** Lane containers whose lanes share a fixed height by need (buildLanes `share`, the projector). */
const sharing = new WeakSet();

/**
 * Split the container's height between its lanes by what each needs to show all it lists, then fit each.
 * Equal thirds left an empty lane ("目前沒有") a third of a 720-pixel projector while the full lanes hid
 * most of their items. A lane that needs no more than an equal share of what is left gets just what it
 * needs, smallest first; the lanes that need more share the rest equally and fit in it as before (fitLane).
 * When everything fits, the spare height is spread in proportion to need. Other visible children (the
 * results heading) keep their own height.
 */
function shareLanes(container) {
  const lanes = Array.from(container.querySelectorAll(":scope > .lane"));
  if (!lanes.length || !container.getClientRects().length) return;  // not on this screen: shared when it appears
  const needs = lanes.map((section) => naturalHeight(section));
  const firsts = lanes.map((section) => naturalHeight(section, 1));
  const others = Array.from(container.children).filter((node) => !lanes.includes(node) && node.getClientRects().length);
  const rows = (track) => Array.from(container.children).filter((node) => lanes.includes(node) || others.includes(node))
    .map((node) => (others.includes(node) ? "auto" : track(lanes.indexOf(node)))).join(" ");
  // measure the heading on its own row: with the tracks of a screen without it, it would stretch over a lane's
  container.style.gridTemplateRows = rows(() => "minmax(0, 1fr)");
  const style = getComputedStyle(container);
  const gaps = (parseFloat(style.rowGap) || 0) * (lanes.length + others.length - 1);
  let free = container.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom) - gaps
    - others.reduce((sum, node) => sum + node.getBoundingClientRect().height, 0);
  const fixed = new Map();
  const order = lanes.map((_, index) => index).sort((a, b) => needs[a] - needs[b]);
  for (const index of order) {
    if (needs[index] > free / (lanes.length - fixed.size)) break;
    fixed.set(index, needs[index]);
    free -= needs[index];
  }
  const allFit = fixed.size === lanes.length;
  // A lane that gets less than its first statement needs at three lines clipped it to one line ending in
  // "…" (the acceptable lane, with its rule line, at 1280x720): the lanes left share the rest equally, but
  // each at least its first statement whole, when the rest holds that much for each of them.
  const left = lanes.map((_, index) => index).filter((index) => !fixed.has(index));
  const floors = left.reduce((sum, index) => sum + firsts[index], 0) <= free;
  const track = (index) => {
    if (allFit) return `minmax(0, ${Math.max(needs[index], 1)}fr)`;
    if (fixed.has(index)) return `${fixed.get(index)}px`;
    return floors ? `minmax(${firsts[index]}px, 1fr)` : "minmax(0, 1fr)";
  };
  container.style.gridTemplateRows = rows(track);
  for (const section of lanes) fitLane(section);
}

/** The height (border box) the lane needs to show its first `shown` items (all by default) at the most lines,
 * and "還有 N 則". */
function naturalHeight(section, shown = Infinity) {
  const list = section.querySelector(".lane-list");
  const items = Array.from(list.children);
  section.style.setProperty("--lane-lines", String(LANE_LINES[0]));
  showFirst(items, Math.min(shown, items.length), Number(list.dataset.total || items.length),
    section.querySelector(".lane-more"));
  let bottom = 0;  // offsets are from the lane's padding edge: `.lane` is positioned (map.css)
  for (const child of section.children) {
    if (!child.getClientRects().length) continue;
    bottom = Math.max(bottom, child.offsetTop + child.offsetHeight + parseFloat(getComputedStyle(child).marginBottom));
  }
  const style = getComputedStyle(section);
  return Math.ceil(bottom + parseFloat(style.paddingBottom) + parseFloat(style.borderTopWidth)
    + parseFloat(style.borderBottomWidth));
}

/** Lines a statement may take on the projector (projector.css `--lane-lines`), most first. */
const LANE_LINES = [3, 2, 1];

/**
 * Show as many of the lane's items as fit whole in its box and hide the rest, then say how many are not
 * shown ("還有 3 則"), counting those beyond LANE_LIMIT too: shown + N is always the lane's count. On the
 * projector a lane is a fixed share of the screen that clips what overflows (half an item reads as a
 * different statement); in the console a lane grows with its items, so only the LANE_LIMIT cut applies.
 * A lane too low for even one statement at three lines tries fewer lines before it shows none.
 */
function fitLane(section) {
  if (!section.getClientRects().length) return;  // not on this screen: fitted when it appears
  const list = section.querySelector(".lane-list");
  const items = Array.from(list.children);
  const total = Number(list.dataset.total || items.length);
  for (const lines of LANE_LINES) {
    section.style.setProperty("--lane-lines", String(lines));
    if (fitItems(section, items, total) > 0 || !items.length) break;
  }
  fittedSize.set(section, { width: section.clientWidth, height: section.clientHeight });
}

/** Show the first items that fit whole with the "還有 N 則" line under them; how many are shown. */
function fitItems(section, items, total) {
  const more = section.querySelector(".lane-more");
  for (let shown = items.length; shown > 0; shown -= 1) {
    showFirst(items, shown, total, more);
    // "還有 N 則" is under the items in the console, beside the heading on the projector: both must fit
    if (endsInside(section, items[shown - 1]) && (more.hidden || endsInside(section, more))) return shown;
  }
  showFirst(items, 0, total, more);
  return 0;
}

function showFirst(items, shown, total, more) {
  items.forEach((li, index) => {
    li.hidden = index >= shown;
  });
  more.hidden = shown >= total;
  more.textContent = more.hidden ? "" : t("lane.more", { n: total - shown });
}

/**
 * Whether `node` ends above the lane's bottom padding. Layout offsets, not bounding boxes: an arriving
 * item slides in with a transform, which must not count as overflowing. `.lane` is positioned (map.css),
 * so offsets are measured from its padding edge.
 */
function endsInside(section, node) {
  const bottom = section.clientHeight - parseFloat(getComputedStyle(section).paddingBottom);
  return node.offsetTop + node.offsetHeight <= bottom + 0.5;
}

/**
 * Make `list` hold one <li> per id, in order, reusing the existing items: only new statements are
 * created (and animate in), so a re-render never restarts animations or flickers. Each item holds the
 * statement's text and, when there is one, its figure.
 */
function reconcile(list, ids, contentOf) {
  const existing = new Map(Array.from(list.children).map((li) => [li.dataset.statement, li]));
  const wanted = new Set(ids);
  for (const [id, li] of existing) if (!wanted.has(id)) li.remove();
  ids.forEach((id, index) => {
    let li = existing.get(id);
    if (!li) {
      li = el("li", { class: "arriving", dataset: { statement: id } },
        el("span", { class: "lane-no", text: statementLabel(id) }), el("span", { class: "lane-text" }),
        el("span", { class: "lane-figure" }));
      li.addEventListener("animationend", () => li.classList.remove("arriving"), { once: true });
    }
    const { text, figure } = contentOf(id);
    const [, textNode, figureNode] = li.children;
    if (textNode.textContent !== text) textNode.textContent = text;
    if (figureNode.textContent !== figure) figureNode.textContent = figure;
    figureNode.hidden = !figure;
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] || null);
  });
}

export { groupOf };
