/**
 * The hostile-plugin suite, part 3: integrity of what the board says. Each case is a real plugin
 * in a real sandbox beside the `ticker` plugin: an offender cannot publish under another plugin's
 * sensor id or the node's identity, cannot make a reading fresh forever, and a malformed or
 * oversized reading is refused at the boundary with a `plugin.error` naming the field, costing
 * only that plugin (the neighbour's readings stay its own and fresh).
 */
import assert from "node:assert/strict";
import { hostile } from "./fixtures/plugins/_harness.ts";
import type { Harness } from "./fixtures/plugins/_harness.ts";
import { DEFAULT_READING_LIMITS } from "../services/plugin_host/readings.ts";

const errors = (h: Harness, name: string) => h.of("plugin.error", name).map((e) => String(e.data.message));

/** The neighbour still answers with its own, fresh reading. */
async function neighbourIsOwnAndFresh(h: Harness): Promise<void> {
  const before = Date.now();
  const [r, ...rest] = await h.host.poll("ticker");
  assert.equal(rest.length, 0);
  assert.equal(r.sensor, "ticker");
  assert.ok(Number(r.values.polls) > 0, "the neighbour's own counter, not a forged -1");
  assert.ok(Math.abs(Number(r.timestamp) - before) < 5000, `fresh timestamp: ${r.timestamp}`);
  assert.equal(h.host.status("ticker").status, "running");
}

/** Refused at every poll (never published), evented with the field, then quarantined. */
function assertRefused(h: Harness, name: string, pattern: RegExp, outputs: string[]): void {
  const errs = errors(h, name);
  assert.equal(errs.length, 3, errs.join("\n"));
  for (const m of errs) assert.match(m, pattern);
  assert.ok(!outputs.some((o) => o.startsWith("[")), `a reading got through: ${outputs.join(" | ")}`);
  assert.equal(h.host.status(name).status, "quarantined");
}

Deno.test("hostile steal_sensor: a plugin cannot publish under its neighbour's sensor id", async () => {
  await hostile("steal_sensor", {}, async (h, outputs) => {
    assertRefused(h, "steal_sensor", /reading 0 \("ticker"\): sensor: belongs to plugin "ticker"/, outputs);
    await neighbourIsOwnAndFresh(h);
  });
});

Deno.test('hostile steal_sensor: a first-party alias (system-monitor\'s "system") is reserved', async () => {
  await hostile("steal_sensor", { settings: { target: "system" } }, async (h, outputs) => {
    assertRefused(h, "steal_sensor", /sensor: belongs to plugin "system-monitor"/, outputs);
    await neighbourIsOwnAndFresh(h);
  });
});

Deno.test("hostile steal_identity: only anima may publish the reading the node's identity comes from", async () => {
  await hostile("steal_identity", {}, async (h, outputs) => {
    assertRefused(h, "steal_identity", /reading 0 \("anima"\): sensor: belongs to plugin "anima"/, outputs);
    assert.ok(!JSON.stringify(outputs).includes("pwned"));
    await neighbourIsOwnAndFresh(h);
  });
});

Deno.test("hostile forever_fresh: plugin timestamps are clamped to the broker clock ± a small skew", async () => {
  let polls = 0;
  const seen: number[][] = [];
  await hostile("forever_fresh", {
    done: (h) => {
      if (++polls < 3) return false;
      return h.host.status("forever_fresh").status === "running";
    },
  }, async (h, outputs) => {
    for (const o of outputs.filter((o) => o.startsWith("["))) {
      seen.push((JSON.parse(o) as { timestamp: number }[]).map((r) => r.timestamp));
    }
    assert.ok(seen.length >= 2, outputs.join(" | "));
    const now = Date.now();
    for (const [future, past] of seen) {
      assert.ok(future <= now + DEFAULT_READING_LIMITS.futureSkewMs, `future clamped: ${future}`);
      assert.ok(past >= now - 60_000, `past clamped: ${past}`);
    }
    assert.equal(errors(h, "forever_fresh").length, 0, "a clamp is not an error");
    await neighbourIsOwnAndFresh(h);
  });
});

Deno.test("hostile bad_value: a nested value is refused with plugin.error naming the field", async () => {
  await hostile("bad_value", {}, async (h, outputs) => {
    assertRefused(
      h,
      "bad_value",
      /reading 0 \("bad_value"\): values\.nested: must be a number, string, boolean or null, got an object/,
      outputs,
    );
    await neighbourIsOwnAndFresh(h);
  });
});

Deno.test("hostile fat_reading: string values are bounded in characters, the reading in bytes", async () => {
  await hostile("fat_reading", {}, async (h, outputs) => {
    assertRefused(
      h,
      "fat_reading",
      new RegExp(`values\\.k0: string of 20000 characters, more than ${DEFAULT_READING_LIMITS.stringChars}`),
      outputs,
    );
    await neighbourIsOwnAndFresh(h);
  });
});

Deno.test("hostile sensor_spray: the sensor ids one plugin can make the broker hold are bounded", async () => {
  await hostile("sensor_spray", {}, async (h, outputs) => {
    const published = new Set<string>();
    for (const o of outputs.filter((o) => o.startsWith("["))) {
      for (const r of JSON.parse(o) as { sensor: string }[]) published.add(r.sensor);
    }
    assert.ok(published.size > 0, "polls within the bound pass");
    assert.ok(published.size <= DEFAULT_READING_LIMITS.sensorsPerPlugin, `${published.size} sensors`);
    const errs = errors(h, "sensor_spray");
    assert.equal(errs.length, 3, errs.join("\n"));
    for (const m of errs) assert.match(m, /sensor: would publish \d+ distinct sensors, more than 32/);
    assert.equal(h.host.status("sensor_spray").status, "quarantined");
    await neighbourIsOwnAndFresh(h);
  });
});
