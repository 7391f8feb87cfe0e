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
 * "9 / 10 贊成或可接受 · 90%" for a statement acceptable to all, from its raw counts; "" without them. On
 * the classic scale (`classic`, see vocabulary.js isClassic) nobody could vote "acceptable": "9 / 10 贊成".
 */
export function acceptanceFigure(entry, classic = false) {
  const figure = entry ? countShare(entry.accepted, entry.seen) : null;
  return figure ? t(classic ? "figure.agreed" : "figure.accepted", figure) : "";
}
