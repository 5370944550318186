// Charts over the vendored Chart.js (window.Chart, loaded by index.html). Colours come from the
// stylesheet's custom properties so charts follow the light/dark theme. No animation: charts
// appear at their final size and never shift the layout.

import { STATUSES, STATUS_LABEL } from "./format.js";

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function statusColor(status) {
  return css(`--status-${status}`) || "#888";
}

const PALETTE_VARS = ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6", "--c7", "--c8", "--c9", "--c10"];
export function paletteColor(i) {
  return css(PALETTE_VARS[i % PALETTE_VARS.length]);
}

let configured = false;
function lib() {
  const Chart = window.Chart;
  if (!Chart) return null;
  if (!configured) {
    configured = true;
    Chart.defaults.animation = false;
    Chart.defaults.font.family = css("--font-sans") || "system-ui, sans-serif";
    Chart.defaults.font.size = 12;
    Chart.defaults.color = css("--muted");
    Chart.defaults.borderColor = css("--grid");
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    Chart.defaults.plugins.legend.labels.boxHeight = 12;
  }
  return Chart;
}

/** Create or update a chart on ``canvas``: an existing chart gets new data without a redraw flash. */
function draw(canvas, config) {
  const Chart = lib();
  if (!Chart) return null;
  const existing = Chart.getChart(canvas);
  if (existing && existing.config.type === config.type) {
    existing.data = config.data;
    existing.options = config.options;
    existing.update("none");
    return existing;
  }
  if (existing) existing.destroy();
  return new Chart(canvas, config);
}

export function destroyCharts(root) {
  const Chart = window.Chart;
  if (!Chart || !root) return;
  for (const canvas of root.querySelectorAll("canvas")) Chart.getChart(canvas)?.destroy();
}

export function statusDoughnut(canvas, byStatus) {
  const present = STATUSES.filter((s) => (byStatus[s] || 0) > 0);
  return draw(canvas, {
    type: "doughnut",
    data: {
      labels: present.map((s) => STATUS_LABEL[s]),
      datasets: [
        {
          data: present.map((s) => byStatus[s]),
          backgroundColor: present.map(statusColor),
          borderColor: css("--surface"),
          borderWidth: 2,
        },
      ],
    },
    options: { cutout: "58%", plugins: { legend: { display: false } } },
  });
}

export function stackedStatusBars(canvas, labels, buckets) {
  const present = STATUSES.filter((s) => buckets.some((b) => (b.by_status[s] || 0) > 0));
  return draw(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: present.map((s) => ({
        label: STATUS_LABEL[s],
        data: buckets.map((b) => b.by_status[s] || 0),
        backgroundColor: statusColor(s),
        borderWidth: 0,
        barPercentage: 0.95,
        categoryPercentage: 0.9,
      })),
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "runs" } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

export function lineChart(canvas, labels, series, { yTitle, yMin, yMax, format } = {}) {
  return draw(canvas, {
    type: "line",
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data,
        borderColor: s.color || paletteColor(i),
        backgroundColor: s.color || paletteColor(i),
        borderWidth: 2,
        borderDash: s.dashed ? [5, 4] : undefined,
        pointRadius: labels.length > 60 ? 0 : 2,
        pointHoverRadius: 4,
        spanGaps: true,
        tension: 0.2,
      })),
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 } },
        y: {
          min: yMin,
          max: yMax,
          title: { display: Boolean(yTitle), text: yTitle },
          ticks: format ? { callback: (v) => format(v) } : {},
        },
      },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, pointStyle: "line" } },
        tooltip: format ? { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.parsed.y)}` } } : {},
      },
    },
  });
}

/** Points per cluster (one dataset each) plus the centres as larger outlined markers. */
export function scatterPlot(canvas, groups, centroids) {
  const datasets = groups.map((g, i) => ({
    label: g.label,
    data: g.points,
    backgroundColor: g.noise ? css("--noise") : `${paletteColor(i)}b3`,
    borderWidth: 0,
    pointRadius: groups.reduce((n, x) => n + x.points.length, 0) > 2000 ? 1.5 : 2.5,
  }));
  if (centroids.length) {
    datasets.push({
      label: "Centres",
      data: centroids.map((c) => ({ x: c.x, y: c.y, id: c.cluster_id })),
      backgroundColor: css("--surface"),
      borderColor: css("--text"),
      borderWidth: 2,
      pointRadius: 6,
      pointStyle: "rectRot",
    });
  }
  return draw(canvas, {
    type: "scatter",
    data: { datasets },
    options: {
      scales: {
        x: { grace: "4%", ticks: { display: false }, grid: { display: false } },
        y: { grace: "4%", ticks: { display: false } },
      },
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            label: (c) => (c.raw.doc ? `${c.dataset.label}: ${c.raw.doc}` : `${c.dataset.label}: ${c.raw.id || ""}`),
          },
        },
      },
    },
  });
}

/** A flow (sankey) diagram of documents going from the nodes on the left to those on the right, over
 *  the vendored chartjs-chart-sankey plugin. ``flows``: [{from, to, flow}]; ``nodes``: key → {label,
 *  color, column}. Null (no drawing) when the plugin did not load. */
export function flowDiagram(canvas, flows, nodes) {
  const Chart = lib();
  if (!Chart || !Chart.registry.controllers.get("sankey")) return null;
  const colorOf = (key) => nodes[key]?.color || css("--noise") || "#999";
  return draw(canvas, {
    type: "sankey",
    data: {
      datasets: [
        {
          label: "Documents",
          data: flows,
          labels: Object.fromEntries(Object.entries(nodes).map(([key, node]) => [key, node.label])),
          column: Object.fromEntries(Object.entries(nodes).map(([key, node]) => [key, node.column])),
          colorFrom: (c) => colorOf(c.raw?.from),
          colorTo: (c) => colorOf(c.raw?.to),
          colorMode: "gradient",
          alpha: 0.55,
          borderWidth: 0,
          nodeWidth: 12,
          size: "max",
          color: css("--text"),
          font: { size: 12 },
        },
      ],
    },
    options: {
      layout: { padding: { left: 4, right: 4 } },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (c) => `${nodes[c.raw.from]?.label ?? c.raw.from} → ${nodes[c.raw.to]?.label ?? c.raw.to}: ${c.raw.flow} documents`,
          },
        },
      },
    },
  });
}
