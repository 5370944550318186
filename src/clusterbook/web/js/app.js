// The dashboard's entry point: routes, the namespace picker, and start.

import { api, setNamespace, whenUnauthorized } from "./api.js";
import { h, replace } from "./dom.js";
import { promptForKey } from "./keyprompt.js";
import { currentQuery, href, navigate, setRoutes, start } from "./nav.js";
import { alertsPage } from "./pages/alerts.js";
import { clustersPage } from "./pages/clusters.js";
import { comparePage } from "./pages/compare.js";
import { historyPage } from "./pages/history.js";
import { runPage } from "./pages/run.js";
import { trendsPage } from "./pages/trends.js";
import { webhooksPage } from "./pages/webhooks.js";
import { emptyState } from "./ui.js";

const notFoundPage = {
  mount(container) {
    document.title = "Not found · clusterbook";
    container.append(
      h("h1", { class: "sr-only" }, "Not found"),
      emptyState({
        title: "There is no page here",
        body: "The address may be mistyped, or the page moved.",
        actions: [h("a", { class: "btn", href: href("/") }, "All clusters")],
      }),
    );
    return {};
  },
};

setRoutes([
  { name: "clusters", pattern: /^\/$/, keys: [], page: clustersPage },
  { name: "run", pattern: /^\/clusters\/([^/]+)\/runs\/([^/]+)\/?$/, keys: ["clusterId", "runId"], page: runPage },
  { name: "trends", pattern: /^\/clusters\/([^/]+)\/trends\/?$/, keys: ["clusterId"], page: trendsPage },
  { name: "alerts", pattern: /^\/clusters\/([^/]+)\/alerts\/?$/, keys: ["clusterId"], page: alertsPage },
  { name: "compare", pattern: /^\/clusters\/([^/]+)\/compare\/?$/, keys: ["clusterId"], page: comparePage },
  { name: "history", pattern: /^\/clusters\/([^/]+)\/?$/, keys: ["clusterId"], page: historyPage },
  { name: "webhooks", pattern: /^\/webhooks\/?$/, keys: [], page: webhooksPage },
  { name: "notfound", pattern: /^$/, keys: [], page: notFoundPage },
]);

function syncNamespace() {
  setNamespace(currentQuery().get("ns"));
}

async function namespacePicker() {
  const slot = document.getElementById("namespace-slot");
  let namespaces;
  try {
    namespaces = await api.namespaces();
  } catch {
    return; // the pages show their own errors; the picker is optional
  }
  if (!Array.isArray(namespaces) || namespaces.length < 2) return;
  const current = currentQuery().get("ns") || "default";
  const select = h(
    "select",
    { id: "namespace", class: "input input-narrow" },
    namespaces.map((ns) => h("option", { value: ns.namespace_name, selected: ns.namespace_name === current }, ns.namespace_name)),
  );
  select.addEventListener("change", () => {
    const ns = select.value === "default" ? null : select.value;
    setNamespace(ns);
    navigate(ns ? `/?ns=${encodeURIComponent(ns)}` : "/");
  });
  replace(slot, h("label", { class: "label label-inline", for: "namespace" }, "Namespace"), select);
}

whenUnauthorized(promptForKey);
syncNamespace();
window.addEventListener("popstate", syncNamespace);
start();
namespacePicker();
