// The dashboard's HTTP client: the public clusterbook API, JSON in and out, problem details turned
// into ApiError. The namespace travels in the X-Namespace header and the API key (when the server
// wants one) as a Bearer token, like for any other client. The key is kept for the tab's session.

let currentNamespace = null;
let onUnauthorized = null;
const KEY_STORAGE = "cb.apiKey";

export function setNamespace(name) {
  currentNamespace = name || null;
}

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || null;
  } catch {
    return null; // storage unavailable: no key
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage unavailable (private mode): the key cannot be kept
  }
}

/** Call ``fn(error)`` whenever the API answers 401 (no key, or a refused one). */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0: the server could not be reached
    this.problem = problem; // the RFC 9457 body, when there was one
  }

  get code() {
    return this.problem?.code ?? null;
  }

  /** Validation errors as [{loc, message}] (empty when none). */
  get errors() {
    return Array.isArray(this.problem?.errors) ? this.problem.errors : [];
  }
}

export function isAbort(error) {
  return error?.name === "AbortError";
}

function query(params) {
  const usp = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") usp.set(key, String(value));
  }
  const text = usp.toString();
  return text ? `?${text}` : "";
}

async function send(method, path, { body, params, signal, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (currentNamespace) headers["X-Namespace"] = currentNamespace;
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(0, null, "Cannot reach the clusterbook server. Check that it is running, then retry.");
  }
  if (!response.ok) {
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    const detail = data && typeof data.detail === "string" ? data.detail : null;
    const error = new ApiError(response.status, data, detail || `The server answered ${response.status} ${response.statusText}`.trim());
    if (response.status === 401 && onUnauthorized) onUnauthorized(error, key);
    throw error;
  }
  return response;
}

export async function request(method, path, opts = {}) {
  const response = await send(method, path, opts);
  if (response.status === 204) return null;
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** A streamed export as a Blob, with the file name the server suggests (Content-Disposition). */
export async function download(method, path, opts = {}) {
  const response = await send(method, path, { ...opts, accept: "*/*" });
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || "export";
  return { blob: await response.blob(), name };
}

const enc = encodeURIComponent;

/** A GET of a static declaration, fetched once per page load (again after a failure). */
function once(path, pick) {
  let pending = null;
  return (opts) => {
    if (!pending) {
      pending = request("GET", path, {}).then(pick, (error) => {
        pending = null; // a refused key or a network error: ask again next time
        throw error;
      });
    }
    const signal = opts?.signal;
    return signal ? Promise.race([pending, new Promise((_, reject) => signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")), { once: true }))]) : pending;
  };
}

/** The declared measures of a run (GET /v1/meta/measures). */
const measures = once("/v1/meta/measures", (body) => body.results);
/** The catalogue of algorithms, parameters, preprocessing steps and presets (GET /v1/algorithms). */
const algorithms = once("/v1/algorithms", (body) => body);

export const api = {
  measures,
  algorithms,
  namespaces: (opts) => request("GET", "/v1/namespaces", opts),
  listClusters: (body, params, opts) => request("POST", "/v1/clusters/list", { ...opts, body, params }),
  clusterOverview: (clusterIds, opts) =>
    request("POST", "/v1/clusters/overview", { ...opts, body: { cluster_ids: clusterIds } }),
  getCluster: (cid, opts) => request("GET", `/v1/clusters/${enc(cid)}`, opts),
  createCluster: (body, opts) => request("POST", "/v1/clusters", { ...opts, body }),
  execute: (cid, body, opts) => request("POST", `/v1/clusters/${enc(cid)}/execute`, { ...opts, body }),
  estimate: (cid, body, opts) => request("POST", `/v1/clusters/${enc(cid)}/execute/estimate`, { ...opts, body }),
  listExecutions: (cid, body, params, opts) =>
    request("POST", `/v1/clusters/${enc(cid)}/executions/list`, { ...opts, body, params }),
  configFields: (cid, opts) => request("GET", `/v1/clusters/${enc(cid)}/executions/config-fields`, opts),
  trends: (cid, body, opts) => request("POST", `/v1/clusters/${enc(cid)}/executions/trends`, { ...opts, body }),
  compareRuns: (cid, runIds, opts) =>
    request("POST", `/v1/clusters/${enc(cid)}/executions/compare`, { ...opts, body: { run_ids: runIds } }),
  findRun: (runId, opts) => request("GET", `/v1/executions/${enc(runId)}`, opts),
  getRun: (cid, runId, opts) => request("GET", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}`, opts),
  getRunById: (runId, opts) => request("GET", `/v1/executions/${enc(runId)}`, opts),
  updateCentroid: (cid, runId, centroidId, body, opts) =>
    request("PATCH", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}/centroids/${enc(centroidId)}`, { ...opts, body }),
  mergeCentroids: (cid, runId, clusterIds, label, opts) =>
    request("POST", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}/centroids/merge`, { ...opts, body: label ? { cluster_ids: clusterIds, label } : { cluster_ids: clusterIds } }),
  cancelRun: (cid, runId, opts) => request("POST", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}/cancel`, opts),
  hierarchy: (cid, runId, opts) =>
    request("GET", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}/hierarchy`, opts),
  projection: (cid, runId, opts) =>
    request("GET", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}/projection`, opts),
  listMembers: (cid, runId, body, params, opts) =>
    request("POST", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}/members/list`, { ...opts, body, params }),
  listMonitors: (cid, opts) => request("GET", `/v1/clusters/${enc(cid)}/monitors`, opts),
  monitorAlerts: (cid, mid, params, opts) =>
    request("GET", `/v1/clusters/${enc(cid)}/monitors/${enc(mid)}/alerts`, { ...opts, params }),
  listCollections: (body, params, opts) => request("POST", "/v1/collections/list", { ...opts, body, params }),
  listSchedules: (cid, opts) => request("GET", `/v1/clusters/${enc(cid)}/schedules`, opts),
  createSchedule: (cid, body, opts) => request("POST", `/v1/clusters/${enc(cid)}/schedules`, { ...opts, body }),
  updateSchedule: (cid, sid, body, opts) =>
    request("PATCH", `/v1/clusters/${enc(cid)}/schedules/${enc(sid)}`, { ...opts, body }),
  deleteSchedule: (cid, sid, opts) => request("DELETE", `/v1/clusters/${enc(cid)}/schedules/${enc(sid)}`, opts),
  webhookEvents: (opts) => request("GET", "/v1/meta/webhook-events", opts),
  listWebhooks: (params, opts) => request("GET", "/v1/webhooks", { ...opts, params }),
  createWebhook: (body, opts) => request("POST", "/v1/webhooks", { ...opts, body }),
  updateWebhook: (id, body, opts) => request("PATCH", `/v1/webhooks/${enc(id)}`, { ...opts, body }),
  deleteWebhook: (id, opts) => request("DELETE", `/v1/webhooks/${enc(id)}`, opts),
  webhookDeliveries: (id, params, opts) => request("GET", `/v1/webhooks/${enc(id)}/deliveries`, { ...opts, params }),
  exportRuns: (cid, body, format, opts) =>
    download("POST", `/v1/clusters/${enc(cid)}/executions/export`, { ...opts, body, params: { format } }),
  exportMembers: (cid, runId, format, opts) =>
    download("GET", `/v1/clusters/${enc(cid)}/executions/${enc(runId)}/members/export`, { ...opts, params: { format } }),
};
