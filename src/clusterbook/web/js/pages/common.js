// Pieces shared by the pages of one cluster: its header (breadcrumbs, name, tabs, Execute) and the
// runs picked for comparison.

import { h, replace } from "../dom.js";
import { clusterPath, href, runPath } from "../nav.js";
import { estimateText, executeWithEstimate } from "../estimate.js";
import { breadcrumbs, toast } from "../ui.js";

export const MAX_COMPARE = 4;

/** Runs picked for comparison, per cluster; kept for the tab's session. */
export const selection = {
  get(clusterId) {
    try {
      const list = JSON.parse(sessionStorage.getItem(`cb.compare.${clusterId}`) || "[]");
      return Array.isArray(list) ? list.filter((x) => typeof x === "string").slice(0, MAX_COMPARE) : [];
    } catch {
      return [];
    }
  },
  set(clusterId, runIds) {
    try {
      sessionStorage.setItem(`cb.compare.${clusterId}`, JSON.stringify(runIds.slice(0, MAX_COMPARE)));
    } catch {
      // storage may be unavailable (private mode): the selection then lasts for this page only
    }
  },
};

/** The header of a cluster's pages. ``tab`` is "history" | "trends" | "compare" | "alerts" | null;
 *  ``filterQuery`` carries the filters between history and trends. Returns {el, setCluster}. */
export function clusterHeader(clusterId, { tab = null, filterQuery = {}, onExecuted = null } = {}) {
  const crumbs = h("div", {});
  const title = h("h1", { class: "title-skeleton" }, h("span", { class: "sr-only" }, "Loading cluster"));
  const meta = h("p", { class: "subtitle" }, "\u00a0");
  const execute = h("button", { type: "button", class: "btn btn-primary", disabled: true }, "Execute");
  const historyTab = h("a", { class: "tab", "aria-current": tab === "history" ? "page" : null }, "History");
  const trendsTab = h("a", { class: "tab", "aria-current": tab === "trends" ? "page" : null }, "Trends");
  const compareTab = h("a", { class: "tab", "aria-current": tab === "compare" ? "page" : null }, "Compare");
  const alertsTab = h("a", { class: "tab", "aria-current": tab === "alerts" ? "page" : null }, "Alerts");
  const tabs = h("nav", { class: "tabs", "aria-label": "Cluster views" }, historyTab, trendsTab, compareTab, alertsTab);
  function setFilterQuery(query) {
    historyTab.href = href(clusterPath(clusterId), query);
    trendsTab.href = href(clusterPath(clusterId, "/trends"), query);
    compareTab.href = href(clusterPath(clusterId, "/compare"), { runs: selection.get(clusterId) });
    alertsTab.href = href(clusterPath(clusterId, "/alerts"));
  }
  setFilterQuery(filterQuery);
  let cluster = null;
  execute.addEventListener("click", async () => {
    if (!cluster) return;
    execute.disabled = true;
    try {
      const queued = await executeWithEstimate(cluster);
      if (!queued) return;
      const { run, estimate } = queued;
      toast(`Run queued (estimated ${estimateText(estimate)})`, { tone: "success", link: { href: href(runPath(cluster.cluster_id, run.run_id)), label: "Open run" } });
      if (onExecuted) onExecuted(run);
    } catch (error) {
      toast(`Could not execute: ${error.message}`, { tone: "error", timeout: 10000 });
    } finally {
      execute.disabled = false;
    }
  });
  const el = h(
    "div",
    { class: "cluster-head" },
    crumbs,
    h("div", { class: "page-head" }, h("div", { class: "page-title" }, title, meta), h("div", { class: "page-actions" }, execute)),
    tab ? tabs : null,
  );
  replace(crumbs, breadcrumbs([{ label: "Clusters", href: href("/") }, { label: clusterId }]));

  function setCluster(found) {
    cluster = found;
    title.classList.remove("title-skeleton");
    replace(title, found.cluster_name);
    const method = found.cluster_type === "attribute" ? "attribute grouping" : found.vector_config?.clustering_method || "kmeans";
    replace(meta, [method, found.description].filter(Boolean).join(" · ") || "\u00a0");
    const crumbsItems = [{ label: "Clusters", href: href("/") }, { label: found.cluster_name, href: tab === "history" ? null : href(clusterPath(found.cluster_id)) }];
    replace(crumbs, breadcrumbs(crumbsItems));
    execute.disabled = false;
  }
  return { el, setCluster, execute, setFilterQuery };
}
