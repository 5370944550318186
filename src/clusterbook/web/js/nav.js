// Client-side routing over the History API. Every view state lives in the URL: the path picks the
// page, the query string holds its filters, sort, search and page, so reload and share keep the view.

let routes = [];
let current = null; // {route, params, page, key}
const main = () => document.getElementById("main");

/** Register the pages: [{name, pattern: RegExp, keys: [...], page: {mount(container, ctx)}}]. */
export function setRoutes(list) {
  routes = list;
}

function match(pathname) {
  for (const route of routes) {
    const found = route.pattern.exec(pathname);
    if (found) {
      const params = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(found[i + 1]);
      });
      return { route, params };
    }
  }
  return null;
}

export function currentQuery() {
  return new URLSearchParams(window.location.search);
}

/** A dashboard URL for ``path`` with ``params``, carrying the namespace along. */
export function href(path, params = {}) {
  const usp = new URLSearchParams();
  const ns = currentQuery().get("ns");
  if (ns && !("ns" in params)) usp.set("ns", ns);
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    usp.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = usp.toString();
  return text ? `${path}?${text}` : path;
}

export function clusterPath(clusterId, rest = "") {
  return `/clusters/${encodeURIComponent(clusterId)}${rest}`;
}

export function runPath(clusterId, runId) {
  return clusterPath(clusterId, `/runs/${encodeURIComponent(runId)}`);
}

export function navigate(url, { replace = false } = {}) {
  const target = new URL(url, window.location.origin);
  const same = target.pathname + target.search === window.location.pathname + window.location.search;
  if (replace || same) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  render();
}

/** Change query parameters of the current page (null or "" removes one). */
export function setQuery(changes, { replace = false } = {}) {
  const usp = currentQuery();
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) {
      usp.delete(key);
    } else {
      usp.set(key, Array.isArray(value) ? value.join(",") : String(value));
    }
  }
  const text = usp.toString();
  navigate(window.location.pathname + (text ? `?${text}` : ""), { replace });
}

function context(found) {
  return { params: found ? found.params : {}, query: currentQuery(), path: window.location.pathname };
}

export function render() {
  const found = match(window.location.pathname);
  const key = found ? `${found.route.name}:${JSON.stringify(found.params)}` : "notfound";
  const ctx = context(found);
  if (current && current.key === key && current.page && typeof current.page.update === "function") {
    current.page.update(ctx);
    return;
  }
  if (current?.page?.destroy) current.page.destroy();
  const container = main();
  container.replaceChildren();
  const route = found ? found.route : routes.find((r) => r.name === "notfound");
  const page = route.page.mount(container, ctx);
  const isFirst = current === null;
  current = { key, page };
  window.scrollTo(0, 0);
  if (!isFirst) {
    const heading = container.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }
}

function onClick(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.target.closest("a[href]");
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
  const url = new URL(anchor.href, window.location.href);
  if (url.origin !== window.location.origin || !match(url.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

export function start() {
  window.history.scrollRestoration = "manual";
  document.addEventListener("click", onClick);
  window.addEventListener("popstate", render);
  render();
}
