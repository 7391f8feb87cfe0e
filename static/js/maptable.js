// The consensus map as a table: what a sighted person reads off the SVG (how many opinion groups, how
// big, where each sits on the map, who is not in a group), for screen readers and anyone who cannot tell
// the dots apart (WCAG 1.1.1, 1.3.1). The SVG keeps role="img" with its one-line summary; this table is
// the long description. In the host console it is a <details> a keyboard opens; on the projector it is
// visually hidden (the room reads the map; a screen reader reads the table).
// The same rows are in the exports (facilitation/export/maptable.py).

import { el } from "./dom.js";
import { t } from "./i18n.js";

const REGIONS = {
  top_left: "maptable.top_left", top: "maptable.top", top_right: "maptable.top_right",
  left: "maptable.left", center: "maptable.center", right: "maptable.right",
  bottom_left: "maptable.bottom_left", bottom: "maptable.bottom", bottom_right: "maptable.bottom_right",
};
const THIRD_W = 1000 / 3;
const THIRD_H = 600 / 3;

/** Where a point of the 1000 x 600 view lies, in thirds: "top_left" ... "bottom_right", "center". */
export function region(x, y) {
  const col = x < THIRD_W ? "left" : x > 2 * THIRD_W ? "right" : "";
  const row = y < THIRD_H ? "top" : y > 2 * THIRD_H ? "bottom" : "";
  return [row, col].filter(Boolean).join("_") || "center";
}

export class MapTable {
  /** Builds the table after `anchor` (the map's summary line). */
  constructor(anchor, { hidden = false } = {}) {
    this.caption = el("caption", {});
    this.body = el("tbody", {});
    this.head = el("tr", {});
    this.table = el("table", { class: "map-table", id: "map-table" }, this.caption, el("thead", {}, this.head),
      this.body);
    if (hidden) {
      this.root = el("div", { class: "visually-hidden map-table-box" }, this.table);
    } else {
      this.summary = el("summary", {});
      this.root = el("details", { class: "map-table-box" }, this.summary, this.table);
    }
    anchor.after(this.root);
    this.rows = [];
    this.render();
  }

  /** `points`: [{group: id or null, x, y}] in view coordinates; `groups`: the analysis' groups in order. */
  update(groups, points) {
    const rows = [];
    for (const group of groups) {
      const mine = points.filter((p) => p.group === group.id);
      if (!mine.length) continue;
      rows.push({ id: group.id, n: mine.length, where: centre(mine) });
    }
    const loose = points.filter((p) => p.group === null);
    if (loose.length) rows.push({ id: null, n: loose.length, where: centre(loose) });
    this.rows = rows;
    this.render();
  }

  render() {
    if (this.summary) this.summary.textContent = t("maptable.open");
    this.caption.textContent = t("maptable.caption");
    this.head.replaceChildren(...["maptable.col_group", "maptable.col_people", "maptable.col_where"].map(
      (key) => el("th", { scope: "col", text: t(key) })));
    if (!this.rows.length) {
      this.body.replaceChildren(el("tr", {}, el("td", { colspan: 3, text: t("projector.map_empty") })));
      return;
    }
    this.body.replaceChildren(...this.rows.map((row) => el("tr", { dataset: { group: row.id ?? "" } },
      el("th", { scope: "row", text: row.id === null ? t("maptable.no_group")
        : t("maptable.group", { group: row.id }) }),
      el("td", { text: String(row.n) }),
      el("td", { text: t(REGIONS[row.where]) }))));
  }
}

function centre(points) {
  const x = points.reduce((sum, p) => sum + p.x, 0) / points.length;
  const y = points.reduce((sum, p) => sum + p.y, 0) / points.length;
  return region(x, y);
}
