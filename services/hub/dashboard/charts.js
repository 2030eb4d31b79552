// Hand-drawn SVG/canvas pieces: sparklines, the IAQ gauge, the virtual SSD1306 screen.
import { svg } from "./ui.js";

const SPARK_W = 120;
const SPARK_H = 30;

/** Creates an empty sparkline (an <svg> with an area, a line and an end dot). */
export function createSparkline(testid) {
  return svg(
    "svg",
    {
      class: "spark",
      viewBox: `0 0 ${SPARK_W} ${SPARK_H}`,
      preserveAspectRatio: "none",
      testid,
      "data-points": "0",
      role: "img",
      "aria-label": "recent history",
    },
    svg("path", { class: "spark-area", d: "" }),
    svg("polyline", { class: "spark-line", points: "", "vector-effect": "non-scaling-stroke" }),
    svg("circle", { class: "spark-dot", r: "2", cx: "-10", cy: "-10" }),
  );
}

/** Smallest vertical span per unit: jitter below a sensor's resolution is never stretched full height. */
const SPARK_MIN_SPAN = { "°C": 0.5, "%": 1, hPa: 0.5, "Ω": 2000, MiB: 4, IAQ: 5 };

function spanText(ms) {
  const m = Math.round(ms / 60000);
  return m < 1 ? `${Math.round(ms / 1000)} s` : m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}

/**
 * Redraws a sparkline from `[{ t, v }]` (time in ms, numeric value), scaled to the window's
 * min/max but never to less than the unit's smallest meaningful span, and labelled with the range
 * of time and values it covers.
 */
export function drawSparkline(el, points, unit) {
  el.dataset.points = String(points.length);
  const area = el.querySelector(".spark-area");
  const line = el.querySelector(".spark-line");
  const dot = el.querySelector(".spark-dot");
  if (points.length < 2) {
    line.setAttribute("points", "");
    area.setAttribute("d", "");
    dot.setAttribute("cx", "-10");
    return;
  }
  const t0 = points[0].t;
  const t1 = points[points.length - 1].t;
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    if (p.v < lo) lo = p.v;
    if (p.v > hi) hi = p.v;
  }
  const minSpan = SPARK_MIN_SPAN[unit] ?? Math.max(1e-6, Math.abs((hi + lo) / 2) * 0.01);
  if (hi - lo < minSpan) {
    const mid = (hi + lo) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  const pad = 3;
  const x = (t) => (t1 === t0 ? SPARK_W : ((t - t0) / (t1 - t0)) * (SPARK_W - 4));
  const y = (v) => pad + (1 - (v - lo) / (hi - lo)) * (SPARK_H - 2 * pad);
  const pts = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
  line.setAttribute("points", pts.join(" "));
  area.setAttribute("d", `M0,${SPARK_H} L${pts.join(" L")} L${x(t1).toFixed(1)},${SPARK_H} Z`);
  const last = points[points.length - 1];
  dot.setAttribute("cx", x(last.t).toFixed(1));
  dot.setAttribute("cy", y(last.v).toFixed(1));
  let vlo = Infinity;
  let vhi = -Infinity;
  for (const p of points) {
    if (p.v < vlo) vlo = p.v;
    if (p.v > vhi) vhi = p.v;
  }
  const covers = `last ${spanText(t1 - t0)}: ${+vlo.toFixed(2)} – ${+vhi.toFixed(2)}${
    unit ? ` ${unit}` : ""
  }`;
  el.setAttribute("aria-label", `recent history, ${covers}`);
  el.dataset.range = covers;
  el.dataset.span = spanText(t1 - t0);
  let title = el.querySelector("title");
  if (!title) el.prepend(title = svg("title", {}));
  title.textContent = covers;
}

/** IAQ bands (Bosch BSEC index, 0–500), upper bound inclusive. */
export const IAQ_BANDS = [
  { max: 50, name: "excellent", color: "#1db954" },
  { max: 100, name: "good", color: "#8bc34a" },
  { max: 150, name: "moderate", color: "#f2c811" },
  { max: 200, name: "poor", color: "#ff8c1a" },
  { max: 300, name: "bad", color: "#e53935" },
  { max: 500, name: "very bad", color: "#8e2470" },
];

