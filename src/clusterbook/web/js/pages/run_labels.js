// Curated labels on the run page: a cluster's label cell (the effective label, where it came from,
// the computed one beside it) with an inline editor, and merging selected clusters. Both talk to the
// API (PATCH …/centroids/{id}, POST …/centroids/merge) and hand the updated run back to the page.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { fmtTimeLong } from "../format.js";
import { busy, toast } from "../ui.js";

/** Where the effective label came from, in words; null for a computed label. */
function provenance(c) {
  const parts = [];
  if (c.override) {
    parts.push(h("span", { class: "curated-by" }, `curated by ${c.override.by}`, h("span", { class: "muted" }, ` · ${fmtTimeLong(c.override.at)}`)));
  } else if (c.inherited && c.inherited.label) {
    parts.push(h("span", { class: "inherited-from", title: `Carried forward at Jaccard ${Number(c.inherited.jaccard).toFixed(2)}, curated by ${c.inherited.by}` }, `from ${c.inherited.run_id} ${c.inherited.cluster_id}`));
  }
  if ((c.override || c.inherited) && c.computed_label && c.computed_label !== c.label) {
    parts.push(h("span", { class: "computed-label muted" }, `computed: ${c.computed_label}`));
  }
  if (c.merged_from?.length) parts.push(h("span", { class: "merged-from muted" }, `merged from ${c.merged_from.join(", ")}`));
  return parts.length ? h("div", { class: "label-provenance small" }, parts) : null;
}

const words = (text) =>
  text
    .split(",")
    .map((w) => w.trim())
    .filter(Boolean);

/**
 * The label cell of cluster ``c``. ``editable``: the run completed, so the cell offers an editor;
 * ``onSaved(run)`` receives the run the server answered with.
 */
export function labelCell(c, { clusterId, runId, editable, onSaved }) {
  const cell = h("td", { class: "label-cell" });

  function view() {
    const label = c.label ? h("strong", { class: "centroid-label" }, c.label) : h("span", { class: "muted" }, "unlabelled");
    const edit = editable
      ? h("button", { type: "button", class: "btn btn-ghost btn-small edit-label", "aria-label": `Edit the label of ${c.cluster_id}`, onclick: editor }, "Edit")
      : null;
    replace(cell, h("div", { class: "label-line" }, label, edit), provenance(c));
  }

  function editor() {
    const label = h("input", { type: "text", name: "label", value: c.label || "", maxlength: "200", "aria-label": `Label of ${c.cluster_id}`, class: "input" });
    const keywords = h("input", { type: "text", name: "keywords", value: (c.keywords || []).join(", "), "aria-label": `Keywords of ${c.cluster_id} (comma-separated)`, class: "input" });
    const summary = h("input", { type: "text", name: "summary", value: c.summary || "", maxlength: "2000", "aria-label": `Summary of ${c.cluster_id}`, class: "input" });
    const save = h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Save");
    const cancel = h("button", { type: "button", class: "btn btn-small", onclick: view }, "Cancel");
    const reset = c.override
      ? h("button", { type: "button", class: "btn btn-ghost btn-small", title: "Remove the curated values: show what the run computed", onclick: () => send({ label: null, summary: null, keywords: null }, "Curated values removed") }, "Use computed")
      : null;
    const form = h("form", { class: "label-editor" }, h("label", { class: "label" }, "Label", label), h("label", { class: "label" }, "Keywords", keywords), h("label", { class: "label" }, "Summary", summary), h("div", { class: "actions" }, save, cancel, reset));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = {};
      // only what changed is sent; an emptied field removes that override
      if (label.value.trim() !== (c.label || "")) body.label = label.value.trim() || null;
      if (summary.value.trim() !== (c.summary || "")) body.summary = summary.value.trim() || null;
      const kw = words(keywords.value);
      if (kw.join(",") !== (c.keywords || []).join(",")) body.keywords = kw.length ? kw : null;
      if (!Object.keys(body).length) return view();
      send(body, "Label saved");
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") view();
    });

    async function send(body, done) {
      save.disabled = true;
      try {
        const run = await busy(api.updateCentroid(clusterId, runId, c.cluster_id, body));
        toast(done, { tone: "success", timeout: 2500 });
        onSaved(run);
      } catch (error) {
        save.disabled = false;
        toast(`Could not save: ${error.message}`, { tone: "error", timeout: 10000 });
      }
    }

    replace(cell, form);
    label.focus();
    label.select();
  }

  view();
  return cell;
}

/** The "merge selected" control of the clusters table; ``selected()`` gives the checked cluster ids. */
export function mergeControl({ clusterId, runId, selected, onMerged }) {
  const button = h("button", { type: "button", class: "btn btn-small merge-clusters", disabled: true, title: "Merge the checked clusters into the first one checked" }, "Merge selected");
  button.addEventListener("click", async () => {
    const ids = selected();
    if (ids.length < 2) return;
    const label = window.prompt(`Merge ${ids.join(", ")} into ${ids[0]}. Label of the merged cluster (empty: keep ${ids[0]}'s):`, "");
    if (label === null) return;
    button.disabled = true;
    try {
      const run = await busy(api.mergeCentroids(clusterId, runId, ids, label.trim() || null));
      toast(`Merged into ${ids[0]}; the run was rescored`, { tone: "success" });
      onMerged(run);
    } catch (error) {
      button.disabled = false;
      toast(`Could not merge: ${error.message}`, { tone: "error", timeout: 10000 });
    }
  });
  return {
    element: button,
    update(count) {
      button.disabled = count < 2;
      button.textContent = count >= 2 ? `Merge ${count} clusters` : "Merge selected";
    },
  };
}
