import assert from "node:assert/strict";
import { createHarness, type Harness, loadManifest } from "../_testing/harness.ts";
import { createSystemMonitorPlugin } from "./mod.ts";

const manifest = await loadManifest("system-monitor");

async function started(options: Partial<Parameters<typeof createHarness>[0]> = {}) {
  const h = createHarness({ manifest, ...options });
  const plugin = createSystemMonitorPlugin();
  await plugin.init(h.ctx);
  return { h, plugin };
}

async function at(plugin: ReturnType<typeof createSystemMonitorPlugin>, h: Harness, cpuTemperatureC: number) {
  h.system.set({ cpuTemperatureC });
  h.clock.advance(5000);
  return (await plugin.poll(h.ctx))[0];
}

Deno.test("system-monitor reports CPU, memory and uptime with units", async () => {
  const { h, plugin } = await started();
  h.system.set({
    cpuUsagePct: 12.5,
    memory: { totalMb: 1024, usedMb: 300, availableMb: 724 },
    uptimeSeconds: 4242,
  });
  const r = await at(plugin, h, 47.3);
  assert.equal(r.sensor, "system");
  assert.deepEqual(r.values, {
    cpu_temp: 47.3,
    cpu_usage: 12.5,
    memory_used_mb: 300,
    memory_total_mb: 1024,
    uptime_seconds: 4242,
  });
  assert.equal(r.units?.cpu_temp, "°C");
  assert.deepEqual(h.leds[3], [0, 255, 0]);
});

Deno.test("system-monitor LED 3 thresholds 60 / 75 °C and two beeps only on entering hot", async () => {
  const { h, plugin } = await started();
  const colours: number[][] = [];
  for (const t of [60, 60.1, 75, 75.1, 76, 74, 73.1, 73, 70, 75.5]) {
    await at(plugin, h, t);
    colours.push(h.leds[3]);
  }
  const G = [0, 255, 0], O = [255, 128, 0], R = [255, 0, 0];
  assert.deepEqual(colours, [G, O, O, R, R, R, R, O, O, R]);
  assert.equal(h.beeps.length, 2);
  assert.ok(h.beeps.every((b) => b.count === 2));
});

Deno.test("system-monitor uses the configured LED and refuses warm ≥ hot", async () => {
  const { h, plugin } = await started({ settings: { led: 0 } });
  await at(plugin, h, 80);
  assert.deepEqual(h.leds[0], [255, 0, 0]);
  assert.deepEqual(h.leds[3], [0, 0, 0]);
  const bad = createHarness({ manifest, settings: { warm_c: 80 } });
  assert.throws(() => createSystemMonitorPlugin().init(bad.ctx), {
    message: 'Cannot configure plugin "system-monitor": "warm_c" (80) must be below "hot_c" (75)',
  });
});

Deno.test("system-monitor keeps reporting when the buzzer is not granted", async () => {
  const { h, plugin } = await started({ grant: { buzzer: false } });
  const r = await at(plugin, h, 90);
  assert.equal(r.values.cpu_temp, 90);
  assert.deepEqual(h.denied, [{ capability: "buzzer", argument: "2" }]);
  assert.ok(h.logs.some((l) => l.level === "warn" && l.message.startsWith("Cannot sound the buzzer")));
});
