// "/" — every cluster of the namespace with its latest run, quality and run count; create and execute.

import { ApiError, api, isAbort } from "../api.js";
import { debounce, h, replace, uid } from "../dom.js";
import { IN_FLIGHT, fmtAgo, fmtInt, fmtTimeLong, interpretSilhouette } from "../format.js";
import { estimateText, executeWithEstimate } from "../estimate.js";
import { clusterPath, currentQuery, href, runPath, setQuery } from "../nav.js";
import { busy, emptyState, errorState, interpreted, pagination, poller, spinner, statusBadge, toast } from "../ui.js";

const PAGE_SIZE = 20;
const POLL_MS = 2000;

export const clustersPage = {
  mount(container, ctx) {
    document.title = "Clusters · clusterbook";
    let controller = null;
    let rows = new Map(); // cluster_id → {tr, cluster, overview}
    let poll = null;
    const searchId = uid("cluster-search");
    const search = h("input", {
      id: searchId,
      type: "search",
      class: "input search-input",
      placeholder: "Search by name, id or description…",
      autocomplete: "off",
    });
    const pushSearch = debounce(() => setQuery({ q: search.value.trim(), page: null }, { replace: true }), 300);
    search.addEventListener("input", pushSearch);
    const newButton = h("button", { type: "button", class: "btn btn-primary", onclick: () => openCreate() }, "New cluster");
    const body = h("div", { class: "table-region" });
    const pager = pagination({ onPage: (page) => setQuery({ page }), label: "clusters" });
    pager.el.hidden = true;

    container.append(
      h(
        "div",
        { class: "page-head" },
        h("div", {}, h("h1", {}, "Clusters"), h("p", { class: "subtitle" }, "Saved clustering configurations and how their runs are going.")),
        h("div", { class: "page-actions" }, newButton),
      ),
      h("div", { class: "toolbar" }, h("div", { class: "field field-search" }, h("label", { class: "label", for: searchId }, "Search clusters"), search)),
      body,
      pager.el,
    );

    function header() {
      return h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Cluster"),
          h("th", { scope: "col" }, "Latest run"),
          h("th", { scope: "col" }, "Quality"),
          h("th", { scope: "col", class: "num" }, "Runs"),
          h("th", { scope: "col", class: "actions-col" }, h("span", { class: "sr-only" }, "Actions")),
        ),
      );
    }

    function latestCell(overview, cluster) {
      const run = overview?.latest_run;
      if (overview === undefined) return h("span", { class: "skeleton-text" }, "");
      if (!run) return h("span", { class: "muted" }, "Never run");
      return h(
        "div",
        { class: "stack-tight" },
        h("a", { href: href(runPath(cluster.cluster_id, run.run_id)), class: "plain-link" }, statusBadge(run.status)),
        h("span", { class: "muted small", title: fmtTimeLong(run.created_at) }, fmtAgo(run.created_at)),
      );
    }

    function qualityCell(overview) {
      if (overview === undefined) return h("span", { class: "skeleton-text" }, "");
      const run = overview?.latest_completed_run;
      if (!run) return h("span", { class: "muted" }, "No completed run");
      return h(
        "div",
        { class: "stack-tight" },
        interpreted(run.metrics?.silhouette_score ?? null, interpretSilhouette),
        h("span", { class: "muted small" }, `silhouette · ${fmtInt(run.num_clusters)} clusters`),
      );
    }

    function runsCell(overview, cluster) {
      if (overview === undefined) return h("span", { class: "skeleton-text" }, "");
      const failed = overview?.runs_by_status?.failed || 0;
      const live = (overview?.runs_by_status?.pending || 0) + (overview?.runs_by_status?.processing || 0);
      return h(
        "div",
        { class: "stack-tight" },
        h("a", { href: href(clusterPath(cluster.cluster_id)), class: "num" }, fmtInt(overview?.run_count ?? 0)),
        failed || live
          ? h("span", { class: "muted small" }, [live ? `${fmtInt(live)} in flight` : null, failed ? `${fmtInt(failed)} failed` : null].filter(Boolean).join(" · "))
          : null,
      );
    }

    function row(cluster, overview) {
      const method = cluster.cluster_type === "attribute" ? "attributes" : cluster.vector_config?.clustering_method || "kmeans";
      const execute = h("button", { type: "button", class: "btn btn-small", onclick: () => executeCluster(cluster, execute) }, "Execute");
      return h(
        "tr",
        { dataset: { clusterId: cluster.cluster_id } },
        h(
          "td",
          {},
          h("a", { href: href(clusterPath(cluster.cluster_id)), class: "row-title" }, cluster.cluster_name),
          h(
            "div",
            { class: "muted small" },
            h("span", { class: "tag" }, method),
            cluster.should_recluster ? h("span", { class: "tag recluster-tag", title: cluster.recluster_reason || "" }, "re-cluster") : null,
            cluster.description ? ` ${cluster.description}` : "",
          ),
        ),
        h("td", { dataset: { label: "Latest run" } }, latestCell(overview, cluster)),
        h("td", { dataset: { label: "Quality" } }, qualityCell(overview)),
        h("td", { class: "num", dataset: { label: "Runs" } }, runsCell(overview, cluster)),
        h("td", { class: "actions-col" }, execute),
      );
    }

    async function executeCluster(cluster, button) {
      button.disabled = true;
      try {
        const queued = await executeWithEstimate(cluster);
        if (!queued) return;
        const { run, estimate } = queued;
        toast(`Run queued for ${cluster.cluster_name} (estimated ${estimateText(estimate)})`, { tone: "success", link: { href: href(runPath(cluster.cluster_id, run.run_id)), label: "Open run" } });
        await refreshOverview([cluster.cluster_id]);
        followLiveRuns();
      } catch (error) {
        toast(`Could not execute ${cluster.cluster_name}: ${error.message}`, { tone: "error", timeout: 10000 });
      } finally {
        button.disabled = false;
      }
    }

    function show(entry, overview) {
      entry.overview = overview;
      const fresh = row(entry.cluster, overview);
      entry.tr.replaceWith(fresh);
      entry.tr = fresh;
    }

    async function refreshOverview(ids) {
      const data = await api.clusterOverview(ids);
      for (const overview of data.results) {
        const entry = rows.get(overview.cluster_id);
        // only rows that changed are redrawn, so a poll never takes the focus from a button
        if (entry && JSON.stringify(entry.overview) !== JSON.stringify(overview)) show(entry, overview);
      }
    }

    function hasLiveRuns(overview) {
      const counts = overview?.runs_by_status || {};
      return (counts.pending || 0) + (counts.processing || 0) > 0 || IN_FLIGHT.has(overview?.latest_run?.status);
    }

    // Rows with runs in flight follow them to their end (one overview request for all of them),
    // like the history page; polling stops once nothing on the page is in flight.
    function followLiveRuns() {
      poll?.stop();
      const live = () => [...rows.entries()].filter(([, entry]) => hasLiveRuns(entry.overview)).map(([id]) => id);
      if (!live().length) return;
      poll = poller(async () => {
        const ids = live();
        if (ids.length) await refreshOverview(ids);
        if (!live().length) poll?.stop();
      }, POLL_MS);
    }

    async function load(ctx) {
      controller?.abort();
      poll?.stop();
      controller = new AbortController();
      const { signal } = controller;
      const q = (ctx.query.get("q") || "").trim();
      const page = Math.max(1, Number.parseInt(ctx.query.get("page") || "1", 10) || 1);
      if (document.activeElement !== search) search.value = q;
      if (!body.firstChild) replace(body, spinner("Loading clusters…"));
      body.setAttribute("aria-busy", "true");
      try {
        const list = await busy(api.listClusters(q ? { search: q } : {}, { page, page_size: PAGE_SIZE }, { signal }));
        body.removeAttribute("aria-busy");
        if (!list.results.length) {
          pager.el.hidden = list.total_count === 0;
          pager.sync({ page, pageSize: PAGE_SIZE, total: list.total_count, totalPages: list.pagination.total_pages, shown: 0 });
          replace(
            body,
            q
              ? emptyState({ title: `No cluster matches “${q}”`, body: "Try another name, or clear the search.", actions: [h("button", { type: "button", class: "btn", onclick: () => setQuery({ q: null, page: null }) }, "Clear search")] })
              : list.total_count
                ? emptyState({ title: "This page is empty", actions: [h("button", { type: "button", class: "btn", onclick: () => setQuery({ page: null }) }, "Go to the first page")] })
                : emptyState({
                    title: "No clusters yet",
                    body: "A cluster is a saved configuration: which collections to cluster, and how. Create one to start running it.",
                    actions: [h("button", { type: "button", class: "btn btn-primary", onclick: () => openCreate() }, "Create a cluster")],
                  }),
          );
          return;
        }
        rows = new Map();
        const tbody = h("tbody", {});
        for (const cluster of list.results) {
          const tr = row(cluster, undefined);
          rows.set(cluster.cluster_id, { tr, cluster });
          tbody.append(tr);
        }
        replace(body, h("div", { class: "table-scroll" }, h("table", { class: "table clusters-table" }, h("caption", { class: "sr-only" }, "Clusters"), header(), tbody)));
        pager.el.hidden = list.pagination.total_pages <= 1;
        pager.sync({ page, pageSize: PAGE_SIZE, total: list.total_count, totalPages: list.pagination.total_pages, shown: list.results.length });
        try {
          const overview = await api.clusterOverview(list.results.map((c) => c.cluster_id), { signal });
          const byId = new Map(overview.results.map((o) => [o.cluster_id, o]));
          for (const [cid, entry] of rows) show(entry, byId.get(cid) || null);
          followLiveRuns();
        } catch (error) {
          if (isAbort(error)) return;
          for (const entry of rows.values()) show(entry, null);
          toast(`Could not load the runs of these clusters: ${error.message}`, { tone: "error" });
        }
      } catch (error) {
        if (isAbort(error)) return;
        body.removeAttribute("aria-busy");
        pager.el.hidden = true;
        replace(body, errorState(error, { onRetry: () => load({ query: currentQuery() }) }));
      }
    }

    // ------------------------------------------------------------ create dialog
    function openCreate() {
      const dialog = createDialog(async (cluster) => {
        toast(`Cluster ${cluster.cluster_name} created`, { tone: "success", link: { href: href(clusterPath(cluster.cluster_id)), label: "Open" } });
        await load({ query: currentQuery() });
      });
      document.body.append(dialog);
      dialog.showModal();
    }

    load(ctx);
    return {
      update: (next) => load(next),
      destroy: () => {
        controller?.abort();
        poll?.stop();
        pushSearch.cancel();
      },
    };
  },
};

