// The figures beside a statement, from raw counts, for every page that shows them: the projector's and the
// console's group cards and lanes (map.js) and the phone's results. Apart from map.js so a phone, which
// draws no map, does not download the map to show two figures (test_pages.py, the phone's byte budget).

import { countShare } from "./dom.js";
import { t } from "./i18n.js";

/**
 * "✓ 5 / 6 贊成 · 83%": how many of the group's voters on the statement voted its way, from the raw
 * counts. Without counts only the direction is shown, never the smoothed share.
 */
export function repFigure(rep) {
  const agree = rep.direction !== "disagree";
  const figure = countShare(rep.count, rep.seen);
  if (!figure) return t(agree ? "map.rep_agree_plain" : "map.rep_disagree_plain");
  return t(agree ? "map.rep_agree" : "map.rep_disagree", figure);
}

/**
 * The catalog keys naming the acceptable lane and its rule: on the classic scale nobody could vote
 * "acceptable", so the lane is what most of every group agrees with ("每組多數贊成").
 */
export function acceptKeys(classic = false) {
  const suffix = classic ? "_classic" : "";
  return { lane: `lane.acceptable${suffix}`, heading: `results.everyone_accepts${suffix}`,
    rule: `lane.acceptable_rule${suffix}` };
}

/** Name the acceptable lane's heading and rule elements for the scale (their data-i18n follows). */
export function nameAcceptable(heading, rule, classic, headingKey = "heading") {
  const keys = acceptKeys(classic);
  for (const [node, key] of [[heading, keys[headingKey]], [rule, keys.rule]]) {
    if (!node) continue;
    node.dataset.i18n = key;
    node.textContent = t(key);
  }
}

/**
 * "地圖上 9 / 10 贊成或可接受 · 90% · 1 人反對" for a statement most of every group accepts, from its raw
 * counts; "" without them. The denominator is said: with opinion groups the counts are of the people on
 * the map (grouped), which can be fewer than all who voted on it; without groups, of everyone who voted.
 * The opposition is counted ("無人反對" when nobody voted against: the stricter tier). On the classic scale
 * (`classic`, see vocabulary.js isClassic) nobody could vote "acceptable": "9 / 10 贊成".
 */
export function acceptanceFigure(entry, classic = false) {
  const figure = entry ? countShare(entry.accepted, entry.seen) : null;
  if (!figure) return "";
  const units = Object.keys(entry.group_counts || {});
  const onMap = units.length > 0 && !units.includes("all");
  const parts = [t(classic ? "figure.agreed" : "figure.accepted", figure)];
  if (onMap) parts.unshift(t("figure.on_map"));
  if (Number.isInteger(entry.disagree)) {
    parts.push(entry.disagree === 0 ? t("figure.nobody_opposes") : t("figure.opposed", { n: entry.disagree }));
  }
  return parts.join(" ").replace(/ · $/, "");
}
