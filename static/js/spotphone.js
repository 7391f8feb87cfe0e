// The spotlight on a phone (issue 23): a banner above the card ("主持人請大家討論這一則", the countdown),
// and the spotlighted statement as the current card at once for a phone that has not voted on it.
//
// Never a card swapped under a tap: participant.js binds each vote button to the statement drawn with it,
// so a tap already on its way votes on what the person read. Two things remain, and this module guards both:
// a finger down on the buttons when the spotlight arrives (the swap waits until it lifts), and a tap that
// was aimed at the old card but lands just after the new one appeared (the new card's buttons answer only
// after SWAP_GUARD_MS; the card is outlined meanwhile so the change is seen).
//
// participant.js loads this module (and it its stylesheet) at the first spotlight, not at joining: the
// phone's first download has a budget (tests/e2e/test_pages.py), and most meetings never spotlight.

import { $, el, setText, show } from "./dom.js";
import { t } from "./i18n.js";
import { formatClock, SpotlightModel } from "./spotlight.js";
import { statementLabel, voteKey } from "./vocabulary.js";

export const SWAP_GUARD_MS = 800;

const SHEET = "/static/css/spotlight.css";
if (!document.querySelector(`link[href="${SHEET}"]`)) document.head.append(el("link", { rel: "stylesheet", href: SHEET }));

export class PhoneSpotlight {
  /**
   * `takeCard(id)` makes statement `id` the phone's card if it still should be (true when it did);
   * `changeVote(id)` opens the card of a statement already voted on.
   */
  constructor({ takeCard, changeVote }) {
    this.model = new SpotlightModel();
    this.takeCard = takeCard;
    this.changeVote = changeVote;
    this.guardUntil = 0;
    this.guarded = null;
    this.fingerDown = false;
    this.pendingSwap = null;
    this.timer = null;
    const buttons = $("#vote-buttons");
    buttons.addEventListener("pointerdown", () => { this.fingerDown = true; });
    for (const type of ["pointerup", "pointercancel", "pointerleave"]) {
      buttons.addEventListener(type, () => {
        this.fingerDown = false;
        // after the click this finger makes has reached its own card
        if (this.pendingSwap !== null) setTimeout(() => this.swap(this.pendingSwap), 0);
      });
    }
    $("#spot-change").addEventListener("click", () => {
      if (this.model.active) this.changeVote(this.model.statement);
    });
  }

  fromSnapshot(msg) {
    this.model.fromSnapshot(msg);
  }

  /** Fold an event; a new spotlight becomes the card of a phone that has not voted on it. */
  apply(event) {
    if (!this.model.apply(event)) return;
    if (event.type === "spotlight_started") this.swap(event.statement);
    if (event.type === "spotlight_ended") this.pendingSwap = null;
  }

  swap(id) {
    if (!this.model.active || this.model.statement !== id) {
      this.pendingSwap = null;
      return;
    }
    if (this.fingerDown) {
      this.pendingSwap = id;
      return;
    }
    this.pendingSwap = null;
    if (this.takeCard(id)) {
      this.guarded = id;
      this.guardUntil = Date.now() + SWAP_GUARD_MS;
      const card = $("#card");
      card.classList.add("spot-new");
      setTimeout(() => card.classList.remove("spot-new"), SWAP_GUARD_MS);
    }
  }

  /** Whether a tap on the card of statement `id` counts now (not in the moment after it was swapped in). */
  tapAllowed(id) {
    return !(this.guarded === id && Date.now() < this.guardUntil);
  }

  /** The banner, from the phone's statements (id -> statement), its votes (id -> value) and whether it votes. */
  render(statements, votes, open) {
    const model = this.model;
    const shown = model.active && open;
    show("#spot-banner", shown);
    clearInterval(this.timer);
    this.timer = null;
    if (!shown) return;
    setText("#spot-banner-h", t("spotlight.phone_heading", { number: statementLabel(model.statement) }));
    const statement = statements.get(model.statement);
    setText("#spot-banner-text", statement ? statement.text : "");
    const voted = votes.get(model.statement);
    setText("#spot-banner-voted", voted ? t("spotlight.phone_voted", { value: t(voteKey(voted)) }) : "");
    show("#spot-banner-voted", Boolean(voted));
    show("#spot-change", Boolean(voted));
    this.renderClock();
    if (model.deadline) this.timer = setInterval(() => this.renderClock(), 1000);
  }

  renderClock() {
    const left = this.model.remaining();
    show("#spot-banner-clock", left !== null);
    if (left !== null) {
      setText("#spot-banner-clock", left > 0 ? t("spotlight.left", { time: formatClock(left) }) : t("spotlight.time_up"));
    }
  }
}
