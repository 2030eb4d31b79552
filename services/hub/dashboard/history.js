// The history view: one sensor's fields over 1 h … 1 y from the hub's recorder, drawn with uPlot
// (vendored, no build step): a time axis, the unit on the value axis, values on hover, and the
// min–max band of each bucket around its mean.
import uPlot from "./vendor/uPlot.esm.js";
import { h, label, setText } from "./ui.js";

/** Range buttons: label → relative start. */
export const RANGES = [["1 h", "-1h"], ["24 h", "-24h"], ["7 d", "-7d"], ["30 d", "-30d"], ["1 y", "-1y"]];

let cssLoaded = false;
function loadCss() {
  if (cssLoaded) return;
  cssLoaded = true;
  document.head.append(h("link", { rel: "stylesheet", href: "/assets/vendor/uPlot.min.css" }));
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** The smallest vertical span a field's chart may use: noise below it is not stretched to full height. */
export function minSpan(unit, values) {
  const byUnit = { "°C": 1, "%": 2, hPa: 1, "Ω": 1000, MiB: 8, s: 60, IAQ: 10 };
  if (unit in byUnit) return byUnit[unit];
  const mean = values.length ? values.reduce((a, b) => a + Math.abs(b), 0) / values.length : 0;
  return Math.max(0.05, mean * 0.02);
}

/** y range with at least `span` around the data (centred on it). */
export function saneRange(lo, hi, span) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi - lo >= span) {
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }
  const mid = (lo + hi) / 2;
  return [mid - span / 2, mid + span / 2];
}

/** A dialog with a sensor's history; `api(method, path)` is the dashboard's fetch helper. */
export class HistoryView {
  constructor(api) {
    this.api = api;
    this.plot = null;
    this.record = null;
    this.field = null;
    this.range = "-24h";
    this.title = h("h3", { class: "history-title", testid: "history-title" });
    this.fields = h("div", { class: "history-fields", role: "tablist", testid: "history-fields" });
    this.ranges = h(
      "div",
      { class: "history-ranges", role: "group", "aria-label": "time range" },
      ...RANGES.map(([text, value]) =>
        h("button", {
          type: "button",
          class: "btn history-range",
          text,
          testid: `history-range-${value.slice(1)}`,
          "data-range": value,
          onclick: () => this.show(this.field, value),
        })
      ),
    );
    this.status = h("p", { class: "history-status muted", testid: "history-status", role: "status" });
    this.chart = h("div", { class: "history-chart", testid: "history-chart" });
    this.csv = h("a", { class: "history-csv", testid: "history-csv", text: "CSV" });
    this.dialog = h(
      "dialog",
      { class: "history", testid: "history-dialog", "aria-labelledby": "history-title" },
      h(
        "header",
        { class: "history-head" },
        this.title,
        this.csv,
        h("button", {
          type: "button",
          class: "btn history-close",
          text: "close",
          testid: "history-close",
          onclick: () => this.close(),
        }),
      ),
      this.fields,
      this.ranges,
      this.chart,
      this.status,
    );
    this.title.id = "history-title";
    document.body.append(this.dialog);
    this.dialog.addEventListener("close", () => this.destroyPlot());
    addEventListener("resize", () => this.resize());
  }

