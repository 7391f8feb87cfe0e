// "My data" on the phone (個人資料保護法 §3: to read one's data and have it deleted): what the meeting holds
// about this phone (its profile, its statements and what became of them, its votes), read with the phone's
// own token, and the button that erases all of it. Reachable at /m/CODE#my-data (the receipt link) for as long
// as the phone keeps its token. Loaded on demand (participant.js): most phones never open it. Every text from
// the server goes through textContent (dom.js).

import { $, el, setText, show } from "./dom.js";
import { t } from "./i18n.js";
import { keys, safeGet, safeSet } from "./store.js";
import { stateKey, voteKey } from "./vocabulary.js";

/**
 * A press on one of the panel's buttons (`id`: the button's id). participant.js shows the panel and loads this
 * module at the first press (or at once for the receipt link): `stop` ends the live connection, `onErased`
 * hides the rest of the page.
 */
export function press(code, id, { stop, onErased }) {
  if (id === "my-data-show") {
    load(code);
  } else if (id === "my-data-erase") {
    show("#my-data-confirm", true);
    $("#my-data-confirm-yes").focus();
  } else if (id === "my-data-confirm-no") {
    show("#my-data-confirm", false);
    $("#my-data-erase").focus();
  } else if (id === "my-data-confirm-yes") {
    erase(code, stop, onErased);
  }
}

async function load(code) {
  const token = safeGet(keys.token(code));
  setText("#my-data-status", t("mydata.loading"));
  let body = null;
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(code)}/mine`,
      { headers: { "x-participant-token": token || "" } });
    body = response.ok ? await response.json() : null;
  } catch {
    body = null;
  }
  if (!body) {
    setText("#my-data-status", t("mydata.failed"));
    return;
  }
  setText("#my-data-status", "");
  render(body);
}

function render(data) {
  const profile = $("#my-data-profile");
  profile.replaceChildren(
    el("li", { text: `${t("mydata.number")}${t("mydata.colon")}${data.participant}` }),
    el("li", { text: `${t("mydata.nickname")}${t("mydata.colon")}${data.nickname || t("mydata.none")}` }),
    el("li", { text: `${t("mydata.role")}${t("mydata.colon")}${data.role || t("mydata.none")}` }),
    el("li", { text: data.retention_days ? t("mydata.retention").replace("{days}", String(data.retention_days))
      : t("mydata.retention_none") }),
  );
  const statements = $("#my-data-statements");
  statements.replaceChildren(...data.statements.map((s) => {
    const fate = [t(stateKey(s.state))];
    if (s.reason) fate.push(`${t("mydata.reason")}${t("mydata.colon")}${s.reason}`);
    if (s.tally) {
      fate.push(Object.entries(s.tally).filter(([, n]) => n > 0)
        .map(([value, n]) => `${t(voteKey(value))} ${n}`).join(" · ") || t("mydata.no_votes"));
    }
    if (s.follow_up) fate.push(`${t("mydata.follow_up")}${t("mydata.colon")}${s.follow_up.response || s.follow_up.status}`);
    return el("li", {}, el("p", { class: "my-data-text", text: s.text }), el("p", { class: "muted", text: fate.join("；") }));
  }));
  show("#my-data-statements-empty", data.statements.length === 0);
  const votes = $("#my-data-votes");
  votes.replaceChildren(...data.votes.map((v) => el("li", {},
    el("span", { class: "my-data-vote", text: t(voteKey(v.value)) }), " ", el("span", { text: v.text }))));
  show("#my-data-votes-empty", data.votes.length === 0);
  show("#my-data-content", true);
}

/**
 * A request answered 503 (with several server processes, only the one that owns the meeting can erase or
 * delete it) is sent again a few times: the next may reach the owner. True once it succeeded.
 */
export async function postRetrying(url, options, attempts = 6) {
  for (let i = 0; i < attempts; i += 1) {
    try {
      const response = await fetch(url, options);
      if (response.ok) return true;
      if (response.status !== 503) return false;
    } catch {
      // the network: try again
    }
    await new Promise((resolve) => { setTimeout(resolve, 400 * (i + 1)); });
  }
  return false;
}

async function erase(code, stop, onErased) {
  const token = safeGet(keys.token(code));
  $("#my-data-confirm-yes").disabled = true;
  setText("#my-data-status", t("mydata.erasing"));
  const ok = await postRetrying(`/api/meetings/${encodeURIComponent(code)}/erase`,
    { method: "POST", headers: { "x-participant-token": token || "" } });
  $("#my-data-confirm-yes").disabled = false;
  if (!ok) {
    setText("#my-data-status", t("mydata.erase_failed"));
    return;
  }
  stop();
  for (const key of [keys.token(code), keys.queue(code), keys.profile(code), keys.draft(code)]) safeSet(key, null);
  onErased();
  show("#my-data", false);
  show("#erased", true);
  $("#erased").focus();
}
