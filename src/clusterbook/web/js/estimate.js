// Execute with the estimate first: POST …/execute/estimate, then queue. A run its algorithm's size
// limit refuses opens a dialog with the server's reason (naming sample_size or pca_components) and is
// not queued; a run estimated at CONFIRM_SECONDS or more asks first; the notice of a queued run says
// what was estimated.

import { api } from "./api.js";
import { h, uid } from "./dom.js";
import { fmtInt } from "./format.js";
import { busy } from "./ui.js";

export const CONFIRM_SECONDS = 30;

/** "2,000 × 384 documents · ~3 s · ~12 MiB" */
export function estimateText(e) {
  const mib = Math.max(1, Math.round(e.estimated_memory_bytes / 2 ** 20));
  const secs = e.estimated_seconds < 10 ? e.estimated_seconds.toFixed(1) : fmtInt(Math.round(e.estimated_seconds));
  return `${fmtInt(e.documents)} documents × ${fmtInt(e.dimensions)} dimensions · ~${secs} s · ~${fmtInt(mib)} MiB`;
}

function estimateDialog(cluster, estimate) {
  const titleId = uid("dialog-title");
  const refused = estimate.refused;
  const lines = [
    h("p", { class: "estimate-figures" }, estimateText(estimate)),
    h("p", { class: "muted small" },
      `${estimate.algorithm} fits ${fmtInt(estimate.fit_documents)} × ${fmtInt(estimate.fit_dimensions)}; its limit is ` +
      `${fmtInt(estimate.max_documents)} documents and ${fmtInt(estimate.max_cells)} documents × dimensions.`),
  ];
  if (refused) lines.push(h("p", { class: "estimate-reason", role: "alert" }, estimate.reason));
  const cancel = h("button", { type: "button", class: "btn" }, refused ? "Close" : "Cancel");
  const queue = refused ? null : h("button", { type: "submit", class: "btn btn-primary" }, "Queue run");
  const form = h(
    "form",
    { class: "form", method: "dialog" },
    h("h2", { class: "dialog-title", id: titleId }, refused ? `${cluster.cluster_name} is too large to run` : `Run ${cluster.cluster_name}?`),
    ...lines,
    h("div", { class: "dialog-actions" }, cancel, queue),
  );
  const dialog = h("dialog", { class: "dialog estimate-dialog", "aria-labelledby": titleId }, form);
  return new Promise((resolve) => {
    cancel.addEventListener("click", () => dialog.close("cancel"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      dialog.close("queue");
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "queue");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Estimate, maybe ask, then queue. Resolves to {run, estimate}, or null when nothing was queued. */
export async function executeWithEstimate(cluster, body = {}) {
  const estimate = await busy(api.estimate(cluster.cluster_id, body));
  if (estimate.refused || estimate.estimated_seconds >= CONFIRM_SECONDS) {
    if (!(await estimateDialog(cluster, estimate))) return null;
  }
  const run = await busy(api.execute(cluster.cluster_id, body));
  return { run, estimate };
}
