// The API-key prompt: shown when the API answers 401. The key is kept for the tab's session
// (sessionStorage) and sent as a Bearer token by api.js; the page then loads again with it.

import { setApiKey } from "./api.js";
import { h, uid } from "./dom.js";

let open = null;

export function promptForKey(_error, refusedKey) {
  if (open) return;
  if (refusedKey) setApiKey(null); // the saved key no longer works (revoked?): ask again
  const inputId = uid("api-key");
  const titleId = uid("dialog-title");
  const input = h("input", { id: inputId, class: "input mono", type: "password", required: true, autocomplete: "off", spellcheck: "false" });
  const form = h(
    "form",
    { class: "form", method: "dialog" },
    h("h2", { class: "dialog-title", id: titleId }, "API key required"),
    h("p", { class: "muted small", role: "alert" }, refusedKey ? "The saved key was refused (it may have been revoked)." : "This server answers only requests that carry an API key."),
    h("div", { class: "field" }, h("label", { class: "label", for: inputId }, "API key"), input,
      h("p", { class: "hint" }, "Create one on the server: clusterbook keys create --namespace NAME. Kept for this tab only.")),
    h("div", { class: "dialog-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Use key")),
  );
  open = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    setApiKey(key);
    window.location.reload();
  });
  open.addEventListener("cancel", (event) => event.preventDefault()); // nothing to see without a key
  document.body.append(open);
  open.showModal();
  input.focus();
}
