// "/clusters/{id}/runs/{run_id}" — one run: status, metrics with their interpretation, the
// projection's scatter plot, the centroids, and for a failed run its error and traceback.

import { api, isAbort } from "../api.js";
import { destroyCharts, paletteColor, scatterPlot } from "../charts.js";
import { copyText, h, replace } from "../dom.js";
import {
  DASH,
  IN_FLIGHT,
  INTERPRETERS,
  fmtDuration,
  fmtInt,
  fmtMeasure,
  fmtNumber,
  fmtPercent,
  fmtTimeLong,
  measureHelp,
  measureValue,
} from "../format.js";
import { clusterPath, href, runPath } from "../nav.js";
import { breadcrumbs, busy, errorState, exportButtons, poller, spinner, statusBadge, toast } from "../ui.js";
import { selection } from "./common.js";
import { labelCell, mergeControl } from "./run_labels.js";

const POLL_MS = 2000;

export const runPage = {
  mount(container, ctx) {
    const { clusterId, runId } = ctx.params;
    document.title = `Run ${runId} · clusterbook`;
    const controller = new AbortController();
    let poll = null;
    let cluster = null;
    let shownStatus = null;

    const root = h("div", { class: "run-page" }, spinner("Loading run…"));
    container.append(root);

    let measures = []; // the declared measures (GET /v1/meta/measures)
    let baseline = null; // the run this one was compared with (it may be in another cluster)

    async function load() {
      try {
        const [run, found, declared] = await busy(
          Promise.all([
            api.getRun(clusterId, runId, { signal: controller.signal }),
            cluster ? cluster : api.getCluster(clusterId, { signal: controller.signal }),
            api.measures({ signal: controller.signal }),
          ]),
        );
        cluster = found;
        measures = declared;
        baseline = await baselineOf(run);
        render(run);
      } catch (error) {
        if (isAbort(error)) return;
        const title = error.status === 404 ? (error.message.startsWith("cluster") ? "Cluster not found" : "Run not found") : "Could not load this run";
        replace(root, errorState(error, { title, onRetry: error.status === 404 ? null : load, page: true }));
      }
    }

    /** The baseline run (for its cluster and name), or a stub when it cannot be read (deleted, no access). */
    async function baselineOf(run) {
      if (!run.baseline_run_id) return null;
      if (baseline?.run_id === run.baseline_run_id) return baseline;
      try {
        return await api.getRunById(run.baseline_run_id, { signal: controller.signal });
      } catch (error) {
        if (isAbort(error)) throw error;
        return { run_id: run.baseline_run_id, missing: true };
      }
    }

    function baselineLink(content, extra = {}) {
      if (!baseline || baseline.missing) return h("span", { class: "mono" }, content);
      return h("a", { href: href(runPath(baseline.cluster_id, baseline.run_id)), ...extra }, content);
    }

    function render(run) {
      shownStatus = run.status;
      destroyCharts(root);
      document.title = `${run.run_name || run.run_id} · ${cluster.cluster_name} · clusterbook`;
      replace(
        root,
        breadcrumbs([
          { label: "Clusters", href: href("/") },
          { label: cluster.cluster_name, href: href(clusterPath(clusterId)) },
          { label: run.run_name || run.run_id },
        ]),
        header(run),
        run.should_recluster ? h("div", { class: "notice notice-warn recluster-notice", role: "status" }, h("strong", {}, "Time to re-cluster. "), `${run.recluster_reason}.`) : null,
        run.status === "failed" ? failure(run) : null,
        IN_FLIGHT.has(run.status) ? inFlight(run) : null,
        run.status === "canceled" ? h("div", { class: "notice" }, `This run was canceled ${run.completed_at ? `at ${fmtTimeLong(run.completed_at)}` : ""}.`) : null,
        run.status === "completed" || run.metrics ? metricsSection(run) : null,
        run.status === "completed" ? projectionSection(run) : null,
        run.status === "completed" && (run.config?.hierarchy || run.config?.hierarchical_grouping) ? hierarchySection(run) : null,
        run.centroids?.length ? centroidsSection(run) : null,
        run.llm_labeling_errors?.length ? labelingErrors(run) : null,
        detailsSection(run),
      );
      poll?.stop();
      if (IN_FLIGHT.has(run.status)) {
        poll = poller(async () => {
          const fresh = await api.getRun(clusterId, runId);
          if (fresh.status !== shownStatus) render(fresh);
          else updateElapsed(fresh);
        }, POLL_MS);
      }
    }

    function header(run) {
      const actions = [];
      if (IN_FLIGHT.has(run.status)) {
        const cancel = h("button", { type: "button", class: "btn btn-danger" }, "Cancel run");
        cancel.addEventListener("click", async () => {
          if (!window.confirm("Cancel this run? A worker that already started it stops at its next checkpoint.")) return;
          cancel.disabled = true;
          try {
            const updated = await busy(api.cancelRun(clusterId, runId));
            toast("Run canceled", { tone: "success" });
            render(updated);
          } catch (error) {
            cancel.disabled = false;
            toast(`Could not cancel: ${error.message}`, { tone: "error", timeout: 10000 });
            if (error.status === 409) load();
          }
        });
        actions.push(cancel);
      }
      const picked = selection.get(clusterId).filter((id) => id !== runId);
      actions.push(h("a", { class: "btn", href: href(clusterPath(clusterId, "/compare"), { runs: [runId, ...picked].slice(0, 4) }) }, "Compare…"));
      const copyId = h("button", { type: "button", class: "btn btn-ghost", onclick: async () => toast((await copyText(run.run_id)) ? "Run id copied" : "Could not copy", { timeout: 2500 }) }, "Copy id");
      actions.push(copyId);
      if (run.status === "completed") {
        // where every document landed (id, cluster, label, distance), streamed by the server
        actions.push(exportButtons("Download members", [["csv", "CSV"], ["parquet", "Parquet"]], (format) => api.exportMembers(clusterId, runId, format)));
      }
      const facts = [
        ["Created", fmtTimeLong(run.created_at)],
        ["Started", fmtTimeLong(run.started_at)],
        ["Ended", fmtTimeLong(run.completed_at)],
        // the run-level measures (execution time, queue time …), as declared
        ...measures
          .filter((m) => !m.path.startsWith("metrics."))
          .map((m) => [m.label, m.name === "duration_ms" && IN_FLIGHT.has(run.status) ? h("span", { class: "elapsed" }, elapsed(run)) : h("span", { dataset: { measure: m.name }, title: m.meaning }, fmtMeasure(m, measureValue(run, m)))]),
        ["Baseline", run.baseline_run_id ? h("span", { class: "baseline-run" }, baselineLink(baseline?.run_name || run.baseline_run_id, { title: "The run this one is compared with (agreement, matched clusters)" }), baseline?.missing ? h("span", { class: "muted small" }, " (no longer readable)") : null) : h("span", { class: "muted", title: "No run was compared with this one" }, "none")],
        ["Algorithm", run.algorithm || DASH],
        ...(run.mode === "assign"
          ? [["Mode", h("span", { class: "assign-mode" }, "assigned to the centres of ", h("a", { href: href(runPath(clusterId, run.source_run_id)), class: "mono" }, run.source_run_id))]]
          : []),
        ["Points", fmtInt(run.num_points)],
        ["Attempts", run.attempts ? fmtInt(run.attempts) : DASH],
        ["Started by", h("span", { class: "run-trigger", title: "api: a request; schedule:<id> or monitor:<id>: that trigger" }, run.trigger === "api" ? "a request (api)" : run.trigger || "a request (api)")],
        // the demo's nightly history: a real run whose dates were moved back to its night
        run.backdated ? ["Back-dated", h("span", { class: "backdated", title: run.backdated.why }, `really ran ${fmtTimeLong(run.backdated.ran_at)}`)] : null,
      ].filter(Boolean);
      return h(
        "div",
        { class: "run-head" },
        h(
          "div",
          { class: "page-head" },
          h("div", { class: "page-title" }, h("h1", {}, run.run_name || run.run_id), h("p", { class: "subtitle" }, statusBadge(run.status), h("span", { class: "mono muted small" }, run.run_id))),
          h("div", { class: "page-actions" }, actions),
        ),
        h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
      );
    }

    function elapsed(run) {
      const since = Date.parse(run.started_at || run.created_at);
      return `${run.status === "pending" ? "queued for" : "running for"} ${fmtDuration(Math.max(0, Date.now() - since))}`;
    }

    function updateElapsed(run) {
      const el = root.querySelector(".elapsed");
      if (el) el.textContent = elapsed(run);
    }

    function inFlight(run) {
      return h(
        "div",
        { class: "notice notice-live", role: "status" },
        h("span", { class: "spinner", "aria-hidden": "true" }),
        run.status === "pending" ? "Waiting for a worker to pick this run up. This page updates by itself." : "A worker is computing this run. This page updates by itself when it ends.",
      );
    }

    function failure(run) {
      const text = [run.error_message, run.error_traceback].filter(Boolean).join("\n\n");
      const copy = h("button", { type: "button", class: "btn btn-small" }, "Copy error");
      copy.addEventListener("click", async () => {
        const ok = await copyText(text);
        copy.textContent = ok ? "Copied" : "Copy failed — select the text";
        setTimeout(() => {
          copy.textContent = "Copy error";
        }, 2000);
      });
      return h(
        "section",
        { class: "failure", "aria-labelledby": "failure-title" },
        h("div", { class: "failure-head" }, h("h2", { id: "failure-title" }, "This run failed"), copy),
        h("p", { class: "failure-message" }, run.error_message || "No error message was recorded."),
        run.error_traceback
          ? h("details", { class: "traceback", open: true }, h("summary", {}, "Traceback"), h("pre", { tabindex: "0", "aria-label": "Traceback" }, h("code", {}, run.error_traceback)))
          : null,
      );
    }

    function metricCard(name, label, value, interpretation, extra, help) {
      const tone = interpretation ? interpretation.tone : "neutral";
      return h(
        "div",
        { class: `card metric metric-${tone}`, dataset: { measure: name } },
        h("p", { class: "card-label" }, label),
        h(
          "p",
          { class: "card-value" },
          value,
          interpretation && value !== DASH ? h("span", { class: `tone tone-${tone}` }, ` — ${interpretation.text}`) : null,
        ),
        extra ? h("p", { class: "card-note" }, extra) : null,
        help ? h("p", { class: "metric-help" }, help) : null,
      );
    }

    function measureCard(run, measure, notes) {
      const value = measureValue(run, measure);
      const interpret = INTERPRETERS[measure.name];
      let extra = notes[measure.name] || null;
      if (!extra && value !== null && measure.name === "silhouette_score") extra = silhouetteBar(value);
      if (!extra && value !== null && measure.kind === "integer" && measure.maximum === null) extra = `${fmtPercent(value, run.num_points)} of the documents`;
      return metricCard(measure.name, measure.label, fmtMeasure(measure, value), interpret ? interpret(value) : null, extra, measureHelp(measure));
    }

    function metricsSection(run) {
      const notes = run.metrics?.notes || {};
      const declared = measures.filter((m) => m.path.startsWith("metrics."));
      const cards = [
        ...declared.map((m) => measureCard(run, m, notes)),
        metricCard("clusters", "Clusters", fmtInt(run.num_clusters), null, `over ${fmtInt(run.num_points)} documents`),
      ];
      const names = new Set(declared.map((m) => m.name));
      const other = Object.entries(notes).filter(([k]) => !names.has(k));
      return h(
        "section",
        { class: "section", "aria-labelledby": "metrics-title" },
        h("h2", { id: "metrics-title" }, "Quality"),
        h("div", { class: "cards metric-cards" }, cards),
        other.length ? h("ul", { class: "notes" }, other.map(([k, v]) => h("li", {}, h("strong", {}, k), `: ${v}`))) : null,
      );
    }

    function silhouetteBar(value) {
      const pct = ((Math.max(-1, Math.min(1, value)) + 1) / 2) * 100;
      return h("span", { class: "scale", "aria-hidden": "true" }, h("span", { class: "scale-marker", style: { left: `${pct}%` } }));
    }

    function projectionSection(run) {
      const canvas = h("canvas", { role: "img", "aria-label": "Scatter plot of the run's documents in two dimensions" });
      const body = h("div", { class: "scatter-wrap" }, spinner("Loading the projection…"));
      const note = h("p", { class: "muted small" }, "\u00a0");
      const section = h("section", { class: "section card", "aria-labelledby": "projection-title" }, h("h2", { id: "projection-title", class: "card-title" }, "Documents in two dimensions"), body, note);
      api.projection(clusterId, run.run_id, { signal: controller.signal }).then(
        (projection) => {
          if (!projection.points.length) {
            replace(body, h("p", { class: "muted" }, "The projection holds no points."));
            return;
          }
          const labels = new Map((run.centroids || []).map((c) => [c.cluster_id, c.label || c.cluster_id]));
          const groups = new Map();
          for (const p of projection.points) {
            const key = p.cluster_id ?? "__noise__";
            if (!groups.has(key)) groups.set(key, { label: p.cluster_id === null ? "Noise" : labels.get(p.cluster_id) || p.cluster_id, noise: p.cluster_id === null, points: [], order: p.cluster_id === null ? Infinity : Number.parseInt(String(p.cluster_id).replace(/\D/g, ""), 10) || 0 });
            groups.get(key).points.push({ x: p.x, y: p.y, doc: p.document_id });
          }
          const ordered = [...groups.values()].sort((a, b) => a.order - b.order);
          replace(body, h("div", { class: "scatter-canvas" }, canvas));
          scatterPlot(canvas, ordered, projection.centroids);
          replace(note, projection.sampled < projection.total ? `A sample of ${fmtInt(projection.sampled)} of ${fmtInt(projection.total)} documents; diamonds mark the cluster centres.` : `All ${fmtInt(projection.total)} documents; diamonds mark the cluster centres.`);
        },
        (error) => {
          if (isAbort(error)) return;
          if (error.status === 404) {
            section.classList.add("section-muted");
            replace(body, h("p", { class: "muted" }, "No projection was stored for this run, so there is no scatter plot."));
          } else {
            replace(body, errorState(error, { title: "Could not load the projection" }));
          }
        },
      );
      return section;
    }

    // The tree over the clusters (GET …/hierarchy): one <details> per group, so each level folds away.
    function hierarchySection(run) {
      const body = h("div", { class: "tree-wrap" }, spinner("Loading the hierarchy…"));
      const toggle = (open) => body.querySelectorAll("details").forEach((d) => (d.open = open));
      const tools = h(
        "div",
        { class: "tree-tools" },
        h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => toggle(true) }, "Expand all"),
        h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => toggle(false) }, "Collapse all"),
      );
      const section = h(
        "section",
        { class: "section card hierarchy", "aria-labelledby": "hierarchy-title" },
        h("div", { class: "card-head" }, h("h2", { id: "hierarchy-title", class: "card-title" }, "Cluster hierarchy"), tools),
        body,
      );
      api.hierarchy(clusterId, run.run_id, { signal: controller.signal }).then(
        (tree) => {
          const nodes = new Map(tree.nodes.map((n) => [n.node_id, n]));
          const total = nodes.get("root")?.num_members || 1;
          const line = (node) =>
            h(
              "span",
              { class: "tree-line" },
              h("span", { class: "tree-label" }, node.label || node.node_id),
              h("span", { class: "tree-count num" }, `${fmtInt(node.num_members)} · ${fmtPercent(node.num_members, total)}`),
              node.keywords?.length ? h("span", { class: "tree-keywords muted small" }, node.keywords.slice(0, 5).join(", ")) : null,
            );
          const branch = (node) => {
            if (!node.children.length) {
              return h("li", { class: "tree-leaf", dataset: { nodeId: node.node_id } }, h("span", { class: "mono muted small tree-id" }, node.node_id), line(node));
            }
            return h(
              "li",
              { class: "tree-node", dataset: { nodeId: node.node_id } },
              h("details", { open: node.level < 1 }, h("summary", {}, line(node)), h("ul", { class: "tree" }, node.children.map((id) => branch(nodes.get(id))))),
            );
          };
          const root = nodes.get("root");
          replace(
            body,
            h("ul", { class: "tree tree-root", role: "tree", "aria-label": "Clusters grouped into a tree" }, root.children.map((id) => branch(nodes.get(id)))),
            h("p", { class: "muted small" }, `${tree.levels} level${tree.levels === 1 ? "" : "s"} below all ${fmtInt(root.num_members)} documents; ${tree.method}.`),
          );
        },
        (error) => {
          if (isAbort(error)) return;
          replace(body, errorState(error, { title: "Could not load the hierarchy" }));
        },
      );
      return section;
    }

    function baselineCells(c) {
      if (!c.baseline_cluster_id) return [h("td", { class: "muted" }, "unmatched"), h("td", { class: "num muted" }, DASH)];
      const match = h("span", {}, baselineLink(c.baseline_cluster_id, { class: "mono" }), c.baseline_label ? h("span", {}, " ", h("strong", {}, c.baseline_label)) : null);
      const jaccard = c.jaccard ?? null;
      return [
        h("td", { class: "baseline-cell" }, match),
        h(
          "td",
          { class: "num jaccard-cell", title: "Shared members over the union of the two clusters" },
          h("span", {}, jaccard === null ? DASH : fmtNumber(jaccard, 2)),
          jaccard === null ? null : h("span", { class: "share", "aria-hidden": "true" }, h("span", { class: "share-bar", style: { width: `${100 * jaccard}%` } })),
        ),
      ];
    }

    // A cluster's bootstrap stability (mean best Jaccard over re-clustered subsamples): above 0.85 it
    // comes back reliably, below 0.6 it does not; the word says which band, not only the colourless number.
    function stabilityCell(c) {
      const value = c.stability ?? null;
      if (value === null) return h("td", { class: "num muted stability-cell" }, DASH);
      const band = value >= 0.85 ? "stable" : value >= 0.6 ? "doubtful" : "unstable";
      return h(
        "td",
        { class: `num stability-cell stability-${band}`, title: `How well this cluster comes back when subsamples are re-clustered: ${band}` },
        h("span", {}, fmtNumber(value, 2)),
        h("span", { class: "share", "aria-hidden": "true" }, h("span", { class: "share-bar", style: { width: `${100 * value}%` } })),
        h("span", { class: "muted small" }, band),
      );
    }

    function centroidsSection(run) {
      const total = run.centroids.reduce((n, c) => n + (c.num_members || 0), 0) || run.num_points;
      const compared = Boolean(run.baseline_run_id) && run.centroids.some((c) => c.baseline_cluster_id !== undefined);
      const scored = run.centroids.some((c) => c.stability !== undefined && c.stability !== null);
      const editable = run.status === "completed";
      const checked = []; // cluster ids in the order they were checked: the first keeps its id
      const merge = editable ? mergeControl({ clusterId, runId, selected: () => [...checked], onMerged: render }) : null;
      const pick = (c) =>
        h("input", {
          type: "checkbox",
          class: "merge-pick",
          "aria-label": `Select ${c.cluster_id} to merge`,
          onchange: (event) => {
            const at = checked.indexOf(c.cluster_id);
            if (event.target.checked && at < 0) checked.push(c.cluster_id);
            if (!event.target.checked && at >= 0) checked.splice(at, 1);
            merge.update(checked.length);
          },
        });
      const rows = run.centroids.map((c, i) =>
        h(
          "tr",
          { dataset: { cluster: c.cluster_id } },
          h("td", { class: "nowrap" }, editable ? pick(c) : null, h("span", { class: "swatch", style: { background: paletteColor(i) }, "aria-hidden": "true" }), h("span", { class: "mono" }, c.cluster_id)),
          labelCell(c, { clusterId, runId, editable, onSaved: render }),
          h("td", {}, (c.keywords || []).length ? h("ul", { class: "keywords" }, c.keywords.map((k) => h("li", {}, k))) : h("span", { class: "muted" }, DASH)),
          h("td", { class: "summary-cell" }, c.summary || h("span", { class: "muted" }, DASH)),
          h(
            "td",
            { class: "num members-cell" },
            h("span", {}, fmtInt(c.num_members)),
            h("span", { class: "share", "aria-hidden": "true" }, h("span", { class: "share-bar", style: { width: `${total ? (100 * c.num_members) / total : 0}%` } })),
            h("span", { class: "muted small" }, fmtPercent(c.num_members, total)),
          ),
          compared ? baselineCells(c) : null,
          scored ? stabilityCell(c) : null,
        ),
      );
      const merges = run.merges?.length
        ? h("p", { class: "muted small merges-note" }, run.merges.map((m) => `${m.cluster_ids.join(" + ")} merged into ${m.into} by ${m.by}, ${fmtTimeLong(m.at)}`).join("; "))
        : null;
      return h(
        "section",
        { class: "section", "aria-labelledby": "centroids-title" },
        h("div", { class: "section-head" }, h("h2", { id: "centroids-title" }, `Clusters (${fmtInt(run.centroids.length)})`), merge ? merge.element : null),
        merges,
        h(
          "div",
          { class: "table-scroll" },
          h(
            "table",
            { class: "table centroids-table" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Cluster"), h("th", { scope: "col" }, "Label"), h("th", { scope: "col" }, "Keywords"), h("th", { scope: "col" }, "Summary"), h("th", { scope: "col", class: "num" }, "Members"), compared ? [h("th", { scope: "col", title: "The baseline run's cluster matched to this one (one-to-one, by shared members)" }, "Baseline match"), h("th", { scope: "col", class: "num" }, "Jaccard")] : null, scored ? h("th", { scope: "col", class: "num", title: "Mean best Jaccard overlap with the clusters of re-clustered subsamples (bootstrap stability)" }, "Stability") : null)),
            h("tbody", {}, rows),
          ),
        ),
      );
    }

    function labelingErrors(run) {
      return h(
        "section",
        { class: "section notice notice-warn", "aria-labelledby": "llm-title" },
        h("h2", { id: "llm-title" }, "Labeling problems"),
        h("ul", {}, run.llm_labeling_errors.map((e) => h("li", {}, h("code", {}, e)))),
      );
    }

    function detailsSection(run) {
      const timings = run.timings_ms ? Object.entries(run.timings_ms) : [];
      const max = Math.max(1, ...timings.map(([, v]) => v));
      return h(
        "section",
        { class: "section details-grid" },
        timings.length
          ? h(
              "div",
              { class: "card" },
              h("h2", { class: "card-title" }, "Time per phase"),
              h("ul", { class: "timings" }, timings.map(([phase, ms]) => h("li", {}, h("span", { class: "timing-label" }, phase.replaceAll("_", " ")), h("span", { class: "timing-bar" }, h("span", { style: { width: `${(100 * ms) / max}%` } })), h("span", { class: "num" }, fmtDuration(ms))))),
            )
          : null,
        run.config
          ? h("details", { class: "card config" }, h("summary", {}, h("h2", { class: "card-title inline" }, "Configuration")), h("pre", { tabindex: "0" }, h("code", {}, JSON.stringify(run.config, null, 2))))
          : null,
      );
    }

    load();
    return {
      destroy() {
        controller.abort();
        poll?.stop();
        destroyCharts(root);
      },
    };
  },
};

