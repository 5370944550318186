// Shared pieces of the pages: badges, states (loading, empty, error), pagination, toasts, progress.

import { h, replace } from "./dom.js";
import { DASH, STATUS_LABEL, fmtInt, fmtNumber } from "./format.js";
import { href } from "./nav.js";

export function statusBadge(status) {
  return h(
    "span",
    { class: `badge status-${status}` },
    h("span", { class: "dot", "aria-hidden": "true" }),
    STATUS_LABEL[status] || status,
  );
}

/** "0.62 — good" with the interpretation's tone as colour (and the words for everyone). */
export function interpreted(value, interpret, digits = 2) {
  const { text, tone } = interpret(value);
  if (value === null || value === undefined) return h("span", { class: "muted" }, DASH);
  return h(
    "span",
    { class: "interpreted" },
    h("span", { class: "num" }, fmtNumber(value, digits)),
    h("span", { class: `tone tone-${tone}` }, ` — ${text}`),
  );
}

export function breadcrumbs(items) {
  return h(
    "nav",
    { class: "breadcrumbs", "aria-label": "Breadcrumb" },
    h(
      "ol",
      {},
      items.map((item, i) =>
        h(
          "li",
          {},
          i === items.length - 1 || !item.href
            ? h("span", { "aria-current": i === items.length - 1 ? "page" : null }, item.label)
            : h("a", { href: item.href }, item.label),
        ),
      ),
    ),
  );
}

export function spinner(label = "Loading…") {
  return h("div", { class: "state state-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), label);
}

export function emptyState({ title, body, actions = [] }) {
  return h(
    "div",
    { class: "state state-empty" },
    h("svg:svg", { viewBox: "0 0 48 48", class: "state-icon", "aria-hidden": "true" },
      h("svg:circle", { cx: "16", cy: "18", r: "7" }),
      h("svg:circle", { cx: "33", cy: "15", r: "5" }),
      h("svg:circle", { cx: "29", cy: "33", r: "8" })),
    h("p", { class: "state-title" }, title),
    body ? h("p", { class: "state-body" }, body) : null,
    actions.length ? h("div", { class: "state-actions" }, actions) : null,
  );
}

/** What went wrong, in words a person can act on, with Retry when it may help. */
export function errorState(error, { onRetry, title, page = false } = {}) {
  const status = error?.status;
  let heading = title || "Something went wrong";
  let body = error?.message || String(error);
  if (status === 0) heading = "Cannot reach the server";
  else if (status === 404 && !title) heading = "Not found";
  else if (status >= 500) {
    heading = "The server had a problem";
    body = `${body} (HTTP ${status}). Retrying may help; if it keeps failing, check the server's log.`;
  }
  return h(
    "div",
    { class: "state state-error", role: "alert" },
    h(page ? "h1" : "p", { class: "state-title" }, heading),
    h("p", { class: "state-body" }, body),
    error?.errors?.length
      ? h("ul", { class: "error-list" }, error.errors.map((e) => h("li", {}, h("code", {}, e.loc), ": ", e.message)))
      : null,
    h(
      "div",
      { class: "state-actions" },
      onRetry ? h("button", { type: "button", class: "btn", onclick: onRetry }, "Retry") : null,
      status === 404 ? h("a", { class: "btn btn-ghost", href: href("/") }, "All clusters") : null,
    ),
  );
}

/** "Showing 11–20 of 127", Previous / "Page 2 of 13" / Next, and the page size. */
export function pagination({ onPage, onSize, sizes = [10, 20, 50, 100], label = "runs" }) {
  const showing = h("p", { class: "pager-showing", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "btn", "aria-label": "Previous page" }, "‹ Previous");
  const next = h("button", { type: "button", class: "btn", "aria-label": "Next page" }, "Next ›");
  const first = h("button", { type: "button", class: "btn btn-ghost", "aria-label": "First page" }, "« First");
  const pageText = h("span", { class: "pager-page" });
  const size = h("select", { class: "input input-narrow", "aria-label": `${label} per page` }, sizes.map((s) => h("option", { value: String(s) }, `${s} / page`)));
  let state = { page: 1, totalPages: 0 };
  prev.addEventListener("click", () => onPage(state.page - 1));
  next.addEventListener("click", () => onPage(state.page + 1));
  first.addEventListener("click", () => onPage(1));
  size.addEventListener("change", () => onSize(Number(size.value)));
  const el = h(
    "nav",
    { class: "pager", "aria-label": "Pagination" },
    showing,
    h("div", { class: "pager-controls" }, first, prev, pageText, next, onSize ? size : null),
  );
  function sync({ page, pageSize, total, totalPages, shown }) {
    state = { page, totalPages };
    if (!total) replace(showing, `No ${label}`);
    else if (!shown) replace(showing, `Nothing on page ${fmtInt(page)} · ${fmtInt(total)} ${label} in all`);
    else {
      const start = (page - 1) * pageSize + 1;
      replace(showing, `Showing ${fmtInt(start)}–${fmtInt(start + shown - 1)} of ${fmtInt(total)}`);
    }
    replace(pageText, `Page ${fmtInt(page)} of ${fmtInt(Math.max(totalPages, 1))}`);
    prev.disabled = page <= 1;
    first.disabled = page <= 1;
    next.disabled = page >= totalPages;
    size.value = String(pageSize);
  }
  return { el, sync };
}

// ------------------------------------------------------------------ toasts and progress

export function toast(message, { tone = "info", link = null, timeout = 6000 } = {}) {
  const region = document.getElementById("toasts");
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const el = h(
    "div",
    { class: `toast toast-${tone}` },
    h("span", {}, message),
    link ? h("a", { href: link.href, class: "toast-link" }, link.label) : null,
    close,
  );
  const remove = () => el.remove();
  close.addEventListener("click", remove);
  region.append(el);
  if (timeout) setTimeout(remove, timeout);
}

let pending = 0;
/** Show the thin progress bar while ``promise`` runs. */
export async function busy(promise) {
  const bar = document.getElementById("progress");
  pending += 1;
  bar.hidden = false;
  try {
    return await promise;
  } finally {
    pending -= 1;
    if (pending <= 0) {
      pending = 0;
      bar.hidden = true;
    }
  }
}

/** Run ``fn`` every ``ms`` while the tab is visible, until stopped. */
export function poller(fn, ms) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch {
        // a failed poll is retried on the next tick
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// ------------------------------------------------------------------ downloads

/** Save a Blob under ``name`` through a temporary object URL (no network; CSP allows it). */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

/**
 * A "Download" group: one button per format; ``fetchExport(format)`` resolves to ``{blob, name}``.
 * The buttons wait (disabled, "Preparing…") while the server streams the export.
 */
export function exportButtons(label, formats, fetchExport) {
  const buttons = formats.map(([format, text]) => {
    const button = h("button", { type: "button", class: "btn btn-small", dataset: { exportFormat: format } }, text);
    button.addEventListener("click", async () => {
      for (const b of buttons) b.disabled = true;
      const before = button.textContent;
      button.textContent = "Preparing…";
      try {
        const { blob, name } = await busy(fetchExport(format));
        saveBlob(blob, name);
        toast(`Downloaded ${name}`, { tone: "success", timeout: 4000 });
      } catch (error) {
        toast(`Could not export: ${error.message}`, { tone: "error", timeout: 10000 });
      } finally {
        button.textContent = before;
        for (const b of buttons) b.disabled = false;
      }
    });
    return button;
  });
  return h("div", { class: "export-group", role: "group", "aria-label": label }, h("span", { class: "muted small" }, label), ...buttons);
}
