// The config.* fields of a cluster's runs (GET …/executions/config-fields): what the history can
// show as columns and the trends page can split its series by. The server declares them; this
// module only reads a field's value out of a run's effective configuration and formats it.

import { DASH, fmtNumber } from "./format.js";

const PARAMS = "config.params.";

/** The value of ``field`` (``config.random_state``, ``config.params.n_clusters``) in ``run.config``. */
export function configValue(run, field) {
  const config = run?.config;
  if (!config || typeof config !== "object") return undefined;
  if (field.startsWith(PARAMS)) return config.params?.[field.slice(PARAMS.length)];
  return config[field.slice("config.".length)];
}

/** A field's short name for a column header or a legend: the declared label, or the parameter's name. */
export function fieldLabel(info) {
  return info.declared ? info.label : info.field.slice(PARAMS.length);
}

/** One value as a cell shows it: numbers compactly, booleans as words, lists and objects as JSON. */
export function fmtConfigValue(value) {
  if (value === null || value === undefined) return DASH;
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : fmtNumber(value, 4);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A group's key as a legend shows it (null: the runs that do not carry the field). */
export function fmtGroupKey(key) {
  return key === null || key === undefined ? "(not set)" : fmtConfigValue(key);
}

/** Valid ``cols`` query entries: config.* names, at most ``max`` of them, no repeats. */
export function readColumns(query, max = 6) {
  const raw = (query.get("cols") || "").split(",").map((s) => s.trim());
  return [...new Set(raw.filter((s) => /^config\.(params\.)?[A-Za-z0-9_\-]{1,100}$/.test(s)))].slice(0, max);
}
