/**
 * Lifecycle of the plugin host against real sandboxes: state persisted across a host restart
 * and on a (fake-timer) schedule, restart backoff on fake timers, hot reload, discovery and
 * removal while the host keeps running.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import FakeTimers from "@sinonjs/fake-timers";
import { copyFixture, makeHarness, until } from "./fixtures/plugins/_harness.ts";
import type { PluginChange } from "../services/plugin_host/mod.ts";

const COUNTER_GRANT = { counter: { i2c: [0x77], state: true, leds: [0] } };

Deno.test("PluginHost persists the state capability at stop and restores it after a host restart", async () => {
  const first = await makeHarness({ plugins: ["plugins/counter"], grants: COUNTER_GRANT });
  try {
    for (let i = 0; i < 3; i++) await first.host.poll("counter");
    await first.stop();
    const saved = JSON.parse(await Deno.readTextFile(join(first.stateDir, "counter.json")));
    assert.deepEqual(saved, { total: 3 });
    const second = await makeHarness({
      plugins: [],
      pluginsDir: first.pluginsDir,
      stateDir: first.stateDir,
      grants: COUNTER_GRANT,
    });
    try {
      const [r] = await second.host.poll("counter");
      assert.equal(r.values.polls, 1, "a new sandbox: module globals start over");
      assert.equal(r.values.total, 4, "the persisted total was restored");
    } finally {
      await second.stop();
    }
  } finally {
    await first.close();
  }
});

Deno.test("PluginHost flushes state every stateFlushMs on its injected timers", async () => {
  const clock = FakeTimers.createClock(0);
  const h = await makeHarness({
    plugins: ["plugins/counter"],
    grants: COUNTER_GRANT,
    timers: clock,
    stateFlushMs: 300_000,
  });
  const file = join(h.stateDir, "counter.json");
  const exists = () => Deno.stat(file).then(() => true, () => false);
  try {
    await h.host.poll("counter");
    clock.tick(299_999);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await exists(), false, "not written before the period");
    clock.tick(1);
    await until(exists, 5000, "the state file");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), { total: 1 });
  } finally {
    await h.close();
  }
});

Deno.test("PluginHost restarts with exponential backoff on its injected timers, then quarantines", async () => {
  const clock = FakeTimers.createClock(0);
  const h = await makeHarness({
    plugins: ["hostile/throw_load", "plugins/ticker"],
    timers: clock,
    clock: { now: () => clock.now },
    backoff: { baseMs: 1000, capMs: 60_000, maxFailures: 3 },
  });
  const st = () => h.host.status("throw_load");
  try {
    assert.equal(st().status, "backoff");
    assert.equal(st().restarts, 0);
    clock.tick(999);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(st().restarts, 0, "no restart before 1 s");
    clock.tick(1);
    await until(() => st().status === "backoff" && st().restarts === 1, 5000, "first restart to fail");
    clock.tick(1999);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(st().restarts, 1, "no restart before 2 s more");
    clock.tick(1);
    await until(() => st().status === "quarantined", 5000, "quarantine");
    assert.equal(st().restarts, 2);
    assert.deepEqual(h.of("plugin.backoff", "throw_load").map((e) => e.data.delayMs), [1000, 2000]);
    assert.equal(h.of("plugin.quarantine", "throw_load").length, 1);
    assert.equal(st().lastErrorAt, new Date(clock.now).toISOString());
    assert.equal((await h.host.poll("ticker"))[0].values.polls, 1);
  } finally {
    await h.close();
  }
});

Deno.test("PluginHost hot-reloads an edited plugin alone, discovers a new folder and stops a removed one", async () => {
  const h = await makeHarness({
    plugins: ["plugins/counter", "plugins/ticker"],
    grants: { ...COUNTER_GRANT, denied: { i2c: [0x77], gpio: [4] } },
    watch: true,
  });
  const changes: PluginChange[] = [];
  h.host.onChange((c) => changes.push(c));
  try {
    await h.host.poll("ticker");
    await h.host.poll("counter");
    assert.equal((await h.host.poll("counter"))[0].values.version, "v1");

    // Edit one file of counter: counter alone reloads, ticker keeps its module state.
    await Deno.writeTextFile(join(h.pluginsDir, "counter/version.ts"), 'export const VERSION = "v2";\n');
    await until(() => h.of("plugin.reload", "counter").length === 1, 10_000, "plugin.reload");
    const [r] = await h.host.poll("counter");
    assert.equal(r.values.version, "v2");
    assert.equal(r.values.polls, 1, "counter's module was reloaded");
    assert.equal(r.values.total, 3, "counter's persisted state carried over");
    assert.equal((await h.host.poll("ticker"))[0].values.polls, 2, "ticker was not touched");
    assert.deepEqual(changes, [{ kind: "reloaded", id: "counter" }]);

    // A new folder is discovered and started with its grants.
    await Deno.mkdir(join(h.pluginsDir, "_staging"));
    await copyFixture("hostile/denied", join(h.pluginsDir, "_staging"));
    await Deno.rename(join(h.pluginsDir, "_staging/denied"), join(h.pluginsDir, "denied"));
    await until(() => h.of("plugin.discovered", "denied").length === 1, 10_000, "plugin.discovered");
    assert.equal(h.host.status("denied").status, "running");
    const [d] = await h.host.poll("denied");
    assert.match(String(d.values.i2c), /^CapabilityError: Cannot grant "i2c:0x3c"/);
    assert.match(
      String(d.values.gpio),
      /^CapabilityError: Cannot grant "gpio:27" to plugin "denied": not allowed/,
    );

    // A removed folder is stopped.
    await Deno.remove(join(h.pluginsDir, "denied"), { recursive: true });
    await until(() => h.of("plugin.removed", "denied").length === 1, 10_000, "plugin.removed");
    assert.deepEqual(h.host.ids(), ["counter", "ticker"]);
    await assert.rejects(h.host.poll("denied"), /Cannot poll plugin "denied": no such plugin/);
    assert.equal((await h.host.poll("ticker"))[0].values.polls, 3, "ticker ran through all of it");
    assert.deepEqual(changes.slice(1), [{ kind: "added", id: "denied" }, { kind: "removed", id: "denied" }]);
    assert.equal((await h.host.sandboxes()).length, 2, "the removed plugin's process is gone");
  } finally {
    await h.close();
  }
});

Deno.test("PluginHost reports a bad manifest and a disabled plugin without starting them", async () => {
  const h = await makeHarness({
    plugins: ["plugins/ticker", "plugins/counter"],
    settings: { counter: { enabled: false } },
  });
  try {
    assert.equal(h.host.status("counter").status, "disabled");
    await assert.rejects(h.host.poll("counter"), /Cannot poll plugin "counter": it is disabled/);
    await Deno.mkdir(join(h.pluginsDir, "broken"));
    await Deno.writeTextFile(
      join(h.pluginsDir, "broken/manifest.json"),
      JSON.stringify({
        id: "broken",
        version: "1",
        world: { imports: ["teleport"], exports: [] },
        cadence_seconds: 1,
        priority: 0.5,
      }),
    );
    await h.host.stop();
    const again = await makeHarness({ plugins: [], pluginsDir: h.pluginsDir, stateDir: h.stateDir });
    try {
      assert.equal(again.host.status("broken").status, "quarantined");
      assert.match(
        String(again.host.status("broken").lastError),
        /broken\/manifest\.json: world\.imports\.0: /,
      );
      assert.equal(again.host.manifest("broken"), undefined);
      assert.equal((await again.host.poll("ticker"))[0].values.polls, 1);
    } finally {
      await again.stop();
    }
  } finally {
    await h.close();
  }
});
