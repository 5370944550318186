// The schedules section of a cluster's page: its triggers with the next fire time and the last
// firings (the run each started, or why it skipped), pause / resume / delete, and a form to add one.
// Everything goes through the public API (/v1/clusters/{id}/schedules); it refreshes every 15 s.

import { api, isAbort } from "../api.js";
import { h, replace, uid } from "../dom.js";
import { fmtAgo, fmtTime } from "../format.js";
import { href, runPath } from "../nav.js";
import { errorState, poller, toast } from "../ui.js";

const REFRESH_MS = 15000;
const SKIP_TEXT = {
  paused: "skipped: paused",
  in_flight: "skipped: previous run still in flight",
  no_new_documents: "skipped: not enough new documents",
  refused: "skipped: run refused",
};

function triggerText(s) {
  if (s.kind === "cron") return `cron “${s.cron}” (${s.timezone})`;
  if (s.kind === "interval") {
    const n = s.interval_seconds;
    if (n % 86400 === 0) return `every ${n / 86400} day${n === 86400 ? "" : "s"}`;
    if (n % 3600 === 0) return `every ${n / 3600} hour${n === 3600 ? "" : "s"}`;
    if (n % 60 === 0) return `every ${n / 60} minute${n === 60 ? "" : "s"}`;
    return `every ${n} s`;
  }
  return `after ${s.new_documents} new or changed documents`;
}

function firingItem(clusterId, f) {
  const when = h("time", { datetime: f.fired_at, title: fmtTime(f.fired_at) }, fmtAgo(f.fired_at));
  if (f.run_id) {
    return h("li", { class: "firing firing-run" }, when, " · started ", h("a", { href: href(runPath(clusterId, f.run_id)) }, f.run_id));
  }
  const repeats = f.repeats > 1 ? ` (×${f.repeats})` : "";
  return h("li", { class: `firing firing-skip`, title: f.detail || "" }, when, ` · ${SKIP_TEXT[f.skipped] || f.skipped}${repeats}`);
}

