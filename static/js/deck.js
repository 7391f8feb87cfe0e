// The results deck of the projector's reviewing and closing screens: what the meeting found, in sections
// (what every group accepts first, then the disputed statements, what each group thinks, what still needs
// votes), each cut into pages of whole statements at the screen's full reading size, one page at a time,
// turning by itself. Long lists are paged, never shrunk: a back row reads 36 px statements or nothing.
// A presenter's clicker (PageDown / PageUp, or the arrow keys) turns the pages by hand, which holds the
// rotation on that page for a while. Statement text is untrusted: it reaches the page through textContent.

import { el } from "./dom.js";
import { t } from "./i18n.js";
import { groupIcon } from "./map.js";

/**
 * How long a page stays: enough to read it aloud. A room reads Chinese at about five characters a second
 * (silent reading is faster, but a room follows the slowest reader and the facilitator's voice), plus a
 * few seconds to find the start; never less than PAGE_MIN_MS, never more than PAGE_MAX_MS.
 */
const READ_CHARS_PER_SECOND = 5;
const PAGE_BASE_MS = 4000;
const PAGE_MIN_MS = 12000;
const PAGE_MAX_MS = 45000;
/** After the host turns a page by hand the deck stays there this long before it turns by itself again. */
const MANUAL_HOLD_MS = 90000;

/**
 * A statement taller than a whole page (a meeting may allow 1,000 characters) is alone on its page and
 * shows as many whole lines as the page holds, ending in "…": the phones have all of it.
 */
function clampTall(node) {
  const list = node.querySelector(".deck-list");
  const item = list.firstElementChild;
  const text = item.querySelector(".deck-text");
  const lineHeight = parseFloat(getComputedStyle(text).lineHeight);
  const rest = item.offsetHeight - text.offsetHeight;
  text.style.setProperty("--deck-lines", String(Math.max(1, Math.floor((list.clientHeight - rest) / lineHeight))));
}

/**
 * A section: {key, tone ("ok" | "bad" | "warn" | "g0".."g7"), icon (text) or group (index for its shape),
 * title, count, rule (one line saying what the section's rule is, or ""), empty (what an empty section
 * says), items: [{statement, label, text, figure, figureTone}]}.
 */
export class Deck {
  constructor(root) {
    this.root = root;
    this.sections = [];
    this.pages = [];
    this.current = 0;
    this.signature = "";
    this.laidOut = "";
    this.timer = null;
    this.heldUntil = 0;
    this.active = false;
    new ResizeObserver(() => this.layout()).observe(root);
  }

  /** Show these sections; the pages are cut again only when something shown changed. */
  show(sections) {
    const signature = JSON.stringify(sections);
    if (signature === this.signature) return;
    this.signature = signature;
    this.sections = sections;
    this.layout(true);
  }

  /** Rotate while the deck is on screen; stop when it is not. */
  setActive(active) {
    if (active === this.active) return;
    this.active = active;
    if (active) this.layout();
    this.schedule();
  }

  /** Turn `step` pages (wrapping round); by hand (`manual`), hold the rotation on the page reached. */
  turn(step, manual = false) {
    if (this.pages.length < 2) return;
    this.current = (this.current + step + this.pages.length) % this.pages.length;
    if (manual) this.heldUntil = Date.now() + MANUAL_HOLD_MS;
    this.reveal();
    this.schedule();
  }

  /** Cut every section into pages that fit the deck's box, keeping the page the room is reading. */
  layout(force = false) {
    if (force) this.laidOut = "";  // what is shown changed: cut again, now or when the deck appears
    if (!this.root.getClientRects().length) return;  // not on this screen: cut when it appears
    const size = `${this.root.clientWidth}x${this.root.clientHeight}`;
    if (size === this.laidOut) return;
    this.laidOut = size;
    const before = this.pages[this.current];
    const anchor = before ? { key: before.section.key, first: before.items[0]?.statement } : null;
    this.root.replaceChildren();
    this.pages = [];
    for (const section of this.sections) {
      const chunks = this.cut(section);
      chunks.forEach((chunk, index) => this.pages.push({ section, items: chunk.items, tall: chunk.tall,
        index, count: chunks.length }));
    }
    for (const page of this.pages) {
      page.node = this.pageNode(page.section, page.items, page);
      this.root.append(page.node);
      if (page.tall) clampTall(page.node);
      page.node.hidden = true;
    }
    this.current = this.find(anchor);
    this.reveal();
    this.schedule();
  }

