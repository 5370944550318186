// "/clusters/{id}" — the execution history: summary cards and status chart from `stats`
// (stats_scope "all"), the filter bar, the sortable and paginated table. In-flight rows update live.

import { api, isAbort } from "../api.js";
import { statusDoughnut, destroyCharts } from "../charts.js";
import { configValue, fieldLabel, fmtConfigValue, readColumns } from "../config_fields.js";
import { h, replace } from "../dom.js";
import { filterBar, filterParams, hasFilters, readFilters, toRequest } from "../filters.js";
import {
  DASH,
  IN_FLIGHT,
  STATUSES,
  STATUS_LABEL,
  fmtCompact,
  fmtDuration,
  fmtInt,
  fmtNumber,
  fmtPercent,
  fmtTime,
  fmtTimeLong,
  interpretSilhouette,
  shortId,
} from "../format.js";
import { clusterPath, currentQuery, href, runPath, setQuery } from "../nav.js";
import { busy, emptyState, errorState, exportButtons, pagination, poller, statusBadge } from "../ui.js";
import { MAX_COMPARE, clusterHeader, selection } from "./common.js";
import { schedulesSection } from "./schedules.js";

export const SORTS = {
  created: { field: "created_at", label: "Created" },
  status: { field: "status", label: "Status" },
  duration: { field: "duration", label: "Execution time" },
  clusters: { field: "num_clusters", label: "Clusters" },
  points: { field: "num_points", label: "Points" },
  silhouette: { field: "metrics.silhouette_score", label: "Silhouette" },
};
const PAGE_SIZES = [10, 20, 50, 100];
const POLL_MS = 2000;

function readView(query) {
  const sortKey = SORTS[query.get("sort")] ? query.get("sort") : "created";
  const dir = query.get("dir") === "asc" ? "asc" : "desc";
  const size = PAGE_SIZES.includes(Number(query.get("size"))) ? Number(query.get("size")) : 10;
  const page = Math.max(1, Number.parseInt(query.get("page") || "1", 10) || 1);
  return { sortKey, dir, size, page, filters: readFilters(query), cols: readColumns(query, MAX_COLUMNS) };
}

const MAX_COLUMNS = 6;
const BASE_COLUMNS = 9;

/** The "Columns" menu: one checkbox per config.* field the cluster's runs carry (asked for once, on
 *  first open), at most MAX_COLUMNS chosen. ``onChange(fields)`` gets the new choice, in order. */
function columnsMenu(clusterId, onChange) {
  let chosen = [];
  let infos = null; // field → ConfigFieldInfo, once loaded
  const list = h("div", { class: "columns-list" }, h("p", { class: "muted small" }, "Loading the parameters…"));
  const count = h("span", { class: "columns-count" });
  const summary = h("summary", { class: "btn btn-small" }, "Columns", count);
  const menu = h("details", { class: "columns-menu" }, summary, h("div", { class: "columns-panel", role: "group", "aria-label": "Parameter columns" }, h("p", { class: "small muted columns-hint" }, `Show up to ${MAX_COLUMNS} configuration values as columns.`), list));

  function renderList() {
    if (!infos) return;
    if (!infos.size) {
      replace(list, h("p", { class: "muted small" }, "No run carries a configuration yet."));
      return;
    }
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.field : null;
    replace(
      list,
      [...infos.values()].map((info) => {
        const on = chosen.includes(info.field);
        const box = h("input", {
          type: "checkbox",
          checked: on,
          dataset: { field: info.field },
          disabled: !on && chosen.length >= MAX_COLUMNS,
          onchange: (event) => onChange(event.currentTarget.checked ? [...chosen, info.field] : chosen.filter((f) => f !== info.field)),
        });
        const note = info.declared ? "" : ` · ${info.value_type}`;
        return h("label", { class: "columns-option", title: info.field }, box, h("span", {}, fieldLabel(info)), h("span", { class: "muted small" }, ` ${info.run_count} runs${note}`));
      }),
    );
    if (focused) list.querySelector(`input[data-field="${CSS.escape(focused)}"]`)?.focus();
  }

  async function ensureLoaded() {
    if (infos) return;
    try {
      const data = await api.configFields(clusterId);
      infos = new Map(data.results.filter((info) => info.run_count > 0).map((info) => [info.field, info]));
    } catch (error) {
      if (isAbort(error)) return;
      replace(list, h("p", { class: "row-error small" }, `Could not load the parameters: ${error.message}`));
      return;
    }
    renderList();
  }
  menu.addEventListener("toggle", () => {
    if (menu.open) ensureLoaded();
  });

  return {
    el: menu,
    label: (field) => (infos?.get(field) ? fieldLabel(infos.get(field)) : field.replace(/^config\.(params\.)?/, "")),
    async sync(fields) {
      chosen = fields;
      replace(count, fields.length ? ` (${fields.length})` : "");
      if (fields.length) await ensureLoaded(); // the headers read the declared labels
      renderList();
    },
  };
}