  /** Open for a card's reading record (numeric fields become tabs). */
  open(record) {
    loadCss();
    this.record = record;
    const numeric = Object.entries(record.values).filter(([, v]) => typeof v === "number").map(([k]) => k);
    this.fields.replaceChildren(
      ...numeric.map((key) =>
        h("button", {
          type: "button",
          role: "tab",
          class: "btn history-field",
          text: label(key),
          testid: `history-field-${key}`,
          "data-field": key,
          onclick: () => this.show(key, this.range),
        })
      ),
    );
    setText(this.title, `${record.node} · ${record.sensor}`);
    if (!this.dialog.open) this.dialog.showModal();
    return this.show(numeric.includes(this.field) ? this.field : numeric[0], this.range);
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  destroyPlot() {
    this.plot?.destroy();
    this.plot = null;
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }

  size() {
    const w = Math.max(260, Math.min(this.chart.clientWidth || 720, 1100));
    return { width: w, height: Math.round(Math.max(200, Math.min(360, w * 0.45))) };
  }

  /** Fetch and draw one field over one range. */
  async show(field, range) {
    if (!this.record || !field) return;
    this.field = field;
    this.range = range;
    for (const b of this.fields.children) b.setAttribute("aria-selected", String(b.dataset.field === field));
    for (const b of this.ranges.children) b.classList.toggle("is-active", b.dataset.range === range);
    const q = new URLSearchParams({ sensor: this.record.id, field, from: range });
    this.csv.href = `/api/history/export.csv?${q}`;
    this.csv.download = `${this.record.id.replace(":", "-")}-${field}.csv`;
    setText(this.status, "loading…");
    this.dialog.dataset.state = "loading";
    let hist;
    try {
      hist = await this.api("GET", `/api/history?${q}`);
    } catch (err) {
      this.destroyPlot();
      setText(this.status, `Cannot load history: ${err.message}`);
      this.dialog.dataset.state = "error";
      return;
    }
    if (this.field !== field || this.range !== range) return; // a newer click won
    this.draw(hist);
  }

  draw(hist) {
    const b = hist.buckets;
    const xs = b.map((x) => x.t / 1000);
    const mean = b.map((x) => x.mean);
    const min = b.map((x) => x.min);
    const max = b.map((x) => x.max);
    const unit = hist.unit ?? "";
    const span = minSpan(unit, mean);
    const accent = cssVar("--accent", "#39ff88");
    const text = cssVar("--text", "#d2e7d8");
    const grid = cssVar("--border", "#213028");
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const fmt = (v) => (v == null ? "–" : `${+v.toFixed(2)}${unit ? ` ${unit}` : ""}`);
    // The axis shows the requested window, so a young recording sits at its right end, truthfully.
    const x0 = Date.parse(hist.from) / 1000;
    const x1 = Date.parse(hist.to) / 1000;
    const spanS = x1 - x0;
    const pad = (n) => String(n).padStart(2, "0");
    const tick = (s) => {
      const d = new Date(s * 1000);
      if (spanS <= 2 * 86400) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
      if (spanS <= 90 * 86400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
    };
    const yLabel = `${label(hist.field)}${unit ? ` (${unit})` : ""}`;
    const drawn = { x: [], y: [] };
    const opts = {
      ...this.size(),
      scales: {
        x: { time: true, range: () => [x0, x1] },
        y: { range: (_u, lo, hi) => saneRange(Math.min(lo, ...min), Math.max(hi, ...max), span) },
      },
      axes: [
        { ...axis, values: (_u, splits) => (drawn.x = splits.map(tick)) },
        {
          ...axis,
          label: yLabel,
          size: 64,
          values: (_u, splits) => (drawn.y = splits.map((v) => String(+v.toFixed(2)))),
        },
      ],
      series: [
        { value: "{YYYY}-{MM}-{DD} {HH}:{mm}" },
        { label: "max", stroke: `${accent}55`, width: 1, value: (_u, v) => fmt(v) },
        { label: "mean", stroke: accent, width: 2, value: (_u, v) => fmt(v) },
        { label: "min", stroke: `${accent}55`, width: 1, value: (_u, v) => fmt(v) },
      ],
      bands: [{ series: [1, 3], fill: `${accent}22` }],
      legend: { live: true },
      hooks: {
        draw: [() => {
          this.dialog.dataset.xTicks = drawn.x.join(" ");
          this.dialog.dataset.yTicks = drawn.y.join(" ");
          this.dialog.dataset.drawn = String(Number(this.dialog.dataset.drawn ?? 0) + 1);
        }],
      },
      cursor: { drag: { x: true, y: false } },
    };
    const data = [xs, max, mean, min];
    this.destroyPlot();
    this.plot = new uPlot(opts, data, this.chart);
    const count = b.reduce((a, x) => a + x.count, 0);
    setText(
      this.status,
      b.length
        ? `${b.length} buckets of ${hist.stepSeconds} s from the ${hist.tier} tier · ${count} readings · ${
          new Date(hist.from).toLocaleString()
        } – ${new Date(hist.to).toLocaleString()}`
        : "nothing recorded in this range yet",
    );
    // What the canvas shows, for people using assistive tech and for the browser test.
    this.chart.setAttribute("aria-label", `${yLabel} over time, ${b.length} points`);
    this.dialog.dataset.yLabel = yLabel;
    this.dialog.dataset.state = b.length ? "ready" : "empty";
    this.dialog.dataset.unit = unit;
    this.dialog.dataset.points = String(b.length);
  }
}
