// "/webhooks" — the namespace's webhook endpoints and, for the one picked (?hook=wh_…), its delivery
// log: status, attempts, response code, last error. New endpoints show their signing secret once.
// The events offered come from GET /v1/meta/webhook-events (declared once, on the server).

import { api, isAbort } from "../api.js";
import { copyText, h, replace, uid } from "../dom.js";
import { DASH, fmtAgo, fmtDuration, fmtInt, fmtTimeLong, shortId } from "../format.js";
import { currentQuery, setQuery } from "../nav.js";
import { busy, emptyState, errorState, pagination, poller, spinner, toast } from "../ui.js";

const LOG_PAGE_SIZE = 20;
const POLL_MS = 2000;
const DELIVERY_LOOK = {
  pending: { label: "Pending", tone: "pending" },
  delivering: { label: "Delivering", tone: "processing" },
  delivered: { label: "Delivered", tone: "completed" },
  failed: { label: "Given up", tone: "failed" },
};

function deliveryBadge(status) {
  const look = DELIVERY_LOOK[status] || { label: status, tone: "canceled" };
  return h("span", { class: `badge status-${look.tone}` }, h("span", { class: "dot", "aria-hidden": "true" }), look.label);
}

function retryIn(value) {
  const seconds = Math.round((Date.parse(value) - Date.now()) / 1000);
  if (!(seconds > 0)) return "now";
  return seconds < 90 ? `in ${seconds} s` : fmtAgo(value);
}

function timeCell(value) {
  return value ? h("span", { title: fmtTimeLong(value) }, fmtAgo(value)) : h("span", { class: "muted" }, DASH);
}

