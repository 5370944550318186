// "/clusters/{id}/compare?runs=a,b,c" — two to four runs side by side: their metrics (best marked)
// and their clusters with sizes and labels.

import { api, isAbort } from "../api.js";
import { h, replace, uid } from "../dom.js";
import {
  DASH,
  INTERPRETERS,
  fmtInt,
  fmtMeasure,
  fmtNumber,
  fmtPercent,
  fmtTime,
  measureValue,
  shortId,
} from "../format.js";
import { clusterPath, href, runPath, setQuery } from "../nav.js";
import { busy, emptyState, errorState, interpreted, spinner, statusBadge } from "../ui.js";
import { MAX_COMPARE, clusterHeader, selection } from "./common.js";

function readRuns(query) {
  const ids = (query.get("runs") || "").split(",").map((s) => s.trim()).filter(Boolean);
  return [...new Set(ids)].slice(0, MAX_COMPARE);
}

const FACT_ROWS = [
  { label: "Status", cell: (r) => statusBadge(r.status) },
  { label: "Created", cell: (r) => fmtTime(r.created_at) },
  { label: "Algorithm", cell: (r) => r.algorithm || DASH },
  { label: "Documents", value: (r) => r.num_points, cell: (r) => fmtInt(r.num_points) },
  { label: "Clusters", value: (r) => (r.status === "completed" ? r.num_clusters : null), cell: (r) => (r.status === "completed" ? fmtInt(r.num_clusters) : DASH) },
];

/** One row per declared measure (GET /v1/meta/measures); the best run is marked by its direction. */
function measureRow(measure) {
  const interpret = INTERPRETERS[measure.name];
  return {
    label: measure.label,
    measure: measure.name,
    value: (r) => measureValue(r, measure),
    better: measure.direction === "higher" ? "high" : measure.direction === "lower" ? "low" : null,
    cell: (r) => (interpret ? interpreted(measureValue(r, measure), interpret, measure.digits) : fmtMeasure(measure, measureValue(r, measure))),
  };
}

function rowsFor(measures) {
  return [...FACT_ROWS, ...measures.map(measureRow), { label: "Parameters", cell: (r) => paramsText(r) }];
}

function paramsText(run) {
  const params = run.config?.params || run.config?.algorithm_params;
  if (!params || typeof params !== "object") return h("span", { class: "muted" }, DASH);
  const entries = Object.entries(params).filter(([, v]) => v !== null && typeof v !== "object");
  if (!entries.length) return h("span", { class: "muted" }, DASH);
  return h("ul", { class: "param-list" }, entries.slice(0, 8).map(([k, v]) => h("li", {}, h("span", { class: "muted" }, `${k} `), String(v))));
}

