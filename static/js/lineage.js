/**
 * Near-duplicate suggestions beside a pending statement, and a merge (issue 24, statement lineage).
 *
 * The server scores them (GET /api/meetings/{code}/similar: facilitation/core/similarity.py, measured in
 * bench/bench_near_duplicates.py); asked once per pending statement and kept here, because the console
 * re-renders its queue many times a second. A merge keeps the earlier statement's words, so the earlier
 * one and the pending repeat both close into one new statement (「已合併為 #N」). Texts are untrusted:
 * they go in as text nodes only. Its three words live here, not in static/i18n: that catalog is also every
 * phone's download, which has a byte budget (tests/e2e/test_pages.py) these host-only words would break.
 */
import { el } from "./dom.js";
import { getLang } from "./i18n.js";
import { statementNumber } from "./vocabulary.js";

const found = new Map(); // statement id -> "loading" | [{statement, score}]
const OPEN = new Set(["pending", "accepted"]);
const WORDS = {
  "zh-TW": {
    head: "可能重複（文字相似度）：", merge: (n) => `合併到 #${n}`,
    rewrite: "改寫／拆分", rewriteHint: "新的文字；拆成幾則時用 ｜ 分開",
  },
  en: {
    head: "Maybe a repeat (text similarity):", merge: (n) => `Merge into #${n}`,
    rewrite: "Reword / split", rewriteHint: "New words; to split, separate the statements with |",
  },
};
const drafts = new Map(); // statement id -> what the host typed (the queue is rebuilt many times a second)

function words() {
  return WORDS[getLang()] || WORDS["zh-TW"];
}

/**
 * The suggestions box of one pending statement (empty until the server answered, or with nothing similar).
 * `ctx`: { code, hostKey(), statements (Map id -> statement), send(type, fields) -> Promise, errorText(e),
 * changed() (render again once the answer is in) }.
 */
export function nearDuplicates(statement, ctx) {
  const box = el("div", { class: "near-duplicates", dataset: { for: statement.id } });
  const known = found.get(statement.id);
  if (known === undefined) {
    found.set(statement.id, "loading");
    fetch(`/api/meetings/${encodeURIComponent(ctx.code)}/similar?statement=${statement.id}`,
      { headers: { "x-host-key": ctx.hostKey() || "" } })
      .then((reply) => (reply.ok ? reply.json() : { similar: [] }))
      .then((body) => {
        found.set(statement.id, Array.isArray(body.similar) ? body.similar : []);
        ctx.changed();
      })
      .catch(() => found.delete(statement.id));
    return box;
  }
  if (!Array.isArray(known)) return box;
  const open = known.map((m) => ({ ...m, other: ctx.statements.get(m.statement) }))
    .filter((m) => m.other && OPEN.has(m.other.state));
  if (!open.length) return box;
  const error = el("p", { class: "action-error", role: "alert" });
  box.append(el("p", { class: "near-duplicates-head" }, words().head));
  for (const { other, score } of open) {
    const merge = el("button", {
      type: "button",
      class: "merge",
      onclick: () => {
        error.textContent = "";
        ctx.send("merge", { statements: [other.id, statement.id], text: other.text })
          .catch((e) => { error.textContent = ctx.errorText(e); });
      },
    }, words().merge(statementNumber(other.id)));
    box.append(el("div", { class: "near-duplicate", dataset: { statement: other.id } },
      el("span", { class: "near-duplicate-number" }, `#${statementNumber(other.id)} `),
      el("span", { class: "near-duplicate-text" }, other.text),
      el("span", { class: "near-duplicate-score" }, ` ${Number(score).toFixed(2)} `),
      merge));
  }
  box.append(error);
  return box;
}

/**
 * Reword or split one statement: one text rewords it (`reword`), several separated by ｜ or | split it
 * (`split`). The server refuses a reword once someone besides the author voted (`has_votes`).
 */
export function rewriteBox(statement, ctx) {
  const input = el("input", {
    id: `rewrite-${statement.id}`, class: "rewrite", maxlength: 2000, "aria-label": words().rewriteHint,
  });
  input.placeholder = words().rewriteHint;
  input.value = drafts.get(statement.id) || "";
  input.addEventListener("input", () => drafts.set(statement.id, input.value));
  const error = el("p", { class: "action-error", role: "alert" });
  const button = el("button", {
    type: "button",
    class: "rewrite-send",
    onclick: () => {
      const parts = input.value.split(/[｜|]/).map((part) => part.trim()).filter(Boolean);
      if (!parts.length) return;
      error.textContent = "";
      const sent = parts.length === 1
        ? ctx.send("reword", { statement: statement.id, text: parts[0] })
        : ctx.send("split", { statement: statement.id, texts: parts });
      sent.then(() => drafts.delete(statement.id)).catch((e) => { error.textContent = ctx.errorText(e); });
    },
  }, words().rewrite);
  return el("div", { class: "rewrite-box" }, input, button, error);
}