function createForm(clusterId, onCreated) {
  const ids = { kind: uid("kind"), cron: uid("cron"), tz: uid("tz"), every: uid("every"), docs: uid("docs"), name: uid("name") };
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const kind = h("select", { class: "input", id: ids.kind, name: "kind" },
    h("option", { value: "cron" }, "Cron expression"),
    h("option", { value: "interval" }, "Fixed interval"),
    h("option", { value: "new_documents" }, "New documents"));
  const cron = h("input", { class: "input", id: ids.cron, name: "cron", value: "0 3 * * *", placeholder: "0 3 * * *", autocomplete: "off" });
  const tz = h("input", { class: "input", id: ids.tz, name: "timezone", value: zone, autocomplete: "off" });
  const every = h("input", { class: "input", id: ids.every, name: "interval_seconds", type: "number", min: "60", value: "3600" });
  const docs = h("input", { class: "input", id: ids.docs, name: "new_documents", type: "number", min: "1", value: "500" });
  const name = h("input", { class: "input", id: ids.name, name: "name", maxlength: "200", placeholder: "nightly" });
  const paused = h("input", { type: "checkbox", name: "paused" });
  const fields = {
    cron: [h("div", { class: "field" }, h("label", { class: "label", for: ids.cron }, "Cron (min hour day month weekday)"), cron),
      h("div", { class: "field" }, h("label", { class: "label", for: ids.tz }, "Time zone"), tz)],
    interval: [h("div", { class: "field" }, h("label", { class: "label", for: ids.every }, "Every (seconds, ≥ 60)"), every)],
    new_documents: [h("div", { class: "field" }, h("label", { class: "label", for: ids.docs }, "New or changed documents"), docs)],
  };
  const kindFields = h("div", { class: "field-row" });
  const problem = h("div", { class: "schedule-problem", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Add schedule");
  const showKind = () => replace(kindFields, fields[kind.value]);
  kind.addEventListener("change", showKind);
  showKind();

  const form = h("form", { class: "schedule-form", "aria-label": "New schedule" },
    h("div", { class: "field-row" },
      h("div", { class: "field" }, h("label", { class: "label", for: ids.kind }, "Run on"), kind),
      h("div", { class: "field field-grow" }, h("label", { class: "label", for: ids.name }, "Name (optional)"), name)),
    kindFields,
    h("div", { class: "field-row" },
      h("label", { class: "field-inline" }, paused, "Create paused"),
      submit),
    problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    if (kind.value === "cron") Object.assign(body, { cron: cron.value.trim(), timezone: tz.value.trim() || "UTC" });
    else if (kind.value === "interval") body.interval_seconds = Number(every.value);
    else body.new_documents = Number(docs.value);
    if (name.value.trim()) body.name = name.value.trim();
    if (paused.checked) body.paused = true;
    submit.disabled = true;
    replace(problem);
    try {
      const made = await api.createSchedule(clusterId, body);
      toast(`Schedule added: next run ${fmtTime(made.next_fire_at)}`, { tone: "success" });
      name.value = "";
      onCreated();
    } catch (error) {
      // one line per bad field (the detail repeats the first), or the detail alone
      const lines = [...new Set(error.errors?.length ? error.errors.map((e) => e.message) : [error.message])];
      replace(problem, h("div", { class: "state state-error", role: "alert" },
        h("p", { class: "state-title" }, "The schedule was not saved"),
        lines.map((line) => h("p", { class: "state-body" }, line))));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The section: ``{el, destroy}``. */
export function schedulesSection(clusterId) {
  let controller = null;
  const tbody = h("tbody", {});
  const state = h("div", { class: "table-state" });
  const count = h("span", { class: "muted small" });
  const table = h("table", { class: "table schedules-table" },
    h("caption", { class: "sr-only" }, "Schedules"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Schedule"),
      h("th", { scope: "col" }, "State"),
      h("th", { scope: "col" }, "Next run"),
      h("th", { scope: "col" }, "Last firings"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
    tbody);

  const tableWrap = h("div", { class: "table-scroll", hidden: true }, table);

  async function act(promise, message) {
    try {
      await promise;
      toast(message, { tone: "success" });
    } catch (error) {
      toast(error.message, { tone: "error" });
    }
    await load();
  }

  function row(s) {
    const toggle = h("button", { type: "button", class: "btn btn-small", onclick: () => act(api.updateSchedule(clusterId, s.schedule_id, { paused: !s.paused }), s.paused ? "Schedule resumed" : "Schedule paused") }, s.paused ? "Resume" : "Pause");
    const remove = h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => {
      if (window.confirm("Delete this schedule? The runs it started stay in the history.")) act(api.deleteSchedule(clusterId, s.schedule_id), "Schedule deleted");
    } }, "Delete");
    return h("tr", { dataset: { scheduleId: s.schedule_id } },
      h("td", {}, s.name ? h("strong", {}, s.name) : null, s.name ? h("br") : null, h("span", {}, triggerText(s)),
        h("br"), h("code", { class: "muted small" }, s.schedule_id)),
      h("td", {}, h("span", { class: `badge ${s.paused ? "badge-paused" : "badge-active"}` }, s.paused ? "Paused" : "Active")),
      h("td", {}, s.paused ? h("span", { class: "muted" }, "paused") : h("time", { datetime: s.next_fire_at, title: fmtTime(s.next_fire_at) }, fmtTime(s.next_fire_at), h("span", { class: "muted small" }, ` (${fmtAgo(s.next_fire_at)})`))),
      h("td", {}, s.last_firings.length ? h("ul", { class: "firings" }, s.last_firings.slice(0, 3).map((f) => firingItem(clusterId, f))) : h("span", { class: "muted" }, "never fired")),
      h("td", { class: "actions" }, toggle, " ", remove));
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      const data = await api.listSchedules(clusterId, { signal: controller.signal });
      replace(count, data.total_count ? `${data.total_count} schedule${data.total_count === 1 ? "" : "s"}` : "");
      replace(tbody, data.results.map(row));
      tableWrap.hidden = !data.results.length;
      replace(state, data.results.length ? null : h("p", { class: "muted" }, "No schedules yet: add one below to run this cluster by cron, interval or new documents."));
    } catch (error) {
      if (isAbort(error)) return;
      replace(state, errorState(error, { onRetry: load }));
    }
  }

  const el = h("section", { class: "card schedules", "aria-labelledby": "schedules-title" },
    h("div", { class: "section-head" }, h("h2", { class: "card-title", id: "schedules-title" }, "Schedules"), count),
    tableWrap, state,
    h("details", { class: "schedule-new" }, h("summary", {}, "New schedule"), createForm(clusterId, load)));
  load();
  const poll = poller(load, REFRESH_MS);
  return {
    el,
    destroy() {
      controller?.abort();
      poll.stop();
    },
  };
}