  /** The pages of one section: its items in order, as many whole ones on each page as its list holds. */
  cut(section) {
    if (!section.items.length) return [{ items: [], tall: false }];
    const probe = this.pageNode(section, section.items, { index: 0, count: 2 });
    this.root.append(probe);
    const list = probe.querySelector(".deck-list");
    const room = list.clientHeight;
    const nodes = Array.from(list.children);
    const chunks = [];
    let chunk = null;
    let top = 0;
    nodes.forEach((node, index) => {
      const bottom = node.offsetTop + node.offsetHeight;
      if (!chunk || bottom - top > room + 0.5) {
        chunk = { items: [], tall: false };
        chunks.push(chunk);
        top = node.offsetTop;
      }
      chunk.items.push(section.items[index]);
      if (node.offsetHeight > room + 0.5) chunk.tall = true;  // alone on its page, clamped (see deck.css)
    });
    probe.remove();
    return chunks;
  }

  /** The page index holding `anchor` (the section and first statement read before), else that section's. */
  find(anchor) {
    if (!anchor) return 0;
    const same = this.pages.findIndex((p) => p.section.key === anchor.key && p.items.some((i) => i.statement === anchor.first));
    if (same >= 0) return same;
    const section = this.pages.findIndex((p) => p.section.key === anchor.key);
    return Math.max(0, section);
  }

  pageNode(section, items, page) {
    const icon = Number.isInteger(section.group) ? groupIcon(section.group)
      : el("span", { class: "deck-icon", "aria-hidden": "true", text: section.icon || "" });
    const head = el("header", { class: "deck-head" },
      el("h3", { class: "deck-title" }, icon, el("span", { class: "deck-name", text: section.title }),
        section.count ? el("span", { class: "deck-count", text: section.count }) : null),
      page.count > 1 ? el("p", { class: "deck-page-no", text: t("projector.page_count", { page: page.index + 1, pages: page.count }) }) : null);
    const list = el("ol", { class: "deck-list" });
    for (const item of items) {
      list.append(el("li", { dataset: { statement: item.statement } },
        el("span", { class: "stmt-no", text: item.label }),
        el("div", { class: "deck-item" },
          el("p", { class: "deck-text", text: item.text }),
          item.figure ? el("p", { class: `deck-figure tone-${item.figureTone || section.tone}`, text: item.figure }) : null)));
    }
    return el("section", { class: `deck-page tone-${section.tone}${page.tall ? " is-tall" : ""}`,
      dataset: { section: section.key, ...(section.groupId ? { group: section.groupId } : {}) } },
    head,
    section.rule ? el("p", { class: "deck-rule", text: section.rule }) : null,
    items.length ? list : el("p", { class: "deck-empty", text: section.empty || "" }));
  }

  reveal() {
    this.pages.forEach((page, index) => {
      page.node.hidden = index !== this.current;
    });
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.active || this.pages.length < 2) return;
    const page = this.pages[this.current];
    const chars = page.items.reduce((sum, item) => sum + item.text.length + (item.figure || "").length, 0);
    const dwell = Math.min(PAGE_MAX_MS, Math.max(PAGE_MIN_MS, PAGE_BASE_MS + (chars / READ_CHARS_PER_SECOND) * 1000));
    const wait = Math.max(dwell, this.heldUntil - Date.now());
    this.timer = setTimeout(() => this.turn(1), wait);
  }

  /** For tests and the screen: where the deck is. */
  position() {
    const page = this.pages[this.current];
    return page ? { page: this.current, pages: this.pages.length, section: page.section.key } : null;
  }
}
