// The history's filter state: read from and written to the URL query string, turned into the
// listing endpoint's `filters` tree and `search`. Shared by the history table and the trends.

import { h, uid, debounce } from "./dom.js";
import { STATUSES, STATUS_LABEL } from "./format.js";

export const FILTER_KEYS = ["status", "from", "to", "min_sil", "q"];

function isDate(text) {
  return /^\d{4}-\d{2}-\d{2}$/.test(text || "");
}

/** {statuses, from, to, minSil, q} from the URL (invalid values are ignored). */
export function readFilters(query) {
  const statuses = (query.get("status") || "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => STATUSES.includes(s));
  const from = isDate(query.get("from")) ? query.get("from") : "";
  const to = isDate(query.get("to")) ? query.get("to") : "";
  const rawSil = query.get("min_sil");
  const minSil = rawSil !== null && rawSil !== "" && Number.isFinite(Number(rawSil)) ? Number(rawSil) : null;
  return { statuses: [...new Set(statuses)], from, to, minSil, q: (query.get("q") || "").trim() };
}

export function hasFilters(f) {
  return f.statuses.length > 0 || Boolean(f.from || f.to || f.q) || f.minSil !== null;
}

/** Local midnight of a YYYY-MM-DD date (plus ``days``) as an ISO instant. */
export function localDayStart(text, days = 0) {
  const [y, m, d] = text.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

/** The listing request's `filters` and `search` for this state. */
export function toRequest(f) {
  const conditions = [];
  if (f.statuses.length) conditions.push({ field: "status", operator: "in", value: f.statuses });
  if (f.from) conditions.push({ field: "created_at", operator: "gte", value: localDayStart(f.from) });
  if (f.to) conditions.push({ field: "created_at", operator: "lt", value: localDayStart(f.to, 1) });
  if (f.minSil !== null) conditions.push({ field: "metrics.silhouette_score", operator: "gte", value: f.minSil });
  const body = {};
  if (conditions.length) body.filters = { operator: "AND", conditions };
  if (f.q) body.search = f.q;
  return body;
}

/** The filter part of the query string (to carry the filters between history and trends). */
export function filterParams(query) {
  const out = {};
  for (const key of FILTER_KEYS) {
    const value = query.get(key);
    if (value) out[key] = value;
  }
  return out;
}

/** The filter bar: search, status toggles, date range, silhouette threshold and "clear".
 *  ``onChange(changes, {replace})`` receives query-string changes. Returns {el, sync(filters)}. */
export function filterBar(onChange) {
  const searchId = uid("search");
  const search = h("input", {
    id: searchId,
    type: "search",
    class: "input search-input",
    placeholder: "Search run ids, errors, labels, keywords…",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: "500",
  });
  const pushSearch = debounce(() => onChange({ q: search.value.trim(), page: null }, { replace: true }), 350);
  search.addEventListener("input", pushSearch);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      pushSearch.cancel();
      onChange({ q: search.value.trim(), page: null }, { replace: false });
    }
  });

  const chips = STATUSES.map((status) =>
    h(
      "button",
      {
        type: "button",
        class: `chip chip-${status}`,
        "aria-pressed": "false",
        dataset: { status },
        onclick: (event) => {
          const pressed = [...chipGroup.querySelectorAll("[aria-pressed=true]")].map((b) => b.dataset.status);
          const mine = event.currentTarget.dataset.status;
          const next = pressed.includes(mine) ? pressed.filter((s) => s !== mine) : [...pressed, mine];
          onChange({ status: STATUSES.filter((s) => next.includes(s)), page: null });
        },
      },
      h("span", { class: "dot", "aria-hidden": "true" }),
      STATUS_LABEL[status],
    ),
  );
  const chipGroup = h("div", { class: "chips", role: "group", "aria-label": "Status" }, chips);

  const fromId = uid("from");
  const toId = uid("to");
  const silId = uid("sil");
  const from = h("input", { id: fromId, type: "date", class: "input" });
  const to = h("input", { id: toId, type: "date", class: "input" });
  from.addEventListener("change", () => onChange({ from: from.value, page: null }));
  to.addEventListener("change", () => onChange({ to: to.value, page: null }));
  const sil = h("input", {
    id: silId,
    type: "number",
    class: "input input-narrow",
    min: "-1",
    max: "1",
    step: "0.05",
    placeholder: "any",
    inputmode: "decimal",
  });
  const pushSil = () => {
    const value = sil.value.trim();
    if (value !== "" && !Number.isFinite(Number(value))) return;
    onChange({ min_sil: value, page: null });
  };
  sil.addEventListener("change", pushSil);
  sil.addEventListener("keydown", (event) => {
    if (event.key === "Enter") pushSil();
  });
  const clear = h(
    "button",
    {
      type: "button",
      class: "btn btn-ghost",
      onclick: () => {
        pushSearch.cancel();
        onChange({ q: null, status: null, from: null, to: null, min_sil: null, page: null });
      },
    },
    "Clear filters",
  );

  const el = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter runs", onsubmit: (e) => e.preventDefault() },
    h("div", { class: "field field-search" }, h("label", { for: searchId, class: "label" }, "Search"), search),
    h("div", { class: "field" }, h("span", { class: "label", "aria-hidden": "true" }, "Status"), chipGroup),
    h(
      "div",
      { class: "field-row" },
      h("div", { class: "field" }, h("label", { for: fromId, class: "label" }, "From"), from),
      h("div", { class: "field" }, h("label", { for: toId, class: "label" }, "To"), to),
      h("div", { class: "field" }, h("label", { for: silId, class: "label" }, "Min. silhouette"), sil),
      h("div", { class: "field field-clear" }, clear),
    ),
  );

  function sync(f) {
    if (document.activeElement !== search) search.value = f.q;
    for (const chip of chips) chip.setAttribute("aria-pressed", String(f.statuses.includes(chip.dataset.status)));
    from.value = f.from;
    to.value = f.to;
    if (document.activeElement !== sil) sil.value = f.minSil === null ? "" : String(f.minSil);
    clear.disabled = !hasFilters(f);
  }
  return { el, sync };
}
