// "/clusters/{id}/compare?runs=a,b,c" — two to four runs compared by the server
// (POST …/executions/compare): their measures with the best marked, the config keys that differ, and
// how each run's clusters map onto the first run's (compare_pairs.js).

import { api, isAbort } from "../api.js";
import { destroyCharts } from "../charts.js";
import { h, replace, uid } from "../dom.js";
import { DASH, INTERPRETERS, fmtInt, fmtMeasure, fmtNumber, fmtTime, shortId } from "../format.js";
import { clusterPath, href, runPath, setQuery } from "../nav.js";
import { busy, emptyState, errorState, interpreted, spinner, statusBadge } from "../ui.js";
import { MAX_COMPARE, clusterHeader, selection } from "./common.js";
import { pairSection } from "./compare_pairs.js";

function readRuns(query) {
  const ids = (query.get("runs") || "").split(",").map((s) => s.trim()).filter(Boolean);
  return [...new Set(ids)].slice(0, MAX_COMPARE);
}

const FACT_ROWS = [
  { label: "Status", cell: (r) => statusBadge(r.status) },
  { label: "Created", cell: (r) => fmtTime(r.created_at) },
  { label: "Algorithm", cell: (r) => r.algorithm || DASH },
  { label: "Documents", cell: (r) => fmtInt(r.num_points) },
  { label: "Clusters", cell: (r) => fmtInt(r.num_clusters) },
];

function runName(run) {
  return run.run_name || shortId(run.run_id);
}

