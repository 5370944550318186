// One pair of the compare page: how a run relates to the reference run, as the server computed it
// (POST …/executions/compare): agreement cards, matched clusters side by side with Jaccard and both
// labels, the document flows as a diagram (and as a table), and a sample of moved documents.

import { flowDiagram, paletteColor } from "../charts.js";
import { h } from "../dom.js";
import { DASH, fmtInt, fmtNumber, shortId } from "../format.js";

const NOISE = "noise";

function runName(run) {
  return run.run_name || shortId(run.run_id);
}

function clusterCell(clusterId, label) {
  if (!clusterId) return h("span", { class: "muted" }, DASH);
  return h("span", { class: "cluster-ref" }, h("span", { class: "centroid-label" }, label || clusterId), label ? h("span", { class: "mono muted small" }, ` ${clusterId}`) : null);
}

function card(label, value, note) {
  return h("div", { class: "card stat" }, h("p", { class: "card-label" }, label), h("p", { class: "card-value" }, value), h("p", { class: "card-note" }, note || "\u00a0"));
}

function agreementCards(pair) {
  const scored = pair.ari !== null && pair.ari !== undefined;
  return h(
    "div",
    { class: "cards pair-cards" },
    card("Shared documents", fmtInt(pair.shared_documents), "clustered by both runs"),
    card("ARI", scored ? fmtNumber(pair.ari, 3) : DASH, "1 same partition, 0 chance"),
    card("AMI", scored ? fmtNumber(pair.ami, 3) : DASH, "1 same partition, 0 chance"),
    card("Stayed", scored ? `${fmtNumber(100 * pair.matched_fraction, 1)}%` : DASH, "in the matched cluster"),
    card("Moved", scored ? fmtInt(pair.moved_documents) : DASH, "left their matched cluster"),
  );
}

function jaccardCell(value) {
  if (value === null || value === undefined) return h("td", { class: "muted" }, DASH);
  return h(
    "td",
    { class: "num jaccard" },
    h("span", {}, fmtNumber(value, 2)),
    h("span", { class: "share", "aria-hidden": "true" }, h("span", { class: "share-bar", style: { width: `${Math.round(100 * value)}%` } })),
  );
}

function matchesTable(pair, reference, other) {
  const otherLabels = Object.fromEntries((other.centroids || []).map((c) => [c.cluster_id, c.label]));
  const rows = pair.matches.map((m) =>
    h(
      "tr",
      { dataset: { reference: m.reference_cluster_id, other: m.other_cluster_id || "" } },
      h("td", {}, clusterCell(m.reference_cluster_id, m.reference_label)),
      jaccardCell(m.jaccard),
      h("td", { class: "num" }, fmtInt(m.overlap)),
      h("td", {}, m.other_cluster_id ? clusterCell(m.other_cluster_id, m.other_label) : h("span", { class: "muted" }, "no match")),
    ),
  );
  const extra = pair.unmatched_other_cluster_ids.map((id) =>
    h("tr", { class: "unmatched", dataset: { other: id } }, h("td", { class: "muted" }, "no match"), h("td", { class: "muted" }, DASH), h("td", { class: "num muted" }, DASH), h("td", {}, clusterCell(id, otherLabels[id]))),
  );
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "table matches-table" },
      h("caption", { class: "sr-only" }, `Clusters of ${runName(other)} matched to those of ${runName(reference)}`),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, `${runName(reference)} (reference)`), h("th", { scope: "col" }, "Jaccard"), h("th", { scope: "col", class: "num" }, "Shared"), h("th", { scope: "col" }, runName(other))),
      ),
      h("tbody", {}, rows, extra),
    ),
  );
}