export const webhooksPage = {
  mount(container, ctx) {
    document.title = "Webhooks · clusterbook";
    let controller = null;
    let poll = null;
    const hooksRegion = h("div", { class: "table-region", id: "webhooks-list" });
    const logRegion = h("section", { class: "section", id: "webhook-deliveries", "aria-live": "polite" });
    const newButton = h("button", { type: "button", class: "btn btn-primary", onclick: () => openCreate() }, "New endpoint");
    container.append(
      h(
        "div",
        { class: "page-head" },
        h(
          "div",
          {},
          h("h1", {}, "Webhooks"),
          h("p", { class: "subtitle" }, "Endpoints told when runs end or monitors fire, and every delivery sent to them."),
        ),
        h("div", { class: "page-actions" }, newButton),
      ),
      hooksRegion,
      logRegion,
    );

    function hooksTable(hooks, selected) {
      const rows = hooks.map((hook) => {
        const show = h("button", { type: "button", class: "btn btn-small", "aria-pressed": String(hook.webhook_id === selected), onclick: () => setQuery({ hook: hook.webhook_id, status: null, page: null }) }, "Deliveries");
        const toggle = h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => setActive(hook, !hook.active, toggle) }, hook.active ? "Pause" : "Resume");
        const remove = h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => removeHook(hook, remove) }, "Delete");
        return h(
          "tr",
          { dataset: { webhookId: hook.webhook_id }, class: hook.webhook_id === selected ? "row-selected" : null },
          h("td", {}, h("div", { class: "mono break" }, hook.url), hook.description ? h("div", { class: "muted small" }, hook.description) : null),
          h("td", { dataset: { label: "Events" } }, h("div", { class: "stack-tight" }, hook.events.map((e) => h("span", { class: "tag" }, e)))),
          h("td", { dataset: { label: "State" } }, hook.active ? h("span", { class: "badge status-completed" }, "Active") : h("span", { class: "badge status-canceled" }, "Paused")),
          h("td", { dataset: { label: "Created" } }, timeCell(hook.created_at)),
          h("td", { class: "actions-col" }, h("div", { class: "row-actions" }, show, toggle, remove)),
        );
      });
      return h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "table webhooks-table" },
          h("caption", { class: "sr-only" }, "Webhook endpoints"),
          h("thead", {}, h("tr", {}, ["URL", "Events", "State", "Created"].map((t) => h("th", { scope: "col" }, t)), h("th", { scope: "col", class: "actions-col" }, h("span", { class: "sr-only" }, "Actions")))),
          h("tbody", {}, rows),
        ),
      );
    }

    async function setActive(hook, active, button) {
      button.disabled = true;
      try {
        await api.updateWebhook(hook.webhook_id, { active });
        toast(active ? "Endpoint resumed: new events are delivered again" : "Endpoint paused: nothing is sent to it until it is resumed", { tone: "success" });
        await load({ query: currentQuery() });
      } catch (error) {
        toast(`Could not change the endpoint: ${error.message}`, { tone: "error", timeout: 10000 });
        button.disabled = false;
      }
    }

    async function removeHook(hook, button) {
      if (!window.confirm(`Delete the endpoint ${hook.url} and its delivery log?`)) return;
      button.disabled = true;
      try {
        await api.deleteWebhook(hook.webhook_id);
        toast("Endpoint deleted", { tone: "success" });
        const query = currentQuery();
        if (query.get("hook") === hook.webhook_id) setQuery({ hook: null, status: null, page: null });
        else await load({ query });
      } catch (error) {
        toast(`Could not delete the endpoint: ${error.message}`, { tone: "error", timeout: 10000 });
        button.disabled = false;
      }
    }

    // ------------------------------------------------------------ the delivery log of one endpoint
    const statusId = uid("delivery-status");
    const statusFilter = h(
      "select",
      { id: statusId, class: "input input-narrow" },
      h("option", { value: "" }, "Every status"),
      Object.entries(DELIVERY_LOOK).map(([value, look]) => h("option", { value }, look.label)),
    );
    statusFilter.addEventListener("change", () => setQuery({ status: statusFilter.value || null, page: null }));
    const pager = pagination({ onPage: (page) => setQuery({ page }), label: "deliveries" });
    const logBody = h("div", { class: "table-region" });

    function logTable(deliveries) {
      const rows = deliveries.map((d) =>
        h(
          "tr",
          { dataset: { deliveryId: d.delivery_id } },
          h("td", {}, h("span", { class: "mono", title: `${d.delivery_id} · event ${d.event_id}` }, shortId(d.delivery_id)), h("div", { class: "muted small" }, d.event)),
          h("td", { dataset: { label: "Status" } }, deliveryBadge(d.status), d.status === "pending" && d.attempts ? h("div", { class: "muted small", title: fmtTimeLong(d.next_attempt_at) }, `next try ${retryIn(d.next_attempt_at)}`) : null),
          h("td", { class: "num", dataset: { label: "Attempts" } }, fmtInt(d.attempts)),
          h("td", { class: "num", dataset: { label: "Response" } }, d.response_code ?? h("span", { class: "muted" }, DASH), d.response_ms != null ? h("div", { class: "muted small" }, fmtDuration(d.response_ms)) : null),
          h("td", { dataset: { label: "Last error" }, class: "break" }, d.last_error ? h("span", { class: "error-text" }, d.last_error) : h("span", { class: "muted" }, DASH)),
          h("td", { dataset: { label: "Created" } }, timeCell(d.created_at)),
          h("td", { dataset: { label: "Delivered" } }, timeCell(d.delivered_at)),
        ),
      );
      return h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "table deliveries-table" },
          h("caption", { class: "sr-only" }, "Deliveries"),
          h("thead", {}, h("tr", {}, ["Delivery", "Status", "Attempts", "Response", "Last error", "Created", "Delivered"].map((t) => h("th", { scope: "col", class: ["Attempts", "Response"].includes(t) ? "num" : null }, t)))),
          h("tbody", {}, rows),
        ),
      );
    }

    let shownLog = null; // the last log drawn, so a poll that changed nothing redraws nothing

    async function loadLog(hook, query, signal) {
      const status = query.get("status") || "";
      const page = Math.max(1, Number.parseInt(query.get("page") || "1", 10) || 1);
      statusFilter.value = status;
      const params = { page, page_size: LOG_PAGE_SIZE, status: status || undefined };
      const log = await api.webhookDeliveries(hook.webhook_id, params, { signal });
      const drawn = JSON.stringify([status, page, log]);
      if (drawn === shownLog) return;
      shownLog = drawn;
      pager.el.hidden = log.pagination.total_pages <= 1;
      pager.sync({ page, pageSize: LOG_PAGE_SIZE, total: log.total_count, totalPages: log.pagination.total_pages, shown: log.results.length });
      replace(
        logBody,
        log.results.length
          ? logTable(log.results)
          : emptyState({
              title: status ? `No ${DELIVERY_LOOK[status]?.label.toLowerCase() || status} deliveries` : "Nothing delivered yet",
              body: status ? "Try another status." : `Deliveries appear here when one of its events happens: ${hook.events.join(", ")}.`,
            }),
      );
    }

    function showLog(hook, query, signal) {
      shownLog = null;
      replace(
        logRegion,
        h("h2", { class: "section-title" }, "Deliveries to ", h("span", { class: "mono" }, hook.url)),
        h("div", { class: "toolbar" }, h("div", { class: "field" }, h("label", { class: "label", for: statusId }, "Status"), statusFilter)),
        logBody,
        pager.el,
      );
      replace(logBody, spinner("Loading deliveries…"));
      loadLog(hook, query, signal)
        .then(() => {
          // new events and retries land at any time: follow the log while it is on screen (and the tab visible)
          poll = poller(() => loadLog(hook, currentQuery(), signal), POLL_MS);
        })
        .catch((error) => {
          if (!isAbort(error)) replace(logBody, errorState(error, { onRetry: () => load({ query: currentQuery() }) }));
        });
    }

    async function load(next) {
      controller?.abort();
      poll?.stop();
      controller = new AbortController();
      const { signal } = controller;
      const query = next.query;
      const selected = query.get("hook");
      if (!hooksRegion.firstChild) replace(hooksRegion, spinner("Loading webhook endpoints…"));
      try {
        const list = await busy(api.listWebhooks({ page_size: 100 }, { signal }));
        if (!list.results.length) {
          replace(
            hooksRegion,
            emptyState({
              title: "No webhook endpoints yet",
              body: "An endpoint is a URL clusterbook POSTs to, signed, when a run completes, fails or is canceled, or a monitor fires.",
              actions: [h("button", { type: "button", class: "btn btn-primary", onclick: () => openCreate() }, "Create an endpoint")],
            }),
          );
          replace(logRegion);
          return;
        }
        replace(hooksRegion, hooksTable(list.results, selected));
        const hook = list.results.find((w) => w.webhook_id === selected);
        if (hook) showLog(hook, query, signal);
        else replace(logRegion, h("p", { class: "muted" }, "Pick an endpoint's Deliveries to see what was sent to it."));
      } catch (error) {
        if (isAbort(error)) return;
        replace(hooksRegion, errorState(error, { onRetry: () => load({ query: currentQuery() }) }));
      }
    }

    function openCreate() {
      const dialog = createDialog(async (created) => {
        await load({ query: currentQuery() });
        setQuery({ hook: created.webhook_id, status: null, page: null }, { replace: true });
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
      },
    };
  },
};