function configValue(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, DASH);
  return h("span", { class: "mono" }, typeof value === "string" ? value : JSON.stringify(value));
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
      const signal = controller.signal;
      const ids = readRuns(query);
      head.setFilterQuery({});
      destroyCharts(body);
      if (!ids.length) {
        replace(
          body,
          emptyState({ title: "Pick two to four runs to compare", body: "Tick runs in the history table, or add completed runs here." }),
          picker([]),
        );
        return;
      }
      selection.set(clusterId, ids);
      replace(body, spinner(ids.length < 2 ? "Loading the run…" : "Comparing runs…"));
      if (ids.length < 2) {
        const found = await api.findRun(ids[0], { signal }).then((run) => ({ run }), (error) => ({ error }));
        if (isAbort(found.error)) return;
        replace(body, h("div", { class: "notice" }, "Add at least one more run to compare."), runsTable(ids, [found], null, null), picker(ids));
        return;
      }
      let measures;
      let compared;
      try {
        [measures, compared] = await busy(Promise.all([api.measures({ signal }), api.compareRuns(clusterId, ids, { signal })]));
      } catch (error) {
        if (isAbort(error)) return;
        if (error.status === 404 && error.message.startsWith("cluster")) {
          container.replaceChildren(errorState(error, { title: "Cluster not found", page: true }));
          return;
        }
        const bad = Object.fromEntries(error.errors.map((e) => [e.loc, e.message]));
        if (error.status === 422 && ids.some((_, i) => bad[`run_ids[${i}]`])) {
          await renderRefused(ids, bad, signal);
          return;
        }
        replace(body, errorState(error, { title: "Could not compare these runs", onRetry: () => load(query) }));
        return;
      }
      render(ids, compared, measures);
    }

    /** A run the server would not compare (unknown, or not completed): each column says why. */
    async function renderRefused(ids, bad, signal) {
      const found = await Promise.all(
        ids.map((id, i) => {
          const problem = bad[`run_ids[${i}]`];
          return api.findRun(id, { signal }).then((run) => ({ run, problem }), (error) => ({ error, problem }));
        }),
      );
      if (found.some((f) => isAbort(f.error))) return;
      for (const f of found) if (f.error?.status === 404) f.error = null; // the problem already says so
      replace(
        body,
        h("div", { class: "notice", role: "alert" }, "These runs cannot be compared: only completed runs can. Remove the marked ones or pick others."),
        runsTable(ids, found, null, null),
        ids.length < MAX_COMPARE ? picker(ids) : null,
      );
    }

    function columnHead(id, i, { run, problem, error }, ids) {
      const name = run ? runName(run) : shortId(id);
      const remove = h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Remove ${name} from the comparison`, onclick: () => setRuns(ids.filter((x) => x !== id)) }, "Remove");
      const why = problem || (error ? (error.status === 404 ? "Run not found" : error.message) : null);
      return h(
        "th",
        { scope: "col", class: "compare-col" },
        run ? h("a", { href: href(runPath(run.cluster_id, id)), class: "row-title" }, name) : h("span", { class: "row-title" }, name),
        h("div", { class: "mono muted small" }, id),
        i === 0 && ids.length > 1 ? h("div", { class: "badge reference-badge" }, "reference") : null,
        why ? h("div", { class: "form-error small" }, /not found/.test(why) ? "Run not found in this namespace" : why) : null,
        remove,
      );
    }

    /** The runs side by side: facts, then one row per declared measure with the server's best marked. */
    function runsTable(ids, found, metrics, measures) {
      const byName = Object.fromEntries((measures || []).map((m) => [m.name, m]));
      const factRows = FACT_ROWS.map((row) =>
        h("tr", {}, h("th", { scope: "row" }, row.label), found.map(({ run }) => (run ? h("td", {}, row.cell(run)) : h("td", { class: "muted" }, DASH)))),
      );
      const metricRows = (metrics || []).map((row) => {
        const measure = byName[row.name] || { name: row.name, label: row.label, digits: 2, kind: "number" };
        const interpret = INTERPRETERS[row.name];
        return h(
          "tr",
          { dataset: { measure: row.name } },
          h("th", { scope: "row" }, row.label),
          row.values.map((value, i) => {
            const isBest = row.best_run_id !== null && row.best_run_id === ids[i];
            const shown = interpret ? interpreted(value, interpret, measure.digits) : fmtMeasure(measure, value);
            return h("td", { class: isBest ? "best" : null }, shown, isBest ? h("span", { class: "best-mark" }, " ★ best") : null);
          }),
        );
      });
      return h(
        "section",
        { class: "section", "aria-labelledby": "cmp-metrics" },
        h("h2", { id: "cmp-metrics" }, "Metrics"),
        h(
          "div",
          { class: "table-scroll" },
          h(
            "table",
            { class: `table compare-table cols-${ids.length}` },
            h("caption", { class: "sr-only" }, "Metrics of the compared runs"),
            h("thead", {}, h("tr", {}, h("td", { class: "corner" }), ids.map((id, i) => columnHead(id, i, found[i], ids)))),
            h("tbody", {}, factRows, metricRows),
          ),
        ),
      );
    }

    function configSection(compared) {
      const diff = compared.config_diff;
      return h(
        "section",
        { class: "section", "aria-labelledby": "cmp-config" },
        h("h2", { id: "cmp-config" }, "Configuration differences"),
        diff.length
          ? h(
              "div",
              { class: "table-scroll" },
              h(
                "table",
                { class: `table config-diff cols-${compared.runs.length}` },
                h("caption", { class: "sr-only" }, "Effective configuration keys whose values differ"),
                h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), compared.runs.map((r) => h("th", { scope: "col" }, runName(r))))),
                h("tbody", {}, diff.map((d) => h("tr", { dataset: { key: d.key } }, h("th", { scope: "row", class: "mono" }, d.key), d.values.map((v) => h("td", {}, configValue(v)))))),
              ),
            )
          : h("p", { class: "muted" }, "The runs' effective configurations are the same: any difference comes from chance alone."),
      );
    }

    function render(ids, compared, measures) {
      const found = compared.runs.map((run) => ({ run }));
      const reference = compared.runs[0];
      replace(
        body,
        runsTable(ids, found, compared.metrics, measures),
        configSection(compared),
        compared.pairs.map((pair, i) => pairSection(pair, reference, compared.runs[i + 1])),
        ids.length < MAX_COMPARE ? picker(ids) : null,
      );
    }

    load(ctx.query);
    return {
      update: (next) => load(next.query),
      destroy: () => {
        controller?.abort();
        destroyCharts(body);
      },
    };
  },
};
