import assert from "node:assert/strict";
import { CapabilityError } from "../sdk/mod.ts";
import { createHarness, type Harness, loadManifest } from "../_testing/harness.ts";
import { createBme680Plugin, STATE_KEY } from "./mod.ts";
import { iaqScore, iaqStatus } from "./iaq.ts";

const manifest = await loadManifest("bme680");
const SETTINGS = { burn_in_seconds: 60, alarm_repeat_seconds: 120 };
const PURPLE = [128, 0, 128], GREEN = [0, 255, 0], RED = [255, 0, 0];

async function started(h: Harness) {
  const plugin = createBme680Plugin();
  await plugin.init(h.ctx);
  return plugin;
}

async function pollEvery(plugin: ReturnType<typeof createBme680Plugin>, h: Harness, n: number) {
  let readings;
  for (let i = 0; i < n; i++) {
    h.clock.advance(5000);
    readings = await plugin.poll(h.ctx);
  }
  return readings![0];
}

function room(h: Harness, gasResistanceOhm = 100_000) {
  h.environment.set({ temperatureC: 22.5, humidityPct: 40, pressureHpa: 1009.8, gasResistanceOhm });
}

Deno.test("bme680 plugin reports the room and calibrates during burn-in", async () => {
  const h = createHarness({ manifest, settings: SETTINGS });
  room(h);
  const plugin = await started(h);
  assert.deepEqual(h.leds[2], PURPLE);
  const r = await pollEvery(plugin, h, 1);
  assert.equal(r.sensor, "bme680");
  assert.ok(Math.abs((r.values.temperature as number) - 22.5) <= 0.1);
  assert.ok(Math.abs((r.values.humidity as number) - 40) <= 0.5);
  assert.ok(Math.abs((r.values.pressure as number) - 1009.8) <= 0.5);
  assert.ok(Math.abs((r.values.gas_resistance as number) / 100_000 - 1) < 0.03);
  assert.equal(r.values.iaq, 0);
  assert.equal(r.values.iaq_status, "calibrating");
  assert.deepEqual(r.units, {
    temperature: "°C",
    humidity: "%",
    pressure: "hPa",
    gas_resistance: "Ω",
    iaq: "IAQ",
  });
  assert.deepEqual(h.leds[2], PURPLE);
});

Deno.test("bme680 plugin: after burn-in IAQ responds to a gas drop, LED goes red and the buzzer sounds once", async () => {
  const h = createHarness({ manifest, settings: SETTINGS });
  room(h);
  const plugin = await started(h);
  let r = await pollEvery(plugin, h, 13); // 65 s of samples at 5 s
  assert.equal(r.values.iaq_status, "excellent");
  assert.ok((r.values.iaq as number) <= 10, `clean air scored ${r.values.iaq}`);
  assert.deepEqual(h.leds[2], GREEN);
  assert.equal(h.beeps.length, 0);

  room(h, 50_000); // half the baseline: 0.75 × 0.5 × 500 ≈ 187
  r = await pollEvery(plugin, h, 1);
  assert.ok((r.values.iaq as number) > 150 && (r.values.iaq as number) <= 200, `iaq ${r.values.iaq}`);
  assert.equal(r.values.iaq_status, "poor");
  assert.deepEqual(h.leds[2], [255, 128, 0]);

  room(h, 25_000); // a quarter: ≈ 281
  r = await pollEvery(plugin, h, 1);
  assert.ok((r.values.iaq as number) > 200, `iaq ${r.values.iaq}`);
  assert.equal(r.values.iaq_status, "bad");
  assert.deepEqual(h.leds[2], RED);
  assert.equal(h.beeps.length, 1);
  assert.equal(h.beeps[0].pattern, "triple");

  await pollEvery(plugin, h, 3); // still bad, 15 s later: rate-limited
  assert.equal(h.beeps.length, 1);
  await pollEvery(plugin, h, 21); // past the 120 s repeat interval
  assert.equal(h.beeps.length, 2);
});

Deno.test("bme680 plugin keeps its baseline in state so burn-in survives a restart", async () => {
  const state = new Map<string, unknown>();
  const h1 = createHarness({ manifest, settings: SETTINGS, state });
  room(h1);
  const first = await started(h1);
  await pollEvery(first, h1, 6); // half-way through burn-in
  const saved = state.get(STATE_KEY) as { burnInCount: number; baseline: number | null };
  assert.equal(saved.burnInCount, 6);
  assert.equal(saved.baseline, null);

  const h2 = createHarness({ manifest, settings: SETTINGS, state, clock: h1.clock });
  room(h2);
  const second = await started(h2);
  const r = await pollEvery(second, h2, 7); // 6 + 7 samples over 65 s: done
  assert.equal(r.values.iaq_status, "excellent");
  assert.ok(typeof (state.get(STATE_KEY) as { baseline: number }).baseline === "number");

  const h3 = createHarness({ manifest, settings: SETTINGS, state, clock: h1.clock });
  room(h3);
  const third = await started(h3);
  assert.notEqual((await pollEvery(third, h3, 1)).values.iaq_status, "calibrating");
});

Deno.test("bme680 plugin fails to start on an address it was not granted", async () => {
  const h = createHarness({ manifest, settings: { address: 0x76 } });
  await assert.rejects(() => createBme680Plugin().init(h.ctx), CapabilityError);
  assert.deepEqual(h.denied, [{ capability: "i2c", argument: "0x76" }]);
});

Deno.test("bme680 plugin still reports when its LED is not granted", async () => {
  const h = createHarness({ manifest, settings: SETTINGS, grant: { leds: [1] } });
  room(h);
  const plugin = await started(h);
  const r = await pollEvery(plugin, h, 1);
  assert.equal(r.sensor, "bme680");
  assert.ok(h.logs.some((l) => l.level === "warn" && l.message.includes('"led:2"')));
});

Deno.test("bme680 plugin rejects bad settings with the setting's name", async () => {
  const h = createHarness({ manifest, settings: { heater_temp_c: 900 } });
  await assert.rejects(() => createBme680Plugin().init(h.ctx), {
    name: "RangeError",
    message:
      'Cannot configure plugin "bme680": setting "heater_temp_c" must be a number in 200..400, got 900',
  });
});

Deno.test("iaqScore weighs gas 75 % and humidity 25 % on 0..500", () => {
  assert.equal(iaqScore(100, 100, 40), 0);
  assert.equal(iaqScore(0, 100, 40), 375);
  assert.equal(iaqScore(100, 100, 100), 125);
  assert.equal(iaqScore(100, 100, 0), 125);
  assert.equal(iaqScore(0, 100, 100), 500);
  assert.equal(iaqScore(200, 100, 40), 0); // cleaner than baseline is not better than 0
  assert.deepEqual([50, 51, 100, 150, 200, 201].map(iaqStatus), [
    "excellent",
    "good",
    "good",
    "moderate",
    "poor",
    "bad",
  ]);
});
