/**
 * The dashboard's pure pieces, run in Deno without a browser: IAQ bands, value formatting, event
 * filters and summaries. (The modules are plain browser ES modules with no DOM access at import.)
 *
 * @module
 */
import assert from "node:assert/strict";
import { IAQ_BANDS, iaqBand } from "../../services/hub/dashboard/charts.js";
import { matches } from "../../services/hub/dashboard/panels.js";
import {
  formatAge,
  formatDuration,
  formatMs,
  formatValue,
  summarize,
} from "../../services/hub/dashboard/ui.js";

Deno.test("iaqBand() uses the 0–500 bands with inclusive upper bounds", () => {
  const cases: [number, string][] = [
    [0, "excellent"],
    [50, "excellent"],
    [51, "good"],
    [100, "good"],
    [101, "moderate"],
    [150, "moderate"],
    [151, "poor"],
    [200, "poor"],
    [201, "bad"],
    [300, "bad"],
    [301, "very bad"],
    [500, "very bad"],
    [900, "very bad"],
    [-5, "excellent"],
  ];
  for (const [value, name] of cases) assert.equal(iaqBand(value).name, name, `IAQ ${value}`);
  assert.deepEqual(IAQ_BANDS.map((b) => b.max), [50, 100, 150, 200, 300, 500]);
  assert.equal(new Set(IAQ_BANDS.map((b) => b.color)).size, 6, "every band has its own colour");
});

Deno.test("formatValue() scales gas resistance, rounds by magnitude and names booleans", () => {
  assert.deepEqual(formatValue("gas_resistance", 143574, "Ω"), { text: "143.6", unit: "kΩ" });
  assert.deepEqual(formatValue("gas_resistance", 2_500_000, "Ω"), { text: "2.50", unit: "MΩ" });
  assert.deepEqual(formatValue("temperature", 20.46, "°C"), { text: "20.5", unit: "°C" });
  assert.deepEqual(formatValue("pressure", 1010.95, "hPa"), { text: "1011", unit: "hPa" });
  assert.deepEqual(formatValue("warmth", 0.282, ""), { text: "0.28", unit: "" });
  assert.deepEqual(formatValue("iaq", 87.6, "IAQ"), { text: "88", unit: "" });
  assert.deepEqual(formatValue("alarm", true, ""), { text: "ON", unit: "" });
  assert.deepEqual(formatValue("alarm", "none", ""), { text: "none", unit: "" });
  assert.deepEqual(formatValue("cpu_temp", null, "°C"), { text: "—", unit: "" });
  assert.deepEqual(formatValue("uptime_seconds", 93784, "s"), { text: "1d 2h 3m", unit: "" });
});

Deno.test("formatAge(), formatDuration() and formatMs() read like a person would say them", () => {
  assert.equal(formatAge(400), "now");
  assert.equal(formatAge(4_000), "4s ago");
  assert.equal(formatAge(180_000), "3m ago");
  assert.equal(formatAge(NaN), "never");
  assert.equal(formatDuration(3605), "1h 0m");
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatMs(500), "500 ms");
  assert.equal(formatMs(5000), "5 s");
});

Deno.test("matches() filters event types by exact type, family and exclusion", () => {
  assert.equal(matches("", "cycle.start"), true);
  assert.equal(matches("buzzer", "buzzer"), true);
  assert.equal(matches("buzzer", "buzzer.test"), false);
  assert.equal(matches("plugin.", "plugin.reload"), true);
  assert.equal(matches("plugin.", "reading"), false);
  assert.equal(matches("-cycle.", "cycle.end"), false);
  assert.equal(matches("-cycle.", "reading"), true);
});

Deno.test("summarize() shows a reading's values and a buzzer's target", () => {
  const reading = {
    type: "reading",
    ts: "2026-11-22T20:00:00.000Z",
    node: "hub",
    data: {
      sensor: "bme680",
      values: { temperature: 20.46, iaq_status: "good" },
      units: { temperature: "°C" },
    },
  };
  assert.equal(summarize(reading), "bme680 temperature=20.5");
  assert.equal(
    summarize({ type: "buzzer", node: "hub", data: { pattern: "triple", node: "spoke1" } }),
    "triple on spoke1",
  );
  assert.equal(
    summarize({ type: "plugin.reload", node: "hub", data: { plugin: "bme680", nested: { a: 1 } } }),
    "plugin=bme680",
  );
});
