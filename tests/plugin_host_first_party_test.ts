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
    settings: () => ({ enabled: true, isolation: "trusted" }), // what main.ts gives them by default
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
    // A BME680 poll (configure, trigger, wait, read; persist the IAQ state; set the LED) costs at
    // most 3 round trips to the broker; an OLED frame (35 writes) costs one.
    for (let i = 0; i < 3; i++) {
      const before = host.capabilityRoundTrips("bme680");
      await host.poll("bme680");
      const trips = host.capabilityRoundTrips("bme680") - before;
      assert.ok(trips >= 1 && trips <= 3, `bme680 poll ${i + 1} took ${trips} round trips`);
    }
    const snapshot = { timestamp: new Date().toISOString(), node: "test", readings: {} };
    const beforeFrame = host.capabilityRoundTrips("oled");
    await host.update("oled", snapshot);
    assert.equal(host.capabilityRoundTrips("oled") - beforeFrame, 1, "one oled frame, one round trip");
  } finally {
    await host.stop();
    hal.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
