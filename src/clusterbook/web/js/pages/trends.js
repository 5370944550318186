// "/clusters/{id}/trends" — runs per bucket by status, duration and silhouette over time, over the
// same filtered set as the history (the trends endpoint aggregates in the database).

import { api, isAbort } from "../api.js";
import { destroyCharts, lineChart, stackedStatusBars, statusColor } from "../charts.js";
import { fieldLabel, fmtGroupKey } from "../config_fields.js";
import { h, replace, uid } from "../dom.js";
import { filterBar, filterParams, hasFilters, readFilters, toRequest } from "../filters.js";
import { STATUS_LABEL, fmtBucket, fmtDuration, fmtInt, fmtNumber } from "../format.js";
import { setQuery } from "../nav.js";
import { busy, emptyState, errorState } from "../ui.js";
import { clusterHeader } from "./common.js";

const BUCKETS = ["auto", "hour", "day", "week"];
const MAX_DAY_BUCKETS = 120;
const MAX_SERIES = 8;
const SPLITS = { status: "Status", algorithm: "Algorithm" };

/** The split the URL asks for: status, algorithm or a config.* name (the server validates it). */
function readSplit(query) {
  const value = (query.get("split") || "").trim();
  return SPLITS[value] || /^config\.(params\.)?[A-Za-z0-9_\-]{1,100}$/.test(value) ? value : "";
}

/** One line per group (the MAX_SERIES largest), with ``pick(bucket)`` as its values. */
function groupSeries(groups, pick, split) {
  return groups.slice(0, MAX_SERIES).map((g) => ({
    label: split === "status" ? STATUS_LABEL[g.key] || fmtGroupKey(g.key) : fmtGroupKey(g.key),
    data: g.buckets.map(pick),
    color: split === "status" ? statusColor(g.key) : undefined,
  }));
}

function pickBucket(requested, filters) {
  if (requested !== "auto") return requested;
  if (filters.from && filters.to) {
    const days = (Date.parse(filters.to) - Date.parse(filters.from)) / 86400000 + 1;
    if (days <= 3) return "hour";
    if (days > MAX_DAY_BUCKETS) return "week";
  }
  return "day";
}

