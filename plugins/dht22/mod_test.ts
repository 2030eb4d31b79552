import assert from "node:assert/strict";
import { HalError } from "../../hal/errors.ts";
import { CapabilityError } from "../sdk/mod.ts";
import { createHarness, type Harness, loadManifest } from "../_testing/harness.ts";
import { createDht22Plugin, Deadband } from "./mod.ts";

const manifest = await loadManifest("dht22");

async function at(
  plugin: ReturnType<typeof createDht22Plugin>,
  h: Harness,
  temperatureC: number,
  humidityPct = 45,
) {
  h.environment.set({ temperatureC, humidityPct });
  h.clock.advance(5000); // the DHT22 needs 2 s between reads
  return (await plugin.poll(h.ctx))[0];
}

async function started(options: Parameters<typeof createHarness>[0]) {
  const h = createHarness(options);
  const plugin = createDht22Plugin();
  await plugin.init(h.ctx);
  return { h, plugin };
}

Deno.test("dht22 plugin reports temperature, humidity and no alarm in a normal room", async () => {
  const { h, plugin } = await started({ manifest });
  const r = await at(plugin, h, 21.4, 44.2);
  assert.deepEqual(r.sensor, "dht22");
  assert.deepEqual(r.values, { temperature: 21.4, humidity: 44.2, alarm: "none" });
  assert.deepEqual(h.leds[1], [0, 255, 0]);
});

Deno.test("dht22 plugin hysteresis does not flicker around 30 °C and beeps once on entering", async () => {
  const { h, plugin } = await started({ manifest });
  const alarms: string[] = [];
  for (const t of [29.9, 30.0, 29.9, 30.1, 29.0, 28.1, 30.0, 28.0, 27.9, 29.9, 30.0]) {
    alarms.push((await at(plugin, h, t)).values.alarm as string);
  }
  assert.deepEqual(alarms, ["none", "hot", "hot", "hot", "hot", "hot", "hot", "hot", "none", "none", "hot"]);
  // Three beeps (one triple pattern) on each entry into the alarm, never while it holds.
  assert.equal(h.beeps.length, 2);
  assert.ok(h.beeps.every((b) => b.pattern === "triple"));
  assert.deepEqual(h.leds[1], [255, 0, 0]);
});

Deno.test("dht22 plugin LED: orange when warm, blue when cold, cold alarm clears above 17 °C", async () => {
  const { h, plugin } = await started({ manifest });
  await at(plugin, h, 26);
  assert.deepEqual(h.leds[1], [255, 128, 0]);
  assert.equal((await at(plugin, h, 15)).values.alarm, "cold");
  assert.deepEqual(h.leds[1], [0, 0, 255]);
  assert.equal((await at(plugin, h, 17)).values.alarm, "cold");
  assert.equal((await at(plugin, h, 17.1)).values.alarm, "none");
  assert.deepEqual(h.leds[1], [0, 255, 0]);
  assert.equal(h.beeps.length, 0);
});

Deno.test("dht22 plugin humidity alarms at 70 / 25 % with the same deadband", async () => {
  const { h, plugin } = await started({ manifest });
  assert.equal((await at(plugin, h, 22, 70)).values.alarm, "humid");
  assert.equal((await at(plugin, h, 22, 68)).values.alarm, "humid");
  assert.equal((await at(plugin, h, 22, 67.9)).values.alarm, "none");
  assert.equal((await at(plugin, h, 22, 25)).values.alarm, "dry");
  assert.equal((await at(plugin, h, 31, 26)).values.alarm, "hot,dry");
  assert.equal((await at(plugin, h, 22, 27.1)).values.alarm, "none");
});

Deno.test("dht22 plugin: an ungranted pin is a CapabilityError, a dead sensor a HalError", async () => {
  const denied = await started({ manifest, settings: { pin: 17 } });
  await assert.rejects(() => denied.plugin.poll(denied.h.ctx), CapabilityError);
  assert.deepEqual(denied.h.denied, [{ capability: "dht22", argument: "17" }]);
  const { h, plugin } = await started({ manifest });
  h.dht22.injectFault("timeout");
  await assert.rejects(() => plugin.poll(h.ctx), HalError);
});

Deno.test("dht22 plugin rejects overlapping thresholds and bad pins by name", () => {
  const h = createHarness({ manifest, settings: { high_temp: 18 } });
  assert.throws(() => createDht22Plugin().init(h.ctx), {
    name: "RangeError",
    message: 'Cannot configure plugin "dht22": low and high thresholds overlap once the band of 2 is applied',
  });
  const h2 = createHarness({ manifest, settings: { pin: "4" } });
  assert.throws(() => createDht22Plugin().init(h2.ctx), {
    message: 'Cannot configure plugin "dht22": setting "pin" must be an integer in 0..63, got "4"',
  });
});

Deno.test("Deadband enters at the threshold and clears only past the band", () => {
  const d = new Deadband(30, 15, 2);
  assert.deepEqual([30, 28, 27.99, 15, 17, 17.01].map((v) => d.update(v)), [
    "high",
    "high",
    "normal",
    "low",
    "low",
    "normal",
  ]);
});
