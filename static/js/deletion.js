// The console's "delete this meeting": the host types the meeting's code to confirm, then everything stored
// about the meeting is deleted (DELETE /api/meetings/CODE with the host key in its header, never in a URL).

import { $, displayCode, setStatus, setText } from "./dom.js";
import { t } from "./i18n.js";
import { postRetrying } from "./mydata.js";

/** Wire the panel once; `hostKey()` reads the current key, `onDeleted()` ends the console. */
export function wireDeletion(code, hostKey, onDeleted) {
  const input = $("#delete-confirm");
  const button = $("#delete-meeting");
  if (!input || !button || button.dataset.wired) return;
  button.dataset.wired = "1";
  const matches = () => input.value.replace(/[\s-]/g, "").toUpperCase() === code;
  input.addEventListener("input", () => { button.disabled = !matches(); });
  setText("#delete-code", displayCode(code));
  button.addEventListener("click", async () => {
    if (!matches()) return;
    button.disabled = true;
    setStatus("#delete-status", t("host.delete_running"));
    const ok = await postRetrying(`/api/meetings/${encodeURIComponent(code)}`,
      { method: "DELETE", headers: { "x-host-key": hostKey() || "" } });
    if (!ok) {
      setStatus("#delete-status", t("host.delete_failed"), "error");
      button.disabled = !matches();
      return;
    }
    onDeleted();
  });
}