function createDialog(onCreated) {
  const urlId = uid("hook-url");
  const descId = uid("hook-desc");
  const titleId = uid("dialog-title");
  const errors = h("div", { class: "form-errors", role: "alert" });
  const url = h("input", { id: urlId, class: "input mono", type: "url", required: true, maxlength: "2048", placeholder: "https://example.com/hooks/clusterbook", autocomplete: "off" });
  const description = h("input", { id: descId, class: "input", maxlength: "500", autocomplete: "off" });
  const eventBox = h("fieldset", { class: "fieldset" }, h("legend", { class: "label" }, "Events"), h("p", { class: "muted small" }, "Loading events…"));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create endpoint");
  const cancel = h("button", { type: "button", class: "btn btn-ghost", onclick: () => dialog.close() }, "Cancel");
  const form = h(
    "form",
    { class: "form", method: "dialog" },
    h("h2", { class: "dialog-title", id: titleId }, "New webhook endpoint"),
    errors,
    h("div", { class: "field" }, h("label", { class: "label", for: urlId }, "URL"), url, h("p", { class: "hint" }, "http:// or https://; clusterbook POSTs JSON here, signed in the Clusterbook-Signature header.")),
    eventBox,
    h("div", { class: "field" }, h("label", { class: "label", for: descId }, "Description (optional)"), description),
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
  dialog.addEventListener("close", () => dialog.remove());

  api
    .webhookEvents()
    .then((data) => {
      const items = data.results.map((e) =>
        h("label", { class: "check" }, h("input", { type: "checkbox", value: e.event, name: "event", checked: e.event !== "monitor.triggered" }), " ", h("span", { class: "mono" }, e.event), h("span", { class: "muted small" }, ` — ${e.meaning}`)),
      );
      replace(eventBox, h("legend", { class: "label" }, "Events"), h("div", { class: "check-list" }, items));
    })
    .catch((error) => replace(eventBox, h("legend", { class: "label" }, "Events"), h("p", { class: "form-error" }, `Could not load the events: ${error.message}`)));

  function showSecret(created) {
    const secret = h("code", { class: "secret mono", id: "webhook-secret" }, created.secret);
    const copy = h("button", { type: "button", class: "btn btn-small", onclick: async () => toast((await copyText(created.secret)) ? "Secret copied" : "Could not copy: select it and copy by hand") }, "Copy");
    const done = h("button", { type: "button", class: "btn btn-primary", onclick: () => dialog.close() }, "Done");
    replace(
      form,
      h("h2", { class: "dialog-title", id: titleId }, "Endpoint created"),
      h("p", {}, "Its signing secret is shown only now. Keep it where your receiver can check the ", h("span", { class: "mono" }, "Clusterbook-Signature"), " header: HMAC-SHA256 of ", h("span", { class: "mono" }, "<t>.<body>"), "."),
      h("div", { class: "field-row" }, secret, copy),
      h("div", { class: "dialog-actions" }, done),
    );
    done.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    const events = [...form.querySelectorAll("input[name=event]:checked")].map((i) => i.value);
    if (!events.length) {
      replace(errors, h("p", { class: "form-error" }, "Pick at least one event to deliver."));
      return;
    }
    const body = { url: url.value.trim(), events };
    if (description.value.trim()) body.description = description.value.trim();
    submit.disabled = true;
    try {
      const created = await api.createWebhook(body);
      showSecret(created);
      await onCreated(created);
    } catch (error) {
      const items = error.errors?.length ? error.errors.map((e) => h("li", {}, e.message)) : [h("li", {}, error.message)];
      replace(errors, h("ul", { class: "form-error" }, items));
      submit.disabled = false;
    }
  });
  return dialog;
}
