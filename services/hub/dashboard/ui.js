// DOM and formatting helpers for the dashboard. Everything that shows data goes through
// textContent (never innerHTML): sensor values and plugin errors come from plugins.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Creates an element. `attrs` keys: `class`, `text`, `testid`, `on<event>` handlers, `data-*`
 * and plain attributes. Children may be nodes or strings.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  for (const c of children) if (c != null) el.append(c);
  return el;
}

/** Creates an SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  for (const c of children) if (c != null) el.append(c);
  return el;
}

function applyAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "text") el.textContent = String(v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "testid") el.dataset.testid = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

/** Sets textContent only when it changed (avoids needless layout work). */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

const LABELS = {
  temperature: "temperature",
  humidity: "humidity",
  pressure: "pressure",
  gas_resistance: "gas resistance",
  iaq: "IAQ",
  iaq_status: "air quality",
  cpu_temp: "cpu temp",
  cpu_usage: "cpu load",
  memory_used_mb: "memory",
  uptime_seconds: "uptime",
  alarm: "alarm",
  warmth: "warmth",
  clarity: "clarity",
  stability: "stability",
  presence: "presence",
};

/** Human label of a value key. */
export function label(key) {
  return LABELS[key] ?? key.replaceAll("_", " ");
}

/** Formats a value for display given its key and unit. */
export function formatValue(key, value, unit) {
  if (value === null || value === undefined) return { text: "—", unit: "" };
  if (typeof value === "boolean") return { text: value ? "ON" : "off", unit: "" };
  if (typeof value === "string") return { text: value, unit: "" };
  if (!Number.isFinite(value)) return { text: String(value), unit: unit ?? "" };
  if (key === "uptime_seconds") return { text: formatDuration(value), unit: "" };
  if (key === "gas_resistance" && (unit === "Ω" || unit === "ohm" || !unit)) {
    if (value >= 1e6) return { text: (value / 1e6).toFixed(2), unit: "MΩ" };
    if (value >= 1e3) return { text: (value / 1e3).toFixed(1), unit: "kΩ" };
    return { text: value.toFixed(0), unit: "Ω" };
  }
  if (key === "iaq") return { text: value.toFixed(0), unit: "" };
  const abs = Math.abs(value);
  const digits = Number.isInteger(value) ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return { text: value.toFixed(digits), unit: unit ?? "" };
}

/** `93784` → `1d 2h 3m`. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${hr}h ${m}m`;
  if (hr > 0) return `${hr}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Age of a timestamp in words: `now`, `4s ago`, `3m ago`. */
export function formatAge(ms) {
  if (!Number.isFinite(ms)) return "never";
  const s = Math.round(ms / 1000);
  if (s < 1) return "now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** `2026-11-22T20:41:03.123Z` → `20:41:03` in local time. */
export function formatClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "--:--:--";
  return d.toLocaleTimeString([], { hour12: false });
}

/** Milliseconds as `500 ms`, `2 s`, `1.5 min`. */
export function formatMs(ms) {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${+(ms / 1000).toFixed(1)} s`;
  return `${+(ms / 60000).toFixed(1)} min`;
}

/** A short one-line summary of an event's data for the stream. */
export function summarize(event) {
  const d = event.data ?? {};
  switch (event.type) {
    case "reading": {
      const vals = Object.entries(d.values ?? {})
        .filter(([, v]) => typeof v === "number")
        .slice(0, 4)
        .map(([k, v]) => `${k}=${formatValue(k, v, d.units?.[k]).text}`);
      return `${d.sensor ?? d.id ?? "?"} ${vals.join(" ")}`;
    }
    case "led.sync":
      return Array.isArray(d.leds)
        ? `${d.leds.filter((c) => c !== "#000000").length}/${d.leds.length} lit`
        : "";
    case "buzzer":
      return `${d.pattern ?? "?"} on ${d.node ?? event.node}`;
    default: {
      const parts = [];
      for (const [k, v] of Object.entries(d)) {
        if (parts.length >= 4) break;
        if (v === null || typeof v === "object") continue;
        parts.push(`${k}=${String(v).slice(0, 80)}`);
      }
      return parts.join(" ");
    }
  }
}
