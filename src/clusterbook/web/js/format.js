// Formatting and interpretation of values from the API: numbers, durations, times, statuses, metrics.

export const STATUSES = ["pending", "processing", "completed", "failed", "canceled"];
export const IN_FLIGHT = new Set(["pending", "processing"]);
export const STATUS_LABEL = {
  pending: "Pending",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
  canceled: "Canceled",
};

const intFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateTimeLong = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const dayMonth = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const dayMonthHour = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export const DASH = "—";

export function fmtInt(value) {
  return value === null || value === undefined ? DASH : intFormat.format(value);
}

export function fmtNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return Number(value).toFixed(digits);
}

export function fmtCompact(value) {
  if (value === null || value === undefined) return DASH;
  return new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }).format(value);
}

/** 850 ms, 12.4 s, 3 min 05 s, 2 h 10 min */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return DASH;
  if (ms < 1000) return `${intFormat.format(Math.round(ms))} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${oneDecimal.format(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${intFormat.format(Math.floor(hours / 24))} d ${hours % 24} h`;
}

export function parseTime(value) {
  return value ? new Date(value) : null;
}

export function fmtTime(value) {
  const date = parseTime(value);
  return date ? dateTime.format(date) : DASH;
}

export function fmtTimeLong(value) {
  const date = parseTime(value);
  return date ? dateTimeLong.format(date) : DASH;
}

export function fmtAgo(value, now = Date.now()) {
  const date = parseTime(value);
  if (!date) return DASH;
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 86400 * 30) return relative.format(Math.round(seconds / 86400), "day");
  return dateTime.format(date);
}

export function fmtBucket(value, bucket) {
  const date = new Date(value);
  if (bucket === "hour") return dayMonthHour.format(date);
  if (bucket === "week") return `Week of ${dayMonth.format(date)}`;
  return dayMonth.format(date);
}

export function fmtPercent(part, whole) {
  if (!whole) return DASH;
  const pct = (100 * part) / whole;
  return `${pct < 10 ? oneDecimal.format(pct) : intFormat.format(pct)}%`;
}

export function shortId(id) {
  if (!id) return DASH;
  return id.length > 16 ? `${id.slice(0, 12)}…${id.slice(-4)}` : id;
}

/** A metric's interpretation: {text, tone} where tone is good | fair | poor | neutral. */
export function interpretSilhouette(value) {
  if (value === null || value === undefined) return { text: "not computed", tone: "neutral" };
  if (value >= 0.7) return { text: "strong", tone: "good" };
  if (value >= 0.5) return { text: "good", tone: "good" };
  if (value >= 0.25) return { text: "fair", tone: "fair" };
  if (value >= 0) return { text: "weak", tone: "poor" };
  return { text: "poor", tone: "poor" };
}

export function interpretDaviesBouldin(value) {
  if (value === null || value === undefined) return { text: "not computed", tone: "neutral" };
  if (value <= 0.5) return { text: "strong", tone: "good" };
  if (value <= 1.0) return { text: "good", tone: "good" };
  if (value <= 1.5) return { text: "fair", tone: "fair" };
  return { text: "weak", tone: "poor" };
}

/** Interpretations of some measures, by name (the measures themselves come from GET /v1/meta/measures). */
export const INTERPRETERS = { silhouette_score: interpretSilhouette, davies_bouldin_index: interpretDaviesBouldin };

/** The value of a declared measure on a run: ``metrics.<name>`` or a top-level attribute (null when absent). */
export function measureValue(run, measure) {
  const value = measure.path.startsWith("metrics.") ? run?.metrics?.[measure.name] : run?.[measure.name];
  return value === undefined || Number.isNaN(value) ? null : value;
}

/** A declared measure's value as people read it: times as durations, counts whole, scores to their digits. */
export function fmtMeasure(measure, value) {
  if (value === null || value === undefined) return DASH;
  if (measure.unit === "ms") return fmtDuration(value);
  if (measure.kind === "integer") return fmtInt(value);
  return fmtNumber(value, measure.digits);
}

/** "−1 to 1, higher is better." from a declared measure's range and direction. */
export function measureHelp(measure) {
  const range = measure.minimum !== null && measure.maximum !== null ? `${measure.minimum} to ${measure.maximum}` : measure.minimum !== null ? `${measure.minimum} and up` : null;
  const better = measure.direction ? `${measure.direction} is better` : null;
  const head = [range, better].filter(Boolean).join(", ");
  return head ? `${head.charAt(0).toUpperCase()}${head.slice(1)}. ${measure.meaning}` : measure.meaning;
}