/** Node keys, labels and colours: a matched cluster on the right takes its reference cluster's colour. */
function flowNodes(pair, reference, other) {
  const refLabels = Object.fromEntries((reference.centroids || []).map((c) => [c.cluster_id, c.label]));
  const otherLabels = Object.fromEntries((other.centroids || []).map((c) => [c.cluster_id, c.label]));
  const refIndex = new Map(pair.matches.map((m, i) => [m.reference_cluster_id, i]));
  const matchedTo = new Map(pair.matches.filter((m) => m.other_cluster_id).map((m) => [m.other_cluster_id, m.reference_cluster_id]));
  const nodes = {};
  let spare = pair.matches.length;
  for (const f of pair.flows) {
    const left = `A:${f.reference_cluster_id ?? NOISE}`;
    const right = `B:${f.other_cluster_id ?? NOISE}`;
    if (!nodes[left]) {
      const id = f.reference_cluster_id;
      const index = id ? refIndex.get(id) ?? spare++ : null;
      nodes[left] = { label: id ? refLabels[id] || id : "Noise", color: id ? paletteColor(index) : null, column: 0 };
    }
    if (!nodes[right]) {
      const id = f.other_cluster_id;
      const partner = id ? matchedTo.get(id) : null;
      const index = partner ? refIndex.get(partner) : id ? spare++ : null;
      nodes[right] = { label: id ? otherLabels[id] || id : "Noise", color: id ? paletteColor(index) : null, column: 1 };
    }
  }
  return nodes;
}

function flowsSection(pair, reference, other) {
  if (!pair.flows.length) return null;
  const nodes = flowNodes(pair, reference, other);
  const flows = pair.flows.map((f) => ({ from: `A:${f.reference_cluster_id ?? NOISE}`, to: `B:${f.other_cluster_id ?? NOISE}`, flow: f.documents }));
  const canvas = h("canvas", { role: "img", "aria-label": `Documents flowing from the clusters of ${runName(reference)} (left) to those of ${runName(other)} (right)` });
  const shown = pair.flows.length < pair.flow_count ? `The ${pair.flows.length} largest of ${fmtInt(pair.flow_count)} flows.` : `All ${fmtInt(pair.flow_count)} flows.`;
  const table = h(
    "details",
    { class: "flows-details" },
    h("summary", {}, "Flows as a table"),
    h(
      "table",
      { class: "table flows-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, runName(reference)), h("th", { scope: "col" }, runName(other)), h("th", { scope: "col", class: "num" }, "Documents"))),
      h("tbody", {}, pair.flows.map((f, i) => h("tr", {}, h("td", {}, nodes[flows[i].from].label), h("td", {}, nodes[flows[i].to].label), h("td", { class: "num" }, fmtInt(f.documents))))),
    ),
  );
  const box = h("div", { class: "chart-box flow-box" }, canvas);
  queueMicrotask(() => {
    if (!flowDiagram(canvas, flows, nodes)) box.replaceChildren(h("p", { class: "muted" }, "The flow diagram could not be drawn; the flows are in the table below."));
  });
  return h("section", { class: "card flows-card", "aria-label": "Document flows" }, h("h3", { class: "card-title" }, "Where the documents went"), h("p", { class: "muted small card-hint" }, `${shown} Left: ${runName(reference)}; right: ${runName(other)}; a matched cluster keeps its colour.`), box, table);
}

function movedSection(pair) {
  if (!pair.moved_sample.length) return null;
  return h(
    "details",
    { class: "moved-details" },
    h("summary", {}, `Moved documents: the first ${pair.moved_sample.length} of ${fmtInt(pair.moved_documents)} by id`),
    h(
      "ul",
      { class: "moved-list mono small" },
      pair.moved_sample.map((m) => h("li", {}, `${m.document_id}: ${m.reference_cluster_id ?? "noise"} → ${m.other_cluster_id ?? "noise"}`)),
    ),
  );
}

/** The section of one pair: ``reference`` and ``other`` are the runs (from the response's ``runs``). */
export function pairSection(pair, reference, other) {
  const title = `${runName(other)} against ${runName(reference)}`;
  return h(
    "section",
    { class: "section pair", "aria-label": title, dataset: { other: pair.other_run_id } },
    h("h2", {}, title),
    agreementCards(pair),
    pair.note ? h("p", { class: "notice" }, `No agreement: ${pair.note}.`) : null,
    pair.matches.length || pair.unmatched_other_cluster_ids.length
      ? h("div", { class: "pair-grid" }, h("section", { class: "card", "aria-label": "Matched clusters" }, h("h3", { class: "card-title" }, "Matched clusters"), matchesTable(pair, reference, other)), flowsSection(pair, reference, other))
      : null,
    movedSection(pair),
  );
}
