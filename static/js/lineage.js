/**
 * Near-duplicate suggestions beside a pending statement, a merge, and a reword or split of a pending or
 * published statement (issue 24, statement lineage).
 *
 * The server scores them (GET /api/meetings/{code}/similar: facilitation/core/similarity.py, measured in
 * bench/bench_near_duplicates.py); asked once per pending statement and kept here, because the console
 * re-renders its lists many times a second. A merge keeps the earlier statement's words, so the earlier
 * one and the pending repeat both close into one new statement (「已合併為 #N」). Texts are untrusted:
 * they go in as text nodes only. Words: lineage.* in the full catalogs (phones read their own subset).
 *
 * The rules are the server's (facilitation/core/commands/lineage.py): a pending or accepted statement can be
 * split into 2 to 10 statements whatever its votes (the votes stay on the closed original), and reworded
 * only while no one but its author has voted (`has_votes` otherwise); nothing changes once the meeting is
 * closed. The console follows them to offer what applies and shows the server's refusal in words.
 */
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { statementNumber } from "./vocabulary.js";

const found = new Map(); // statement id -> "loading" | [{statement, score}]
const OPEN = new Set(["pending", "accepted"]);
const drafts = new Map(); // statement id -> what the host typed (the lists are rebuilt many times a second)
const opened = new Set(); // published statements whose reword / split box the host opened
const refusals = new Map(); // statement id -> the server's refusal of the last reword / split, in words
const REFUSALS = { has_votes: "lineage.has_votes", not_open: "lineage.not_open", too_few: "lineage.too_few" };

/**
 * Votes on a statement besides its author's, from its tally: an author implicitly agrees with an accepted
 * statement of theirs (a pending one waits for moderation without that vote); seeds have no author.
 */
export function othersVoted(statement) {
  const total = Object.values(statement.tally || {}).reduce((sum, n) => sum + (Number(n) || 0), 0);
  const author = statement.author !== null && statement.author !== undefined && statement.state === "accepted";
  return Math.max(0, total - (author ? 1 : 0));
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
  box.append(el("p", { class: "near-duplicates-head" }, t("lineage.maybe_repeat")));
  for (const { other, score } of open) {
    const merge = el("button", {
      type: "button",
      class: "merge",
      onclick: () => {
        error.textContent = "";
        ctx.send("merge", { statements: [other.id, statement.id], text: other.text })
          .catch((e) => { error.textContent = ctx.errorText(e); });
      },
    }, t("lineage.merge_into", { n: statementNumber(other.id) }));
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
 * (`split`). With `reword: false` (others have voted) the box offers the split only and says why; a single
 * text is still sent as a reword, for the server to refuse in the same words.
 */
export function rewriteBox(statement, ctx, { reword = true } = {}) {
  const hint = t(reword ? "lineage.rewrite_hint" : "lineage.split_hint");
  // The hint is a label line over the box, not a placeholder: a placeholder is cut to the input's width (on a
  // 360 px console half of it was lost) and disappears at the first letter typed.
  const label = el("label", { class: "rewrite-hint", for: `rewrite-${statement.id}`, text: hint });
  const input = el("input", { id: `rewrite-${statement.id}`, class: "rewrite", maxlength: 2000 });
  input.value = drafts.get(statement.id) || "";
  input.addEventListener("input", () => drafts.set(statement.id, input.value));
  // the refusal outlives the many re-renders (kept here, written into whichever box is on the page)
  const errorId = `rewrite-error-${statement.id}`;
  const error = el("p", { id: errorId, class: "action-error", role: "alert", text: refusals.get(statement.id) || "" });
  const refused = (text) => {
    refusals.set(statement.id, text);
    const node = document.getElementById(errorId);
    if (node) node.textContent = text;
  };
  const button = el("button", {
    type: "button",
    class: "rewrite-send",
    onclick: () => {
      const parts = input.value.split(/[｜|]/).map((part) => part.trim()).filter(Boolean);
      if (!parts.length) return;
      refused("");
      const sent = parts.length === 1
        ? ctx.send("reword", { statement: statement.id, text: parts[0] })
        : ctx.send("split", { statement: statement.id, texts: parts });
      sent.then(() => drafts.delete(statement.id))
        .catch((e) => refused(e && REFUSALS[e.code] ? t(REFUSALS[e.code]) : ctx.errorText(e)));
    },
  }, t(reword ? "lineage.rewrite" : "lineage.split"));
  const others = reword ? 0 : othersVoted(statement);
  return el("div", { class: "rewrite-box" }, label, input, button,
    others ? el("p", { class: "rewrite-note", text: t("lineage.split_only", { n: others }) }) : null, error);
}

/**
 * The reword / split box of a published (accepted) statement, folded under a summary so the list stays
 * readable: "Reword / split" while only its author has voted, "Split" once others have.
 */
export function publishedRewrite(statement, ctx) {
  const reword = othersVoted(statement) === 0;
  const details = el("details", { class: "rewrite-more" },
    el("summary", { class: "rewrite-open" }, t(reword ? "lineage.rewrite" : "lineage.split")),
    rewriteBox(statement, ctx, { reword }));
  details.open = opened.has(statement.id);
  details.addEventListener("toggle", () => {
    if (details.open) opened.add(statement.id);
    else opened.delete(statement.id);
  });
  return details;
}
