import assert from "node:assert/strict";
import { makeHarness } from "./fixtures/plugins/_harness.ts";
import { PluginHost } from "../services/plugin_host/mod.ts";

Deno.test("PluginHost runs a granted plugin in a sandbox: readings, module state, i2c, led, command", async () => {
  const h = await makeHarness({
    plugins: ["plugins/counter", "plugins/ticker"],
    grants: { counter: { i2c: [0x77], state: true, leds: [0] } },
  });
  try {
    assert.deepEqual(h.host.ids(), ["counter", "ticker"]);
    assert.equal(h.host.status("counter").status, "running", String(h.host.status("counter").lastError));
    const r1 = await h.host.poll("counter");
    const r2 = await h.host.poll("counter");
    assert.equal(r1[0].sensor, "counter");
    assert.equal(r1[0].values.chip, 0x61);
    assert.equal(r2[0].values.polls, 2);
    assert.equal(r2[0].values.total, 2);
    assert.deepEqual(h.leds.get(0), { r: 0, g: 64, b: 0 });
    assert.deepEqual(await h.host.command("counter", "echo", { a: 1 }), { echoed: { a: 1 }, polls: 2 });
    const denied = await h.host.command("counter", "deny", {}) as {
      capabilityError: boolean;
      message: string;
    };
    assert.equal(denied.capabilityError, true);
    assert.equal(
      denied.message,
      'Cannot grant "i2c:0x3c" to plugin "counter": not allowed by config/permissions.toml',
    );
    assert.deepEqual(h.of("plugin.denied", "counter").map((e) => [e.data.capability, e.data.argument]), [[
      "i2c",
      "0x3c",
    ]]);
    assert.ok(h.logs.some((l) => l === "counter info counter v1 starting"));
    assert.equal((await h.host.poll("ticker"))[0].values.polls, 1);
    assert.ok(h.host.status("counter").lastPollAt);
  } finally {
    await h.close();
  }
});

Deno.test("PluginHost.start() names a missing plugins folder", async () => {
  const host = new PluginHost({
    pluginsDir: "/nonexistent/plugins",
    sdkDir: "/nonexistent/plugins/sdk",
    node: "test",
    grants: () => undefined,
    settings: () => undefined,
    services: {
      hal: {} as never,
      leds: { count: 0, set: () => {} },
      buzzer: { play: () => Promise.resolve() },
      log: () => {},
    },
    emit: { emit: () => {} },
    stateDir: "/nonexistent/state",
  });
  await assert.rejects(host.start(), {
    name: "PluginError",
    message: /^Cannot start plugin host: plugins folder "\/nonexistent\/plugins" is missing \(/,
  });
  await host.stop();
});
