import assert from "node:assert/strict";
import { SimEnvironment } from "./environment.ts";

Deno.test("SimEnvironment is deterministic for a seed and clock", () => {
  let now = 0;
  const a = new SimEnvironment({ seed: 3, clock: () => now });
  const b = new SimEnvironment({ seed: 3, clock: () => now });
  const c = new SimEnvironment({ seed: 4, clock: () => now });
  now = 123_456;
  assert.deepEqual(a.now(), b.now());
  assert.notDeepEqual(a.now(), c.now());
});

Deno.test("SimEnvironment drifts within plausible indoor ranges over a day", () => {
  let now = 0;
  const env = new SimEnvironment({ clock: () => now });
  const temps = new Set<number>();
  for (; now < 86_400_000; now += 60_000) {
    const r = env.now();
    assert.ok(r.temperatureC > 18 && r.temperatureC < 26, `temperature ${r.temperatureC}`);
    assert.ok(r.humidityPct > 30 && r.humidityPct < 55, `humidity ${r.humidityPct}`);
    assert.ok(r.pressureHpa > 1005 && r.pressureHpa < 1020, `pressure ${r.pressureHpa}`);
    assert.ok(r.gasResistanceOhm > 50_000 && r.gasResistanceOhm < 200_000, `gas ${r.gasResistanceOhm}`);
    assert.ok(r.cpuTemperatureC > 40 && r.cpuTemperatureC < 60, `cpu ${r.cpuTemperatureC}`);
    temps.add(Math.round(r.temperatureC * 10));
  }
  assert.ok(temps.size > 10, "temperature must drift");
});

Deno.test("SimEnvironment.set() pins quantities and undefined releases them", () => {
  const env = new SimEnvironment({ clock: () => 0 });
  const free = env.now().cpuTemperatureC;
  env.set({ cpuTemperatureC: 85, gasResistanceOhm: 5_000 });
  assert.equal(env.now().cpuTemperatureC, 85);
  assert.equal(env.now().gasResistanceOhm, 5_000);
  env.set({ cpuTemperatureC: undefined });
  assert.equal(env.now().cpuTemperatureC, free);
  assert.equal(env.now().gasResistanceOhm, 5_000);
});
