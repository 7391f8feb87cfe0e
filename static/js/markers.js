// The console's transcript markers (the `mark` command): the host sets a numbered marker when the agenda
// moves on and tells the stenographer its number, who types 〔標記 N〕 at the same point of the transcript;
// the record then places the transcript exactly there (docs/export.md, The publishable record).

import { $, setStatus } from "./dom.js";
import { t } from "./i18n.js";

/** Wire the form once; `send(type, fields)` is the live command, answering the ack's result. */
export function wireMarkers(send) {
  const form = $("#marker-form");
  if (!form || form.dataset.wired) return;
  form.dataset.wired = "1";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const label = $("#marker-label").value.trim();
    try {
      const ack = await send("mark", label ? { label } : {});
      const n = ((ack && ack.result) || {}).number;
      setStatus("#marker-status", t("marker.set", { n }), "ok");
      $("#marker-label").value = "";
    } catch {
      setStatus("#marker-status", t("marker.failed"), "error");
    }
  });
}