/** The band an IAQ value falls in. */
export function iaqBand(value) {
  const v = Math.max(0, Math.min(500, Number(value) || 0));
  return IAQ_BANDS.find((b) => v <= b.max) ?? IAQ_BANDS[IAQ_BANDS.length - 1];
}

const CX = 70;
const CY = 66;
const R = 54;

function polar(value, radius) {
  const a = Math.PI * (1 - Math.max(0, Math.min(500, value)) / 500);
  return [CX + radius * Math.cos(a), CY - radius * Math.sin(a)];
}

function arc(v0, v1, radius) {
  const [x0, y0] = polar(v0, radius);
  const [x1, y1] = polar(v1, radius);
  return `M${x0.toFixed(2)},${y0.toFixed(2)} A${radius},${radius} 0 0 1 ${x1.toFixed(2)},${y1.toFixed(2)}`;
}

/** Creates an IAQ gauge: six coloured bands, tick labels, a needle and the value. */
export function createIaqGauge(testid) {
  const bands = [];
  let from = 0;
  for (const b of IAQ_BANDS) {
    bands.push(svg("path", { class: "gauge-band", d: arc(from + 0.8, b.max - 0.8, R), stroke: b.color }));
    from = b.max;
  }
  const ticks = [0, 100, 200, 300, 500].map((v) => {
    const [x, y] = polar(v, R + 13);
    return svg("text", { class: "gauge-tick", x: x.toFixed(1), y: (y + 3).toFixed(1), text: String(v) });
  });
  return svg(
    "svg",
    { class: "gauge", viewBox: "-4 -8 148 92", testid, role: "img", "aria-label": "IAQ gauge" },
    svg("path", { class: "gauge-track", d: arc(0, 500, R) }),
    ...bands,
    ...ticks,
    svg("line", { class: "gauge-needle", x1: CX, y1: CY, x2: CX, y2: CY - R + 12 }),
    svg("circle", { class: "gauge-hub", cx: CX, cy: CY, r: 4 }),
    svg("text", { class: "gauge-value", x: CX, y: CY - 14, text: "—" }),
    svg("text", { class: "gauge-label", x: CX, y: CY + 14, text: "" }),
  );
}

/** Points the gauge at `value` and names its band. */
export function drawIaqGauge(el, value, status) {
  const band = iaqBand(value);
  const needle = el.querySelector(".gauge-needle");
  const [x, y] = polar(Number(value) || 0, R - 12);
  needle.setAttribute("x2", x.toFixed(2));
  needle.setAttribute("y2", y.toFixed(2));
  needle.setAttribute("stroke", band.color);
  // BSEC-style IAQ is meaningless until the gas baseline settles: say so instead of "0, excellent".
  const calibrating = typeof status === "string" && /calibrat|burn/i.test(status);
  el.classList.toggle("is-calibrating", calibrating);
  el.querySelector(".gauge-value").textContent = calibrating
    ? "…"
    : Number.isFinite(value)
    ? String(Math.round(value))
    : "—";
  const lbl = el.querySelector(".gauge-label");
  lbl.textContent = (typeof status === "string" && status ? status : band.name).toLowerCase();
  if (calibrating) lbl.removeAttribute("fill");
  else lbl.setAttribute("fill", band.color);
  el.dataset.band = band.name;
  el.dataset.value = String(value);
  el.setAttribute("aria-label", calibrating ? "IAQ: calibrating" : `IAQ ${Math.round(value)}: ${band.name}`);
}

/**
 * Draws a 128×64 SSD1306 framebuffer (base64 of 1024 bytes, page-major: byte = page*128 + x,
 * bit n = row page*8 + n) onto a canvas. Returns the number of lit pixels.
 */
export function drawOled(canvas, base64) {
  const bin = atob(base64);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(128, 64);
  let lit = 0;
  for (let page = 0; page < 8; page++) {
    for (let x = 0; x < 128; x++) {
      const byte = bin.charCodeAt(page * 128 + x) || 0;
      for (let bit = 0; bit < 8; bit++) {
        const on = (byte >> bit) & 1;
        const i = ((page * 8 + bit) * 128 + x) * 4;
        if (on) lit++;
        img.data[i] = on ? 0x9c : 0x05;
        img.data[i + 1] = on ? 0xe6 : 0x0a;
        img.data[i + 2] = on ? 0xff : 0x12;
        img.data[i + 3] = 255;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  canvas.dataset.lit = String(lit);
  return lit;
}