export const trendsPage = {
  mount(container, ctx) {
    const clusterId = ctx.params.clusterId;
    document.title = "Trends · clusterbook";
    let controller = null;
    const head = clusterHeader(clusterId, { tab: "trends", filterQuery: filterParams(ctx.query) });
    const filters = filterBar((changes, opts) => setQuery(changes, opts));
    const bucketId = uid("bucket");
    const bucketSelect = h(
      "select",
      { id: bucketId, class: "input input-narrow" },
      BUCKETS.map((b) => h("option", { value: b }, b === "auto" ? "Automatic" : `Per ${b}`)),
    );
    bucketSelect.addEventListener("change", () => setQuery({ bucket: bucketSelect.value === "auto" ? null : bucketSelect.value }));
    const splitId = uid("split");
    const splitSelect = h(
      "select",
      { id: splitId, class: "input input-narrow" },
      h("option", { value: "" }, "Nothing"),
      Object.entries(SPLITS).map(([value, label]) => h("option", { value }, label)),
    );
    const paramGroup = h("optgroup", { label: "Configuration" });
    splitSelect.append(paramGroup);
    splitSelect.addEventListener("change", () => setQuery({ split: splitSelect.value || null }));
    let paramsLoaded = null;
    function loadSplitChoices(wanted) {
      // The config.* fields the runs carry, asked for once; a split named in the URL stays selectable.
      paramsLoaded ??= api.configFields(clusterId).then(
        (data) => {
          for (const info of data.results.filter((i) => i.run_count > 0)) paramGroup.append(h("option", { value: info.field }, fieldLabel(info)));
        },
        () => {},
      );
      return paramsLoaded.then(() => {
        if (wanted && ![...splitSelect.options].some((o) => o.value === wanted)) paramGroup.append(h("option", { value: wanted }, wanted.replace(/^config\.(params\.)?/, "")));
        splitSelect.value = wanted;
      });
    }
    const splitNote = h("p", { class: "muted small split-note" }, "\u00a0");
    const summary = h("p", { class: "trend-summary", "aria-live": "polite" }, "\u00a0");

    const chart = (id, title, hint) => {
      const canvas = h("canvas", { role: "img", "aria-label": title });
      const card = h(
        "section",
        { class: "card chart-card", "aria-labelledby": id },
        h("h2", { class: "card-title", id }, title),
        hint ? h("p", { class: "muted small card-hint" }, hint) : null,
        h("div", { class: "chart-box" }, canvas),
      );
      return { canvas, card };
    };
    const counts = chart("trend-counts", "Runs by status", null);
    const durations = chart("trend-durations", "Execution time", "Completed and failed runs, from start to end (queue time not included): mean and median per bucket.");
    const quality = chart("trend-quality", "Silhouette", "Mean silhouette of the runs that have one (−1 to 1, higher is better).");
    const charts = h("div", { class: "trend-grid" }, h("div", { class: "trend-wide" }, counts.card), durations.card, quality.card);
    const region = h("div", { class: "trends-region" }, charts);

    container.append(
      head.el,
      filters.el,
      h(
        "div",
        { class: "toolbar toolbar-split" },
        summary,
        h(
          "div",
          { class: "toolbar-fields" },
          h("div", { class: "field field-inline" }, h("label", { class: "label", for: splitId }, "Split by"), splitSelect),
          h("div", { class: "field field-inline" }, h("label", { class: "label", for: bucketId }, "Group by"), bucketSelect),
        ),
      ),
      splitNote,
      region,
    );

    api.getCluster(clusterId).then(
      (cluster) => {
        head.setCluster(cluster);
        document.title = `${cluster.cluster_name} · Trends · clusterbook`;
      },
      () => {},
    );

    async function load(query) {
      const f = readFilters(query);
      head.setFilterQuery(filterParams(query));
      filters.sync(f);
      const requested = BUCKETS.includes(query.get("bucket")) ? query.get("bucket") : "auto";
      bucketSelect.value = requested;
      const split = readSplit(query);
      const choices = loadSplitChoices(split);
      controller?.abort();
      controller = new AbortController();
      const { signal } = controller;
      region.classList.add("is-loading");
      region.setAttribute("aria-busy", "true");
      let bucket = pickBucket(requested, f);
      const body = { ...toRequest(f), utc_offset_minutes: -new Date().getTimezoneOffset(), ...(split ? { group_by: split } : {}) };
      let data;
      try {
        data = await busy(api.trends(clusterId, { ...body, bucket }, { signal }));
        if (requested === "auto" && bucket === "day" && data.buckets.length > MAX_DAY_BUCKETS) {
          bucket = "week";
          data = await busy(api.trends(clusterId, { ...body, bucket }, { signal }));
        }
      } catch (error) {
        if (isAbort(error)) return;
        region.classList.remove("is-loading");
        region.removeAttribute("aria-busy");
        if (error.status === 404 && error.code === "not_found") {
          container.replaceChildren(errorState(error, { title: "Cluster not found", page: true }));
          return;
        }
        replace(summary, "\u00a0");
        replace(region, errorState(error, { title: "Could not load the trends", onRetry: () => load(query) }));
        return;
      }
      region.classList.remove("is-loading");
      region.removeAttribute("aria-busy");
      await choices;
      render(data, f, split);
    }

    function render(data, f, split) {
      const n = data.total_count;
      replace(summary, n ? `${fmtInt(n)} runs ${hasFilters(f) ? "matching the filters " : ""}over ${fmtInt(data.buckets.length)} ${data.bucket}${data.buckets.length === 1 ? "" : "s"}` : "\u00a0");
      if (!n) {
        replace(region, emptyState({ title: hasFilters(f) ? "No runs match these filters" : "No runs yet", body: hasFilters(f) ? "Widen the filters to see trends." : "Trends appear once the cluster has run." }));
        return;
      }
      if (!region.contains(charts)) replace(region, charts);
      const labels = data.buckets.map((b) => fmtBucket(b.start, data.bucket));
      const groups = split ? data.groups || [] : null;
      const splitName = split ? splitSelect.selectedOptions[0]?.textContent || split : "";
      replace(
        splitNote,
        groups
          ? `Split by ${splitName}: ${fmtInt(groups.length)} group${groups.length === 1 ? "" : "s"}${groups.length > MAX_SERIES ? `, the ${MAX_SERIES} with the most runs drawn` : ""}.`
          : "\u00a0",
      );
      counts.card.querySelector(".card-title").textContent = groups ? `Runs by ${splitName}` : "Runs by status";
      if (groups) {
        const wholeRuns = (v) => (Number.isInteger(v) ? fmtInt(v) : "");
        lineChart(counts.canvas, labels, groupSeries(groups, (b) => b.total, split), { format: wholeRuns, yMin: 0 });
        counts.canvas.setAttribute("aria-label", `Runs per ${data.bucket} split by ${splitName}: ${groups.slice(0, MAX_SERIES).map((g) => `${fmtGroupKey(g.key)} ${g.total_count}`).join(", ")}`);
        lineChart(durations.canvas, labels, groupSeries(groups, (b) => b.avg_duration_ms, split), { format: (v) => fmtDuration(v), yMin: 0 });
        lineChart(quality.canvas, labels, groupSeries(groups, (b) => b.avg_silhouette_score, split), { format: (v) => fmtNumber(v, 2) });
        return;
      }
      stackedStatusBars(counts.canvas, labels, data.buckets);
      counts.canvas.setAttribute("aria-label", `Runs per ${data.bucket} by status, ${fmtInt(n)} runs in all`);
      lineChart(
        durations.canvas,
        labels,
        [
          { label: "Mean", data: data.buckets.map((b) => b.avg_duration_ms) },
          { label: "Median", data: data.buckets.map((b) => b.p50_duration_ms), dashed: true },
        ],
        { format: (v) => fmtDuration(v), yMin: 0 },
      );
      lineChart(quality.canvas, labels, [{ label: "Mean silhouette", data: data.buckets.map((b) => b.avg_silhouette_score) }], {
        format: (v) => fmtNumber(v, 2),
      });
    }

    load(ctx.query);
    return {
      update: (next) => load(next.query),
      destroy() {
        controller?.abort();
        destroyCharts(container);
      },
    };
  },
};
