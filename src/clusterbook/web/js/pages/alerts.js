// "/clusters/{id}/alerts" — the cluster's monitors with their state, and the alert history of the one
// picked (?monitor=<id>): each trigger and recovery with the values that decided it. Polls while open,
// so a monitor that starts alerting shows up without a reload.

import { api, isAbort } from "../api.js";
import { h, replace } from "../dom.js";
import { DASH, fmtAgo, fmtTimeLong, shortId } from "../format.js";
import { clusterPath, href, runPath } from "../nav.js";
import { emptyState, errorState, poller } from "../ui.js";
import { clusterHeader } from "./common.js";

const POLL_MS = 5000;
const ALERTS_PAGE = 50;

function ruleText(rule) {
  if (rule.kind === "failure_rate") {
    const over = rule.last_runs ? `the last ${rule.last_runs} finished runs` : `the last ${rule.window_seconds} s`;
    return `Failure rate over ${over} above ${rule.above}`;
  }
  if (rule.kind === "metric") {
    if (rule.below_median) {
      return `${rule.measure} below the median of the ${rule.below_median.last_runs} runs before it − ${rule.below_median.delta}`;
    }
    return rule.below !== undefined && rule.below !== null ? `${rule.measure} below ${rule.below}` : `${rule.measure} above ${rule.above}`;
  }
  return `No completed run for ${rule.for_seconds} s`;
}

function stateBadge(monitor) {
  const state = monitor.paused ? "paused" : monitor.state;
  const tone = { ok: "completed", alerting: "failed", paused: "canceled" }[state];
  return h("span", { class: `badge status-${tone}`, "data-state": state }, h("span", { class: "dot", "aria-hidden": "true" }), state === "alerting" ? "Alerting" : state === "ok" ? "OK" : "Paused");
}

function observedText(observed) {
  return Object.entries(observed || {})
    .filter(([, v]) => v !== null && typeof v !== "object")
    .map(([k, v]) => `${k} ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : v}`)
    .join(" · ");
}

export const alertsPage = {
  mount(container, ctx) {
    const clusterId = ctx.params.clusterId;
    document.title = "Alerts · clusterbook";
    let controller = null;
    let picked = ctx.query.get("monitor");
    const head = clusterHeader(clusterId, { tab: "alerts" });
    const monitorsRegion = h("div", { class: "table-region", "aria-live": "polite" });
    const historyTitle = h("h2", { class: "card-title", id: "alert-history-title" }, "Alert history");
    const historyRegion = h("div", { class: "table-region" });
    container.append(
      head.el,
      h("section", { class: "card", "aria-labelledby": "monitors-title" },
        h("h2", { class: "card-title", id: "monitors-title" }, "Monitors"),
        h("p", { class: "muted small card-hint" }, "Each monitor is evaluated when a run of this cluster ends and on the worker's timer; it alerts once when it enters the bad state and recovers silently."),
        monitorsRegion),
      h("section", { class: "card", "aria-labelledby": "alert-history-title" }, historyTitle, historyRegion),
    );
    api.getCluster(clusterId).then(
      (cluster) => {
        head.setCluster(cluster);
        document.title = `${cluster.cluster_name} · Alerts · clusterbook`;
      },
      () => {},
    );

    function monitorsTable(monitors) {
      const rows = monitors.map((m) => {
        const link = h("a", { href: href(clusterPath(clusterId, "/alerts"), { monitor: m.monitor_id }) }, m.name);
        const last = m.last_values?.message || (m.evaluated_at ? DASH : "Not evaluated yet");
        return h("tr", { "data-monitor": m.monitor_id, class: m.monitor_id === picked ? "is-selected" : null, "aria-selected": m.monitor_id === picked ? "true" : null },
          h("td", {}, link),
          h("td", {}, ruleText(m.rule)),
          h("td", {}, stateBadge(m)),
          h("td", { title: fmtTimeLong(m.state_since) }, fmtAgo(m.state_since)),
          h("td", { class: "muted" }, last));
      });
      return h("div", { class: "table-scroll" }, h("table", { class: "table monitors-table" },
        h("thead", {}, h("tr", {}, ["Monitor", "Rule", "State", "Since", "Last evaluation"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows)));
    }

    function historyTable(alerts) {
      const rows = alerts.map((a) => h("tr", { "data-alert": a.alert_id, "data-event": a.event },
        h("td", { title: a.at }, fmtTimeLong(a.at)),
        h("td", {}, h("span", { class: `badge status-${a.event === "triggered" ? "failed" : "completed"}` }, h("span", { class: "dot", "aria-hidden": "true" }), a.event === "triggered" ? "Triggered" : "Recovered")),
        h("td", {}, a.run_id ? h("a", { href: href(runPath(clusterId, a.run_id)), class: "mono" }, shortId(a.run_id)) : DASH),
        h("td", {}, a.message),
        h("td", { class: "muted small" }, observedText(a.observed))));
      return h("div", { class: "table-scroll" }, h("table", { class: "table alerts-table" },
        h("thead", {}, h("tr", {}, ["When", "Event", "Run", "What was seen", "Values"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows)));
    }

    async function load() {
      controller?.abort();
      controller = new AbortController();
      const { signal } = controller;
      let monitors;
      try {
        monitors = (await api.listMonitors(clusterId, { signal })).results;
      } catch (error) {
        if (isAbort(error)) return;
        if (error.status === 404) {
          container.replaceChildren(errorState(error, { title: "Cluster not found", page: true }));
          return;
        }
        replace(monitorsRegion, errorState(error, { title: "Could not load the monitors", onRetry: load }));
        return;
      }
      if (!monitors.length) {
        replace(monitorsRegion, emptyState({ title: "No monitors yet", body: "Create one with POST /v1/clusters/{id}/monitors, the SDK (client.monitors.create) or `clusterbook monitors create`." }));
        replace(historyRegion, emptyState({ title: "No alerts", body: "Alerts appear here once a monitor triggers." }));
        return;
      }
      if (!picked || !monitors.some((m) => m.monitor_id === picked)) {
        picked = (monitors.find((m) => m.state === "alerting") || monitors[0]).monitor_id;
      }
      replace(monitorsRegion, monitorsTable(monitors));
      const monitor = monitors.find((m) => m.monitor_id === picked);
      replace(historyTitle, `Alert history · ${monitor.name}`);
      try {
        const page = await api.monitorAlerts(clusterId, picked, { page_size: ALERTS_PAGE }, { signal });
        replace(historyRegion, page.results.length ? historyTable(page.results) : emptyState({ title: "No alerts", body: "This monitor has not triggered yet." }));
      } catch (error) {
        if (isAbort(error)) return;
        replace(historyRegion, errorState(error, { title: "Could not load the alert history", onRetry: load }));
      }
    }

    load();
    const poll = poller(load, POLL_MS);
    return {
      update(next) {
        picked = next.query.get("monitor");
        load();
      },
      destroy() {
        poll.stop();
        controller?.abort();
      },
    };
  },
};