function createDialog(onCreated) {
  const nameId = uid("name");
  const descId = uid("desc");
  const algoId = uid("algo");
  const paramsId = uid("params");
  const titleId = uid("dialog-title");
  const errors = h("div", { class: "form-errors", role: "alert" });
  const name = h("input", { id: nameId, class: "input", required: true, maxlength: "128", pattern: "[A-Za-z0-9][A-Za-z0-9 _.\\-]{0,127}", autocomplete: "off" });
  const description = h("textarea", { id: descId, class: "input", rows: "2", maxlength: "2000" });
  const hintsId = uid("param-hints");
  // Built from the server's catalogue (GET /v1/algorithms): the choices, their defaults and the hints.
  const algorithm = h("select", { id: algoId, class: "input", disabled: true }, h("option", { value: "" }, "Loading…"));
  const params = h("textarea", { id: paramsId, class: "input mono", rows: "3", spellcheck: "false", "aria-describedby": hintsId });
  const hints = h("div", { id: hintsId, class: "param-hints hint" });
  let choices = new Map(); // value → {params (JSON prefilled), about (text), specs}
  const choose = () => {
    const choice = choices.get(algorithm.value);
    if (!choice) return;
    params.value = JSON.stringify(choice.params);
    replace(
      hints,
      h("p", { class: "param-about" }, choice.about),
      choice.specs.length
        ? h("dl", { class: "param-list" }, choice.specs.flatMap((p) => [h("dt", {}, h("code", {}, p.name)), h("dd", {}, `${p.meaning} Accepts ${p.accepted}.`)]))
        : h("p", {}, "No parameters."),
    );
  };
  algorithm.addEventListener("change", choose);
  const collectionBox = h("fieldset", { class: "fieldset" }, h("legend", { class: "label" }, "Collections"), h("p", { class: "muted small" }, "Loading collections…"));
  const submit = h("button", { type: "submit", class: "btn btn-primary", disabled: true }, "Create cluster");
  const cancel = h("button", { type: "button", class: "btn btn-ghost", onclick: () => dialog.close() }, "Cancel");
  const form = h(
    "form",
    { class: "form", method: "dialog" },
    h("h2", { class: "dialog-title", id: titleId }, "New cluster"),
    errors,
    h("div", { class: "field" }, h("label", { class: "label", for: nameId }, "Name"), name, h("p", { class: "hint" }, "Letters, digits, spaces, '.', '_' or '-'; unique in this namespace.")),
    h("div", { class: "field" }, h("label", { class: "label", for: descId }, "Description (optional)"), description),
    collectionBox,
    h(
      "div",
      { class: "field-row" },
      h("div", { class: "field" }, h("label", { class: "label", for: algoId }, "Algorithm"), algorithm),
      h("div", { class: "field field-grow" }, h("label", { class: "label", for: paramsId }, "Parameters (JSON)"), params),
    ),
    hints,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
  dialog.addEventListener("close", () => dialog.remove());

  api
    .algorithms()
    .then((catalogue) => {
      const vector = catalogue.algorithms.filter((a) => a.cluster_type === "vector");
      const byName = new Map(catalogue.algorithms.map((a) => [a.name, a]));
      choices = new Map([
        ...vector.map((a) => [a.name, { params: a.defaults, about: a.description, specs: a.params }]),
        ...catalogue.presets.map((p) => [p.name, { params: p.algorithm_params, about: `${p.description} Cost: ${p.cost}`, specs: byName.get(p.algorithm)?.params || [] }]),
      ]);
      replace(
        algorithm,
        h("optgroup", { label: "Algorithms" }, vector.map((a) => h("option", { value: a.name }, a.name))),
        catalogue.presets.length ? h("optgroup", { label: "Presets" }, catalogue.presets.map((p) => h("option", { value: p.name }, p.name))) : null,
      );
      algorithm.disabled = false;
      submit.disabled = false;
      choose();
    })
    .catch((error) => {
      replace(hints, h("p", { class: "form-error" }, `Could not load the algorithms: ${error.message}`));
    });

  api
    .listCollections({}, { page_size: 100 })
    .then((data) => {
      const items = data.results.map((c) =>
        h("label", { class: "check" }, h("input", { type: "checkbox", value: c.collection_id, name: "collection" }), ` ${c.collection_name}`),
      );
      replace(
        collectionBox,
        h("legend", { class: "label" }, "Collections"),
        items.length ? h("div", { class: "check-list" }, items) : h("p", { class: "muted small" }, "No collections yet: create one through the API, then come back. A cluster without collections can be saved but not run."),
      );
    })
    .catch((error) => {
      replace(collectionBox, h("legend", { class: "label" }, "Collections"), h("p", { class: "form-error" }, `Could not load collections: ${error.message}`));
    });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    let algorithmParams;
    try {
      algorithmParams = params.value.trim() ? JSON.parse(params.value) : {};
      if (typeof algorithmParams !== "object" || Array.isArray(algorithmParams) || algorithmParams === null) throw new Error("not an object");
    } catch {
      replace(errors, h("p", { class: "form-error" }, "Parameters must be a JSON object, e.g. {\"n_clusters\": 8}."));
      params.focus();
      return;
    }
    const body = {
      cluster_name: name.value.trim(),
      collection_ids: [...form.querySelectorAll("input[name=collection]:checked")].map((i) => i.value),
      vector_config: { clustering_method: algorithm.value, algorithm_params: algorithmParams },
    };
    if (description.value.trim()) body.description = description.value.trim();
    submit.disabled = true;
    try {
      const cluster = await busy(api.createCluster(body));
      dialog.close();
      await onCreated(cluster);
    } catch (error) {
      const list = error instanceof ApiError && error.errors.length ? error.errors : null;
      replace(
        errors,
        h("p", { class: "form-error" }, list ? "Please fix:" : error.message),
        list ? h("ul", { class: "error-list" }, list.map((e) => h("li", {}, h("code", {}, e.loc), ": ", e.message))) : null,
      );
    } finally {
      submit.disabled = false;
    }
  });
  return dialog;
}
