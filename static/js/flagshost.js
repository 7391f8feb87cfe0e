/**
 * The voting-quality flags and the reversible exclusion on the host console (issue 24).
 *
 * The server flags a participant whose votes look mechanical (same answer to nearly everything, or faster
 * than the cards can be read: clustering/quality.py) in a host-only `quality_flags` message and the host
 * snapshot's `analysis.quality_flags`; the host answers with `analysis_exclude`, which the next run obeys.
 * A flag is a question for the host, never a verdict, so the panel shows the counts it rests on. Words:
 * flags.* in the full catalogs (phones read their own subset). Names go in as text nodes only.
 */
import { el } from "./dom.js";
import { t } from "./i18n.js";

const REASONS = { same_answer: "flags.same_answer", too_fast: "flags.too_fast" };

/**
 * Keeps the last run's flags and who is excluded, and renders the panel `#flags-panel`.
 * `ctx`: { name(id) -> how the console names a person, send(type, fields) -> Promise, errorText(e) }.
 */
export class HostFlags {
  constructor(ctx) {
    this.ctx = ctx;
    this.flags = [];
    this.excluded = new Set();
    this.error = "";
  }

  /** A console message; true when it changed what the panel shows. */
  receive(msg) {
    if (msg.type === "snapshot") {
      this.excluded = new Set((msg.excluded || []).map(Number));
      if (msg.analysis && Array.isArray(msg.analysis.quality_flags)) this.flags = msg.analysis.quality_flags;
      return true;
    }
    if (msg.type === "quality_flags") {
      this.flags = Array.isArray(msg.flags) ? msg.flags : [];
      return true;
    }
    return false;
  }

  /** A meeting event (alone or in a batch). */
  apply(event) {
    if (event.type !== "analysis_excluded") return;
    const id = Number(event.participant);
    if (event.excluded) this.excluded.add(id);
    else this.excluded.delete(id);
  }

  toggle(id, excluded) {
    this.error = "";
    this.ctx.send("analysis_exclude", { participant: id, excluded })
      .catch((e) => { this.error = this.ctx.errorText(e); this.render(); });
  }

  button(id) {
    const out = this.excluded.has(id);
    return el("button", {
      type: "button",
      class: out ? "flag-restore" : "flag-exclude",
      onclick: () => this.toggle(id, !out),
    }, t(out ? "flags.restore" : "flags.exclude"));
  }

  render() {
    const panel = document.getElementById("flags-panel");
    if (!panel) return;
    const flagged = new Set(this.flags.map((f) => Number(f.participant)));
    panel.hidden = !this.flags.length && !this.excluded.size && !this.error;
    document.getElementById("flags-heading").textContent = t("flags.heading");
    const items = this.flags.map((f) => {
      const id = Number(f.participant);
      const reasons = (f.reasons || []).filter((r) => REASONS[r]).map((r) => t(REASONS[r], f)).join("；");
      return el("li", { class: "flag", dataset: { participant: id } },
        el("span", { class: "person-name" }, this.ctx.name(id)), t("flags.sep"),
        el("span", { class: "flag-reasons" }, reasons), " ",
        this.button(id));
    });
    const others = [...this.excluded].filter((id) => !flagged.has(id)).sort((a, b) => a - b);
    const rest = others.map((id) => el("li", { class: "flag-excluded", dataset: { participant: id } },
      el("span", { class: "person-name" }, this.ctx.name(id)), " ", this.button(id)));
    const lists = [el("ul", { id: "flags-list", class: "flags-list" }, ...items)];
    if (rest.length) lists.push(el("p", { class: "muted" }, t("flags.excluded")), el("ul", { id: "flags-excluded" }, ...rest));
    document.getElementById("flags-body").replaceChildren(...lists);
    document.getElementById("flags-status").textContent = this.error;
  }
}