export const historyPage = {
  mount(container, ctx) {
    const clusterId = ctx.params.clusterId;
    document.title = "History · clusterbook";
    let controller = null;
    let poll = null;
    let view = readView(ctx.query);
    let rowsById = new Map(); // run_id → {tr, run}
    let picked = selection.get(clusterId);
    let lastData = null;

    const head = clusterHeader(clusterId, { tab: "history", filterQuery: filterParams(ctx.query), onExecuted: () => load(currentQuery(), { quiet: true }) });
    const filters = filterBar((changes, opts) => setQuery(changes, opts));

    // summary cards + status chart
    const cards = {};
    const cardDefs = [
      ["completed", "Completed"],
      ["failed", "Failed"],
      ["inflight", "In flight"],
      ["duration", "Avg. execution time"],
      ["documents", "Documents clustered"],
      ["clusters", "Avg. clusters"],
    ];
    const cardGrid = h(
      "div",
      { class: "cards" },
      cardDefs.map(([key, label]) => {
        const value = h("p", { class: "card-value" }, h("span", { class: "skeleton-text" }, ""));
        const note = h("p", { class: "card-note" }, "\u00a0");
        cards[key] = { value, note };
        return h("div", { class: `card stat stat-${key}` }, h("p", { class: "card-label" }, label), value, note);
      }),
    );
    const pieCanvas = h("canvas", { role: "img", "aria-label": "Runs by status" });
    const pieLegend = h("ul", { class: "legend" });
    const pieTotal = h("span", { class: "pie-total" }, "\u00a0");
    const pieTotalNote = h("span", { class: "pie-total-note" }, "runs");
    const pieCard = h(
      "section",
      { class: "card chart-card pie-card", "aria-labelledby": "pie-title" },
      h("h2", { class: "card-title", id: "pie-title" }, "Runs by status"),
      h(
        "div",
        { class: "pie-wrap" },
        h("div", { class: "pie-canvas" }, pieCanvas, h("p", { class: "pie-center" }, pieTotal, pieTotalNote)),
        pieLegend,
      ),
    );
    const scopeNote = h("p", { class: "scope-note muted small" }, "\u00a0");

    // table
    const headerButtons = {};
    const selectAllNote = h("span", { class: "sr-only" }, "Select for comparison");
    const thead = h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", class: "select-col" }, selectAllNote),
        h("th", { scope: "col", class: "run-col" }, "Run"),
        ...["status", "created", "duration", "clusters", "points", "silhouette"].map((key) => {
          const button = h("button", { type: "button", class: "sort-button", onclick: () => sortBy(key) }, SORTS[key].label, h("span", { class: "sort-icon", "aria-hidden": "true" }));
          const th = h("th", { scope: "col", class: key === "status" || key === "created" ? "" : "num" }, button);
          headerButtons[key] = { th, button };
          return th;
        }),
        h("th", { scope: "col" }, "Algorithm"),
      ),
    );
    const algorithmHead = thead.querySelector("th:last-child");
    let extraHeads = [];
    const columns = columnsMenu(clusterId, (fields) => setQuery({ cols: fields.length ? fields.join(",") : null }, { replace: true }));
    const tbody = h("tbody", {});
    const table = h("table", { class: "table history-table" }, h("caption", { class: "sr-only" }, "Execution history"), thead, tbody);
    const tableState = h("div", { class: "table-state" });
    const tableWrap = h("div", { class: "table-scroll" }, table);
    const pager = pagination({
      onPage: (page) => setQuery({ page: page > 1 ? page : null }),
      onSize: (size) => setQuery({ size: size === 10 ? null : size, page: null }),
      sizes: PAGE_SIZES,
    });
    const compareBar = h("div", { class: "compare-bar", hidden: true });
    // Phones show rows as cards without the header row: the sort is a select there.
    const mobileSort = h(
      "select",
      { class: "input", id: "mobile-sort" },
      Object.entries(SORTS).flatMap(([key, { label }]) => [
        h("option", { value: `${key}:desc` }, `${label} ${key === "created" ? "(newest first)" : key === "status" ? "(Z–A)" : "(highest first)"}`),
        h("option", { value: `${key}:asc` }, `${label} ${key === "created" ? "(oldest first)" : key === "status" ? "(A–Z)" : "(lowest first)"}`),
      ]),
    );
    mobileSort.addEventListener("change", () => {
      const [key, dir] = mobileSort.value.split(":");
      setQuery({ sort: key === "created" ? null : key, dir: key === "created" && dir === "desc" ? null : dir, page: null });
    });
    const mobileSortBar = h("div", { class: "mobile-sort" }, h("label", { class: "label", for: "mobile-sort" }, "Sort by"), mobileSort);
    const tableTools = h("div", { class: "table-tools" }, columns.el);

    const region = h("section", { class: "table-region", "aria-label": "Runs" }, tableWrap, tableState);
    const schedules = schedulesSection(clusterId);
    // Every run matching the current filters, search and sort (not just this page), streamed by the server.
    const exporter = exportButtons("Download matching runs", [["csv", "CSV"], ["parquet", "Parquet"], ["ndjson", "NDJSON"]], (format) => {
      const sort = SORTS[view.sortKey];
      return api.exportRuns(clusterId, { ...toRequest(view.filters), sort: { field: sort.field, direction: view.dir } }, format);
    });
    const reclusterNote = h("div", { class: "notice notice-warn recluster-notice", role: "status", hidden: true });
    container.append(
      head.el,
      reclusterNote,
      h("div", { class: "summary" }, h("div", { class: "summary-cards" }, cardGrid, scopeNote), pieCard),
      filters.el,
      h("div", { class: "export-bar" }, exporter),
      mobileSortBar,
      compareBar,
      tableTools,
      region,
      pager.el,
      schedules.el,
    );

    api.getCluster(clusterId).then(
      (cluster) => {
        head.setCluster(cluster);
        document.title = `${cluster.cluster_name} · History · clusterbook`;
        if (cluster.should_recluster) {
          reclusterNote.replaceChildren(
            h("strong", {}, "Time to re-cluster. "),
            `The latest assign run `,
            h("a", { href: href(runPath(clusterId, cluster.recluster_run_id)) }, shortId(cluster.recluster_run_id)),
            ` says: ${cluster.recluster_reason}. Execute the cluster in full to clear this.`,
          );
          reclusterNote.hidden = false;
        }
      },
      () => {},
    );

    function sortBy(key) {
      const dir = view.sortKey === key ? (view.dir === "desc" ? "asc" : "desc") : "desc";
      setQuery({ sort: key === "created" ? null : key, dir: key === "created" && dir === "desc" ? null : dir, page: null });
    }

    function syncHeaders() {
      mobileSort.value = `${view.sortKey}:${view.dir}`;
      for (const [key, { th, button }] of Object.entries(headerButtons)) {
        const active = view.sortKey === key;
        if (active) th.setAttribute("aria-sort", view.dir === "asc" ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
        button.classList.toggle("active", active);
        button.querySelector(".sort-icon").textContent = active ? (view.dir === "asc" ? "▲" : "▼") : "";
      }
    }

    function skeletonRows(count) {
      return Array.from({ length: count }, () =>
        h("tr", { class: "skeleton-row", "aria-hidden": "true" }, Array.from({ length: BASE_COLUMNS + view.cols.length }, () => h("td", {}, h("span", { class: "skeleton-text" }, "")))),
      );
    }

    async function syncColumns() {
      await columns.sync(view.cols);
      for (const th of extraHeads) th.remove();
      extraHeads = view.cols.map((field) => h("th", { scope: "col", class: "param-col", title: `${field} (filter and group by it; not sortable)` }, columns.label(field)));
      algorithmHead.after(...extraHeads);
    }

    function paramCell(run, field) {
      const value = configValue(run, field);
      const text = fmtConfigValue(value);
      return h("td", { class: `nowrap meta param-cell${typeof value === "number" ? " num" : ""}`, dataset: { label: columns.label(field), field } }, value === undefined || value === null ? h("span", { class: "muted" }, text) : text);
    }

    // ------------------------------------------------------------------ rows
    function durationCell(run) {
      if (IN_FLIGHT.has(run.status)) {
        const since = Date.parse(run.started_at || run.created_at);
        return h("span", { class: "muted", title: run.status === "pending" ? "Queued for" : "Running for" }, Number.isNaN(since) ? DASH : `${fmtDuration(Math.max(0, Date.now() - since))}…`);
      }
      return fmtDuration(run.duration_ms);
    }

    function silhouetteCell(run) {
      const value = run.metrics?.silhouette_score;
      if (value === null || value === undefined) return h("span", { class: "muted" }, DASH);
      const { text, tone } = interpretSilhouette(value);
      return h("span", { class: "sil", title: text }, h("span", { class: `tone-dot tone-${tone}`, "aria-hidden": "true" }), fmtNumber(value, 2), h("span", { class: "sr-only" }, ` (${text})`));
    }

    function rowFor(run) {
      const checked = picked.includes(run.run_id);
      const box = h("input", {
        type: "checkbox",
        class: "row-check",
        checked,
        disabled: !checked && picked.length >= MAX_COMPARE,
        "aria-label": `Select ${run.run_name || run.run_id} for comparison`,
        onchange: (event) => togglePick(run.run_id, event.currentTarget.checked),
      });
      const title = run.run_name || shortId(run.run_id);
      return h(
        "tr",
        { dataset: { runId: run.run_id, status: run.status }, class: run.status === "failed" ? "row-failed" : null },
        h("td", { class: "select-col" }, box),
        h(
          "td",
          { class: "run-col" },
          h("a", { href: href(runPath(clusterId, run.run_id)), class: "row-title" }, title),
          run.mode === "assign" ? h("span", { class: "tag mode-tag", title: `Assigned to the centres of ${run.source_run_id}` }, "assign") : null,
          run.should_recluster ? h("span", { class: "tag recluster-tag", title: run.recluster_reason || "" }, "re-cluster") : null,
          h("div", { class: "mono muted small run-id" }, run.run_id),
          run.error_message ? h("div", { class: "row-error small", title: run.error_message }, run.error_message) : null,
        ),
        h("td", { class: "status-cell" }, statusBadge(run.status)),
        h("td", { class: "nowrap meta", title: fmtTimeLong(run.created_at), dataset: { label: "Created" } }, fmtTime(run.created_at)),
        h("td", { class: "num nowrap meta", dataset: { label: "Execution time" } }, durationCell(run)),
        h("td", { class: "num meta", dataset: { label: "Clusters" } }, run.status === "completed" ? fmtInt(run.num_clusters) : h("span", { class: "muted" }, DASH)),
        h("td", { class: "num meta", dataset: { label: "Points" } }, fmtInt(run.num_points)),
        h("td", { class: "num nowrap meta", dataset: { label: "Silhouette" } }, silhouetteCell(run)),
        h("td", { class: "nowrap meta", dataset: { label: "Algorithm" } }, run.algorithm || h("span", { class: "muted" }, DASH)),
        ...view.cols.map((field) => paramCell(run, field)),
      );
    }

    function renderRows(results) {
      rowsById = new Map();
      const rows = results.map((run) => {
        const tr = rowFor(run);
        rowsById.set(run.run_id, { tr, run });
        return tr;
      });
      tbody.replaceChildren(...rows);
    }

    function updateRow(run, { flash = false } = {}) {
      const entry = rowsById.get(run.run_id);
      if (!entry) return;
      const hadFocus = entry.tr.contains(document.activeElement) ? document.activeElement.className : null;
      const fresh = rowFor(run);
      if (flash) fresh.classList.add("row-flash");
      entry.tr.replaceWith(fresh);
      entry.tr = fresh;
      entry.run = run;
      if (hadFocus) fresh.querySelector(`.${hadFocus.split(" ")[0]}`)?.focus();
    }

    // ------------------------------------------------------------------ compare selection
    function togglePick(runId, on) {
      picked = on ? [...new Set([...picked, runId])].slice(0, MAX_COMPARE) : picked.filter((id) => id !== runId);
      selection.set(clusterId, picked);
      for (const { tr } of rowsById.values()) {
        const box = tr.querySelector(".row-check");
        box.disabled = !box.checked && picked.length >= MAX_COMPARE;
      }
      head.setFilterQuery(filterParams(currentQuery()));
      renderCompareBar();
    }

    function renderCompareBar() {
      compareBar.hidden = picked.length === 0;
      const compareLink =
        picked.length >= 2
          ? h("a", { class: "btn btn-primary btn-small", href: href(clusterPath(clusterId, "/compare"), { runs: picked }) }, `Compare ${picked.length} runs`)
          : h("span", { class: "muted small" }, "Pick at least two runs to compare");
      replace(
        compareBar,
        h("span", {}, `${picked.length} of ${MAX_COMPARE} runs selected`),
        compareLink,
        h(
          "button",
          {
            type: "button",
            class: "btn btn-ghost btn-small",
            onclick: () => {
              picked = [];
              selection.set(clusterId, picked);
              for (const { tr } of rowsById.values()) {
                const box = tr.querySelector(".row-check");
                box.checked = false;
                box.disabled = false;
              }
              renderCompareBar();
            },
          },
          "Clear selection",
        ),
      );
    }

    // ------------------------------------------------------------------ summary
    function renderSummary(stats, total) {
      const by = stats?.executions_by_status || {};
      const part = (n) => (total ? fmtPercent(n, total) : "\u00a0");
      const inflight = (by.pending || 0) + (by.processing || 0);
      const set = (key, value, note = "\u00a0") => {
        replace(cards[key].value, value);
        replace(cards[key].note, note);
      };
      replace(pieTotal, fmtCompact(total));
      replace(pieTotalNote, total === 1 ? "run" : "runs");
      set("completed", fmtInt(by.completed || 0), part(by.completed || 0));
      set("failed", fmtInt(by.failed || 0), part(by.failed || 0));
      set("inflight", fmtInt(inflight), inflight ? `${fmtInt(by.pending || 0)} pending · ${fmtInt(by.processing || 0)} processing` : "\u00a0");
      set("duration", stats && (by.completed || by.failed) ? fmtDuration(stats.avg_execution_time_ms) : DASH, "of finished runs");
      set("documents", fmtCompact(stats?.total_documents_clustered ?? 0), stats ? `${fmtInt(stats.total_documents_clustered)} in all` : "\u00a0");
      set("clusters", total ? fmtNumber(stats?.avg_num_clusters ?? 0, 1) : DASH, "per run");
      cards.failed.value.classList.toggle("tone-poor", (by.failed || 0) > 0);
      replace(scopeNote, hasFilters(view.filters) ? `Figures cover all ${fmtInt(total)} runs matching the filters, not just this page.` : `Figures cover all ${fmtInt(total)} runs of this cluster.`);

      const present = STATUSES.filter((s) => (by[s] || 0) > 0);
      replace(
        pieLegend,
        present.length
          ? present.map((s) => h("li", {}, h("span", { class: `swatch status-bg-${s}`, "aria-hidden": "true" }), h("span", { class: "legend-label" }, STATUS_LABEL[s]), h("span", { class: "legend-value" }, `${fmtInt(by[s])} · ${fmtPercent(by[s], total)}`)))
          : h("li", { class: "muted" }, "No runs"),
      );
      pieCanvas.setAttribute("aria-label", present.length ? `Runs by status: ${present.map((s) => `${STATUS_LABEL[s]} ${by[s]}`).join(", ")}` : "No runs");
      statusDoughnut(pieCanvas, present.length ? by : {});
    }

    function summaryUnavailable() {
      for (const { value, note } of Object.values(cards)) {
        replace(value, DASH);
        replace(note, "\u00a0");
      }
      replace(pieTotal, DASH);
      replace(pieLegend, h("li", { class: "muted" }, "Unavailable"));
      replace(scopeNote, "\u00a0");
      statusDoughnut(pieCanvas, {});
    }

    // ------------------------------------------------------------------ loading
    async function load(query, { quiet = false } = {}) {
      view = readView(query);
      head.setFilterQuery(filterParams(query));
      filters.sync(view.filters);
      syncHeaders();
      const columnsReady = syncColumns();
      controller?.abort();
      poll?.stop();
      controller = new AbortController();
      const { signal } = controller;
      if (!lastData) tbody.replaceChildren(...skeletonRows(view.size));
      if (!quiet) region.classList.add("is-loading");
      region.setAttribute("aria-busy", "true");
      replace(tableState);
      const sort = SORTS[view.sortKey];
      const body = { ...toRequest(view.filters), sort: { field: sort.field, direction: view.dir }, stats_scope: "all" };
      let data;
      try {
        data = await busy(api.listExecutions(clusterId, body, { page: view.page, page_size: view.size }, { signal }));
      } catch (error) {
        if (isAbort(error)) return;
        region.classList.remove("is-loading");
        region.removeAttribute("aria-busy");
        if (error.status === 404 && error.code === "not_found") {
          container.replaceChildren(errorState(error, { title: "Cluster not found", page: true }));
          document.title = "Cluster not found · clusterbook";
          return;
        }
        tbody.replaceChildren();
        tableWrap.hidden = true;
        pager.el.hidden = true;
        lastData = null;
        summaryUnavailable();
        replace(tableState, errorState(error, { title: "Could not load the runs", onRetry: () => load(currentQuery()) }));
        return;
      }
      lastData = data;
      await columnsReady;
      region.classList.remove("is-loading");
      region.removeAttribute("aria-busy");
      renderSummary(data.stats, data.total_count);
      renderRows(data.results);
      tableWrap.hidden = data.results.length === 0;
      pager.el.hidden = data.total_count === 0;
      pager.sync({ page: view.page, pageSize: view.size, total: data.total_count, totalPages: data.pagination.total_pages, shown: data.results.length });
      if (!data.results.length) {
        replace(
          tableState,
          data.total_count
            ? emptyState({ title: `There is no page ${fmtInt(view.page)}`, body: `These filters match ${fmtInt(data.total_count)} runs, on ${fmtInt(data.pagination.total_pages)} pages.`, actions: [h("button", { type: "button", class: "btn", onclick: () => setQuery({ page: null }) }, "Go to the first page")] })
            : hasFilters(view.filters)
              ? emptyState({ title: "No runs match these filters", body: "Widen the date range, lower the silhouette threshold or change the search.", actions: [h("button", { type: "button", class: "btn", onclick: () => setQuery({ q: null, status: null, from: null, to: null, min_sil: null, page: null }) }, "Clear filters")] })
              : emptyState({ title: "This cluster has not run yet", body: "Execute it to see its first run here; the page updates as the run progresses.", actions: [h("button", { type: "button", class: "btn btn-primary", onclick: () => head.execute.click() }, "Execute now")] }),
        );
      }
      renderCompareBar();
      startPolling();
    }

    function startPolling() {
      poll?.stop();
      const live = () => [...rowsById.values()].filter(({ run }) => IN_FLIGHT.has(run.status));
      if (!live().length) return;
      poll = poller(async () => {
        const entries = live();
        if (!entries.length) {
          poll?.stop();
          return;
        }
        // One request for every live row of the page, whatever their number.
        const ids = entries.map(({ run }) => run.run_id);
        const body = { filters: { operator: "AND", conditions: [{ field: "run_id", operator: "in", value: ids }] } };
        const data = await api.listExecutions(clusterId, body, { page_size: ids.length });
        let ended = false;
        for (const run of data.results) {
          const before = rowsById.get(run.run_id)?.run;
          if (!before) continue;
          const changed = run.status !== before.status;
          if (changed && !IN_FLIGHT.has(run.status)) ended = true;
          updateRow(run, { flash: changed });
        }
        if (ended) await refreshQuietly();
      }, POLL_MS);
    }

    async function refreshQuietly() {
      // A run ended: the figures above the table changed too. Fetch the same view again without
      // any loading state; rows keep their place unless the sort moved them.
      const sort = SORTS[view.sortKey];
      const body = { ...toRequest(view.filters), sort: { field: sort.field, direction: view.dir }, stats_scope: "all" };
      const data = await api.listExecutions(clusterId, body, { page: view.page, page_size: view.size });
      lastData = data;
      renderSummary(data.stats, data.total_count);
      const sameRows = data.results.map((r) => r.run_id).join() === [...rowsById.keys()].join();
      if (!sameRows) renderRows(data.results);
      else {
        for (const run of data.results) {
          if (JSON.stringify(rowsById.get(run.run_id).run) !== JSON.stringify(run)) updateRow(run);
        }
      }
      pager.sync({ page: view.page, pageSize: view.size, total: data.total_count, totalPages: data.pagination.total_pages, shown: data.results.length });
    }

    load(ctx.query);
    return {
      update(next) {
        load(next.query);
      },
      destroy() {
        controller?.abort();
        poll?.stop();
        schedules.destroy();
        destroyCharts(container);
      },
    };
  },
};
