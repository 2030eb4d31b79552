/**
 * The hostile-plugin suite, part 4: logs, rates and the shared sandbox. Each case is a real
 * plugin in a real sandbox: log lines cannot be forged or carry host paths, a plugin cannot
 * name itself like the host, floods are cut and budgeted with one `plugin.flood` per episode,
 * and nothing a worker sends (BigInt, cycles, overridden globals) ends the shared process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, hostile, makeHarness, ROOT, SECRET_TXT } from "./fixtures/plugins/_harness.ts";
import type { Harness } from "./fixtures/plugins/_harness.ts";
import { DEFAULT_LOG_BUDGET } from "../services/plugin_host/capabilities.ts";

const linesOf = (h: Harness, name: string) => h.logs.filter((l) => l.startsWith(`${name} `));

Deno.test("hostile log_forge: line breaks and terminal escapes are escaped, one call is one line", async () => {
  let polls = 0;
  await hostile("log_forge", { done: () => ++polls > 2 }, (h) => {
    const lines = linesOf(h, "log_forge");
    assert.ok(lines.length >= 6, lines.join("\n"));
    for (const l of lines) {
      // deno-lint-ignore no-control-regex
      assert.ok(!/[\n\r\u001b\u2028]/.test(l), `raw control character in ${JSON.stringify(l)}`);
      assert.match(l, /^log_forge (info|warn) ok\\(n|r|u2028)2026-01-01/);
    }
    assert.ok(!h.logs.some((l) => l.startsWith("broker ")), "no line reads as the broker's");
  });
});

Deno.test("hostile log_flood: lines are cut in the sandbox, budgeted per plugin, one plugin.flood per episode", async () => {
  let polls = 0;
  const t0 = performance.now();
  await hostile(
    "log_flood",
    {
      conf: { deadline_ms: 20_000 },
      done: () => ++polls > 3 && performance.now() - t0 > 2500,
      timeoutMs: 60_000,
    },
    (h) => {
      const seconds = (performance.now() - t0) / 1000 + 1;
      const lines = linesOf(h, "log_flood");
      assert.ok(lines.length > 0, "lines within the budget get through");
      for (const l of lines) assert.ok(l.length <= 2100, `a line of ${l.length} characters was kept`);
      const allowed = DEFAULT_LOG_BUDGET.burst + DEFAULT_LOG_BUDGET.perSecond * seconds;
      assert.ok(
        lines.length <= allowed,
        `${lines.length} lines in ${seconds.toFixed(1)} s (budget ${allowed})`,
      );
      const floods = h.of("plugin.flood", "log_flood").filter((e) => e.data.kind === "logs");
      assert.equal(floods.length, 1, "one event for one continuous episode");
      assert.match(String(floods[0].data.reason), /more than 20 log lines per second/);
      assert.equal(h.host.status("log_flood").status, "running", "a flood is throttled, not a crash");
    },
  );
});

Deno.test("hostile flood: calls and logs each report one plugin.flood for one episode", async () => {
  let polls = 0;
  await hostile("flood", {
    grants: { i2c: [0x77] },
    limits: { maxInFlight: 32, perSecond: 1000 },
    conf: { deadline_ms: 20_000 },
    done: () => ++polls > 3,
    timeoutMs: 60_000,
  }, (h) => {
    const floods = h.of("plugin.flood", "flood");
    assert.equal(floods.filter((e) => e.data.kind === "calls").length, 1, JSON.stringify(floods));
    assert.equal(floods.filter((e) => e.data.kind === "logs").length, 1, JSON.stringify(floods));
    assert.equal(h.host.status("flood").status, "running");
  });
});

Deno.test("hostile path_echo: plugin text reaches logs and events without host paths", async () => {
  await hostile("path_echo", {}, (h) => {
    const text = JSON.stringify({ logs: h.logs, events: h.events, status: h.host.status("path_echo") });
    assert.ok(!text.includes(ROOT), "a host path came back");
    assert.ok(text.includes("<harvester>/tests/secret/secret.txt"), text.slice(0, 2000));
    assert.ok(SECRET_TXT.startsWith(ROOT));
    assert.equal(h.host.status("path_echo").status, "quarantined");
  });
});

Deno.test("hostile sandbox-main: a plugin cannot take a name reserved for the host", async () => {
  await hostile("sandbox-main", {}, (h) => {
    assert.equal(
      String(h.of("plugin.quarantine", "sandbox-main")[0]?.data.reason),
      'Cannot load plugin "sandbox-main": the name is reserved for the host',
    );
    assert.equal(linesOf(h, "sandbox-main").length, 0, "it never ran");
    assert.equal(h.of("plugin.start", "sandbox-main").length, 0);
  });
});

Deno.test("hostile overrides: BigInt, cycles and overridden globals cannot end the shared sandbox", async () => {
  const h = await makeHarness({
    plugins: ["hostile/overrides", "plugins/counter"],
    grants: { counter: { i2c: [0x77], state: true, leds: [0] }, overrides: { state: true } },
    settings: {
      overrides: { enabled: true, isolation: "shared" },
      counter: { enabled: true, isolation: "shared" },
    },
    backoff: { baseMs: 20, capMs: 50, maxFailures: 100 },
  });
  try {
    const [{ pid }] = await h.host.sandboxes();
    const first = await h.host.poll("overrides");
    assert.deepEqual(first, [{
      sensor: "overrides",
      values: { outcomes: "TypeError,TypeError,Error" },
      timestamp: first[0].timestamp,
    }]);
    await assert.rejects(h.host.poll("overrides"), /BigInt/);
    for (let i = 0; i < 3; i++) {
      const [c] = await h.host.poll("counter");
      assert.equal(c.sensor, "counter");
    }
    const after = await h.host.sandboxes();
    assert.deepEqual(after.map((s) => s.pid), [pid], "the shared process lived on");
    assert.equal(h.of("plugin.start", "counter").length, 1, "the neighbour was never restarted");
    assert.equal(h.host.status("counter").status, "running");
  } finally {
    await h.close();
  }
});

Deno.test("a quarantine reason names the file without the host's folders", async () => {
  const pluginsDir = await Deno.makeTempDir({ dir: join(ROOT, "tests/out"), prefix: "ph-paths-" });
  await copyFixture("plugins/ticker", pluginsDir);
  await Deno.mkdir(join(pluginsDir, "broken"));
  await Deno.writeTextFile(join(pluginsDir, "broken/manifest.json"), "{ not json");
  const h = await makeHarness({ plugins: [], pluginsDir });
  try {
    const reason = String(h.host.status("broken").lastError);
    assert.match(reason, /^Cannot read manifest of plugin "broken": <plugins>\/broken\/manifest\.json: /);
    assert.ok(!reason.includes(ROOT), reason);
  } finally {
    await h.close();
  }
});