export const comparePage = {
  mount(container, ctx) {
    const clusterId = ctx.params.clusterId;
    document.title = "Compare runs · clusterbook";
    let controller = null;
    const head = clusterHeader(clusterId, { tab: "compare" });
    const body = h("div", { class: "compare-body" });
    container.append(head.el, body);
    api.getCluster(clusterId).then(
      (cluster) => {
        head.setCluster(cluster);
        document.title = `${cluster.cluster_name} · Compare · clusterbook`;
      },
      (error) => {
        if (error.status === 404) container.replaceChildren(errorState(error, { title: "Cluster not found", page: true }));
      },
    );

    function setRuns(ids) {
      selection.set(clusterId, ids);
      setQuery({ runs: ids });
    }

    function picker(current) {
      const selectId = uid("add-run");
      const select = h("select", { id: selectId, class: "input" }, h("option", { value: "" }, "Loading recent runs…"));
      select.disabled = true;
      const add = h("button", { type: "button", class: "btn", disabled: true }, "Add");
      add.addEventListener("click", () => {
        if (select.value) setRuns([...current, select.value]);
      });
      select.addEventListener("change", () => {
        add.disabled = !select.value;
      });
      api
        .listExecutions(clusterId, { filters: { status: "completed" } }, { page_size: 25 }, { signal: controller.signal })
        .then((data) => {
          const options = data.results.filter((r) => !current.includes(r.run_id));
          replace(
            select,
            h("option", { value: "" }, options.length ? "Choose a completed run…" : "No other completed runs"),
            options.map((r) => h("option", { value: r.run_id }, `${r.run_name || shortId(r.run_id)} · ${fmtTime(r.created_at)} · silhouette ${fmtNumber(r.metrics?.silhouette_score, 2)}`)),
          );
          select.disabled = !options.length;
        })
        .catch((error) => {
          if (!isAbort(error)) replace(select, h("option", { value: "" }, "Could not load runs"));
        });
      return h(
        "div",
        { class: "toolbar picker" },
        h("div", { class: "field field-grow" }, h("label", { class: "label", for: selectId }, "Add a run (newest completed runs)"), select),
        add,
        h("a", { class: "btn btn-ghost", href: href(clusterPath(clusterId)) }, "Pick in the history"),
      );
    }

    async function load(query) {
      controller?.abort();
      controller = new AbortController();
      const ids = readRuns(query);
      head.setFilterQuery({});
      if (!ids.length) {
        replace(
          body,
          emptyState({ title: "Pick two to four runs to compare", body: "Tick runs in the history table, or add completed runs here." }),
          picker([]),
        );
        return;
      }
      selection.set(clusterId, ids);
      replace(body, spinner("Loading runs…"));
      let measures;
      let results;
      try {
        [measures, results] = await busy(
          Promise.all([
            api.measures({ signal: controller.signal }),
            Promise.all(ids.map((id) => api.getRun(clusterId, id, { signal: controller.signal }).then((run) => ({ id, run }), (error) => ({ id, error })))),
          ]),
        );
      } catch (error) {
        if (isAbort(error)) return;
        replace(body, errorState(error, { title: "Could not load the measures", onRetry: () => load(query) }));
        return;
      }
      if (results.some((r) => isAbort(r.error))) return;
      const clusterMissing = results.find((r) => r.error?.status === 404 && r.error.message.startsWith("cluster"));
      if (clusterMissing) {
        container.replaceChildren(errorState(clusterMissing.error, { title: "Cluster not found", page: true }));
        return;
      }
      render(results, measures);
    }

    function render(results, measures) {
      const ids = results.map((r) => r.id);
      const runs = results.filter((r) => r.run).map((r) => r.run);
      const columns = results.map(({ id, run, error }) => {
        const remove = h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Remove ${run?.run_name || id} from the comparison`, onclick: () => setRuns(ids.filter((x) => x !== id)) }, "Remove");
        return h(
          "th",
          { scope: "col", class: "compare-col" },
          run ? h("a", { href: href(runPath(clusterId, id)), class: "row-title" }, run.run_name || shortId(id)) : h("span", { class: "row-title" }, shortId(id)),
          h("div", { class: "mono muted small" }, id),
          error ? h("div", { class: "form-error small" }, error.status === 404 ? "Run not found" : error.message) : null,
          remove,
        );
      });
      const bestOf = (row) => {
        if (!row.better) return null;
        const values = runs.map(row.value).filter((v) => v !== null && v !== undefined);
        if (values.length < 2) return null;
        return row.better === "high" ? Math.max(...values) : Math.min(...values);
      };
      const hasParams = runs.some((r) => r.config?.params || r.config?.algorithm_params);
      const metricRows = rowsFor(measures).filter((row) => row.label !== "Parameters" || hasParams).map((row) => {
        const best = bestOf(row);
        return h(
          "tr",
          { dataset: row.measure ? { measure: row.measure } : {} },
          h("th", { scope: "row" }, row.label),
          results.map(({ run }) => {
            if (!run) return h("td", { class: "muted" }, DASH);
            const isBest = best !== null && row.value(run) === best;
            return h("td", { class: isBest ? "best" : null }, row.cell(run), isBest ? h("span", { class: "best-mark" }, " ★ best") : null);
          }),
        );
      });
      const metricsTable = h(
        "div",
        { class: "table-scroll" },
        h("table", { class: `table compare-table cols-${results.length}` }, h("caption", { class: "sr-only" }, "Metrics of the compared runs"), h("thead", {}, h("tr", {}, h("td", { class: "corner" }), columns)), h("tbody", {}, metricRows)),
      );
      const clusterCols = results.map(({ id, run }) =>
        h(
          "section",
          { class: "card compare-clusters", "aria-label": `Clusters of ${run?.run_name || id}` },
          h("h3", { class: "card-title" }, run?.run_name || shortId(id)),
          run?.centroids?.length ? centroidList(run) : h("p", { class: "muted" }, run ? (run.status === "completed" ? "No clusters recorded." : `No clusters: the run is ${run.status}.`) : "Run not found."),
        ),
      );
      replace(
        body,
        results.length < 2 ? h("div", { class: "notice" }, "Add at least one more run to compare.") : null,
        h("section", { class: "section", "aria-labelledby": "cmp-metrics" }, h("h2", { id: "cmp-metrics" }, "Metrics"), metricsTable),
        h("section", { class: "section", "aria-labelledby": "cmp-clusters" }, h("h2", { id: "cmp-clusters" }, "Clusters by size"), h("div", { class: `compare-grid cols-${results.length}` }, clusterCols)),
        ids.length < MAX_COMPARE ? picker(ids) : null,
      );
    }

    function centroidList(run) {
      const total = run.centroids.reduce((n, c) => n + (c.num_members || 0), 0) || run.num_points;
      const sorted = [...run.centroids].sort((a, b) => b.num_members - a.num_members);
      return h(
        "ol",
        { class: "centroid-list" },
        sorted.map((c) =>
          h(
            "li",
            {},
            h("div", { class: "centroid-line" }, h("span", { class: "centroid-label" }, c.label || c.cluster_id), h("span", { class: "num muted small" }, `${fmtInt(c.num_members)} · ${fmtPercent(c.num_members, total)}`)),
            h("span", { class: "share", "aria-hidden": "true" }, h("span", { class: "share-bar", style: { width: `${total ? (100 * c.num_members) / total : 0}%` } })),
            c.keywords?.length ? h("div", { class: "muted small" }, c.keywords.join(", ")) : null,
          ),
        ),
      );
    }

    load(ctx.query);
    return {
      update: (next) => load(next.query),
      destroy: () => controller?.abort(),
    };
  },
};
