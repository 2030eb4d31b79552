/**
 * The five first-party plugins from plugins/ pass the bundle check and run in one shared real
 * sandbox process over the simulated board, with the grants config/permissions.toml gives them
 * (read through config/permissions.ts, the same path main.ts uses).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SimBme680 } from "../hal/sim/bme680.ts";
import { SimSsd1306 } from "../hal/sim/ssd1306.ts";
import { SimEnvironment, SimHal } from "../hal/sim/mod.ts";
import { PluginHost } from "../services/plugin_host/mod.ts";
import { grantFor, loadPermissions } from "../config/permissions.ts";
import { ROOT } from "./fixtures/plugins/_harness.ts";

Deno.test("the five first-party plugins load and poll in one shared sandbox", async () => {
  const environment = new SimEnvironment({ seed: 7 });
  const oled = new SimSsd1306();
  const hal = new SimHal({
    environment,
    i2cBuses: [1],
    gpioChip: 0,
    ledCount: 11,
    ledPin: 18,
    ledBrightness: 1,
    buzzerPin: 17,
    models: () => [new SimBme680({ environment }), oled],
  });
  const perms = await loadPermissions(join(ROOT, "config/permissions.toml"));
  const events: string[] = [];
  const stateDir = await Deno.makeTempDir();
  const host = new PluginHost({
    pluginsDir: join(ROOT, "plugins"),
    sdkDir: join(ROOT, "plugins/sdk"),
    node: "test",
    grants: (id) => grantFor(perms, id),
    settings: () => ({ enabled: true, isolation: "shared" }),
    services: {
      hal,
      leds: { count: 11, set: () => {} },
      buzzer: { play: () => Promise.resolve() },
      log: () => {},
    },
    emit: { emit: (type, data) => void events.push(`${type} ${JSON.stringify(data)}`) },
    stateDir,
  });
  try {
    await host.start();
    assert.deepEqual(host.ids(), ["anima", "bme680", "dht22", "oled", "system-monitor"]);
    for (const id of host.ids()) {
      assert.equal(host.status(id).status, "running", `${id}: ${host.status(id).lastError}`);
    }
    assert.equal((await host.sandboxes()).length, 1);
    const readings = await host.poll("system-monitor");
    assert.ok(readings.length > 0 && readings[0].sensor.length > 0);
    assert.ok(Array.isArray(await host.poll("dht22")));
    assert.ok(Array.isArray(await host.poll("bme680")));
    assert.ok(!events.some((e) => e.startsWith("plugin.denied")), events.join("\n"));
  } finally {
    await host.stop();
    hal.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
