import assert from "node:assert/strict";
import { SimEnvironment } from "./environment.ts";
import { SimSystemInfo } from "./system_info.ts";

Deno.test("SimSystemInfo reports the environment's CPU temperature and plausible figures", async () => {
  let now = 0;
  const environment = new SimEnvironment({ clock: () => now });
  const sys = new SimSystemInfo({ environment, clock: () => now, totalMb: 512, bootUptimeSeconds: 100 });
  assert.equal(await sys.cpuTemperatureC(), Math.round(environment.now().cpuTemperatureC * 10) / 10);
  for (let i = 0; i < 50; i++) {
    now += 7_000;
    const usage = await sys.cpuUsagePct();
    assert.ok(usage >= 0 && usage <= 100, `usage ${usage}`);
    const mem = await sys.memory();
    assert.equal(mem.totalMb, 512);
    assert.equal(mem.usedMb + mem.availableMb, 512);
    assert.ok(mem.usedMb > 0 && mem.usedMb < 512);
  }
  assert.equal(await sys.uptimeSeconds(), 100 + 350);
});

Deno.test("SimSystemInfo.set() pins values for thermal tests and undefined releases them", async () => {
  const environment = new SimEnvironment({ clock: () => 0 });
  const sys = new SimSystemInfo({ environment, clock: () => 0 });
  sys.set({ cpuTemperatureC: 82.5, cpuUsagePct: 99, uptimeSeconds: 5 });
  assert.equal(await sys.cpuTemperatureC(), 82.5);
  assert.equal(await sys.cpuUsagePct(), 99);
  assert.equal(await sys.uptimeSeconds(), 5);
  sys.set({ cpuTemperatureC: undefined });
  assert.notEqual(await sys.cpuTemperatureC(), 82.5);
  environment.set({ cpuTemperatureC: 77 });
  assert.equal(await sys.cpuTemperatureC(), 77, "follows the shared environment");
});
