// "/clusters/{id}/trends" — runs per bucket by status, duration and silhouette over time, over the
// same filtered set as the history (the trends endpoint aggregates in the database).

import { api, isAbort } from "../api.js";
import { destroyCharts, lineChart, stackedStatusBars } from "../charts.js";
import { h, replace, uid } from "../dom.js";
import { filterBar, filterParams, hasFilters, readFilters, toRequest } from "../filters.js";
import { fmtBucket, fmtDuration, fmtInt, fmtNumber } from "../format.js";
import { setQuery } from "../nav.js";
import { busy, emptyState, errorState } from "../ui.js";
import { clusterHeader } from "./common.js";

const BUCKETS = ["auto", "hour", "day", "week"];
const MAX_DAY_BUCKETS = 120;

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
      h("div", { class: "toolbar toolbar-split" }, summary, h("div", { class: "field field-inline" }, h("label", { class: "label", for: bucketId }, "Group by"), bucketSelect)),
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
      controller?.abort();
      controller = new AbortController();
      const { signal } = controller;
      region.classList.add("is-loading");
      region.setAttribute("aria-busy", "true");
      let bucket = pickBucket(requested, f);
      const body = { ...toRequest(f), utc_offset_minutes: -new Date().getTimezoneOffset() };
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
      render(data, f);
    }

    function render(data, f) {
      const n = data.total_count;
      replace(summary, n ? `${fmtInt(n)} runs ${hasFilters(f) ? "matching the filters " : ""}over ${fmtInt(data.buckets.length)} ${data.bucket}${data.buckets.length === 1 ? "" : "s"}` : "\u00a0");
      if (!n) {
        replace(region, emptyState({ title: hasFilters(f) ? "No runs match these filters" : "No runs yet", body: hasFilters(f) ? "Widen the filters to see trends." : "Trends appear once the cluster has run." }));
        return;
      }
      if (!region.contains(charts)) replace(region, charts);
      const labels = data.buckets.map((b) => fmtBucket(b.start, data.bucket));
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
