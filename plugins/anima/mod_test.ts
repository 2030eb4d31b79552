import assert from "node:assert/strict";
import { createHarness, type Harness, loadManifest, snapshotOf } from "../_testing/harness.ts";
import {
  clarityOf,
  createAnimaPlugin,
  IDENTITY_KEY,
  makeCreatureId,
  stabilityOf,
  validateName,
  warmthOf,
} from "./mod.ts";

const manifest = await loadManifest("anima");

async function started(h: Harness) {
  const plugin = createAnimaPlugin();
  await plugin.init(h.ctx);
  return plugin;
}

function room(h: Harness, temperature: number, cpu: number, iaq: number, humidity = 40) {
  return snapshotOf({
    dht22: { temperature, humidity },
    bme680: { temperature, humidity, iaq, iaq_status: "good" },
    system: { cpu_temp: cpu },
  }, { timestamp: h.clock.now() });
}

Deno.test("anima keeps its name and id across a re-init with the same state, counting awakenings", async () => {
  const state = new Map<string, unknown>();
  const h1 = createHarness({ manifest, state });
  const first = await started(h1);
  const born = first.poll(h1.ctx)[0].values;
  assert.equal(born.awakenings, 1);
  assert.equal(born.name, "Anima");
  assert.match(
    born.creature_id as string,
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.deepEqual(await first.command(h1.ctx, "set_name", { name: "  Lumen " }), {
    creature_id: born.creature_id,
    name: "Lumen",
    awakenings: 1,
  });

  const h2 = createHarness({ manifest, state });
  const second = await started(h2);
  const again = second.poll(h2.ctx)[0].values;
  assert.equal(again.name, "Lumen");
  assert.equal(again.creature_id, born.creature_id);
  assert.equal(again.awakenings, 2);
  assert.deepEqual(state.get(IDENTITY_KEY), { creature_id: born.creature_id, name: "Lumen", awakenings: 2 });
});

Deno.test("anima set_name validates 1..32 printable characters and keeps the old name on error", async () => {
  const h = createHarness({ manifest });
  const plugin = await started(h);
  await assert.rejects(() => plugin.command(h.ctx, "set_name", {}), {
    name: "TypeError",
    message: 'Cannot set name: "name" must be a string, got undefined',
  });
  await assert.rejects(() => plugin.command(h.ctx, "set_name", { name: "   " }), {
    message: 'Cannot set name: "name" must be 1..32 characters, got 0',
  });
  await assert.rejects(() => plugin.command(h.ctx, "set_name", { name: "x".repeat(33) }), {
    message: 'Cannot set name: "name" must be 1..32 characters, got 33',
  });
  await assert.rejects(() => plugin.command(h.ctx, "set_name", { name: "bad\u0007bell" }), {
    message: 'Cannot set name: "name" must contain printable characters only',
  });
  await assert.rejects(() => plugin.command(h.ctx, "rename", { name: "x" }), {
    message: 'Cannot run command "rename" on plugin "anima": unknown command',
  });
  assert.equal(plugin.poll(h.ctx)[0].values.name, "Anima");
  assert.equal(validateName("Ünïcødé 🌱"), "Ünïcødé 🌱");
});

Deno.test("anima feelings follow the room: warm, clear, steady, present", async () => {
  const h = createHarness({ manifest });
  const plugin = await started(h);
  for (let i = 0; i < 5; i++) {
    h.clock.advance(5000);
    plugin.update(h.ctx, room(h, 22.5, 48, 30));
  }
  const calm = plugin.poll(h.ctx)[0].values;
  assert.equal(calm.warmth, Number((0.7 * 0.5 + 0.3 * 0.2).toFixed(3)));
  assert.equal(calm.clarity, 0.9);
  assert.equal(calm.stability, 1);
  assert.ok((calm.presence as number) > 0.3, `presence ${calm.presence}`);
  assert.ok(["warmth", "clarity", "stability", "presence"].every((k) => {
    const v = calm[k] as number;
    return v >= 0 && v <= 1;
  }));

  // Smoke and a swinging room: clarity drops, stability drops, activity rises.
  for (const [t, iaq] of [[26, 250], [21, 260], [27, 240], [20, 270]]) {
    h.clock.advance(5000);
    plugin.update(h.ctx, room(h, t, 60, iaq));
  }
  const restless = plugin.poll(h.ctx)[0].values;
  assert.ok((restless.clarity as number) < 0.2, `clarity ${restless.clarity}`);
  assert.ok(
    (restless.stability as number) < (calm.stability as number) - 0.3,
    `stability ${restless.stability}`,
  );
  assert.ok((restless.presence as number) > (calm.presence as number), `presence ${restless.presence}`);

  // A long quiet with stale readings: presence fades.
  h.clock.advance(60 * 60_000);
  const stale = snapshotOf({ dht22: { temperature: 20, humidity: 40 } }, {
    timestamp: h.clock.now() - 10 * 60_000,
  });
  plugin.update(h.ctx, { ...stale, timestamp: new Date(h.clock.now()).toISOString() });
  h.clock.advance(30 * 60_000); // nothing changes for half an hour
  plugin.update(h.ctx, { ...stale, timestamp: new Date(h.clock.now()).toISOString() });
  assert.ok((plugin.poll(h.ctx)[0].values.presence as number) < 0.05);
});

Deno.test("anima feeling functions: bounds and neutral values", () => {
  assert.equal(warmthOf(null, null), 0.5);
  assert.equal(warmthOf(40, 100), 1);
  assert.equal(warmthOf(0, 0), 0);
  assert.equal(clarityOf(null), 0.5);
  assert.equal(clarityOf(0), 1);
  assert.equal(clarityOf(500), 0);
  assert.equal(stabilityOf([]), 1);
  const s = (roomC: number) => ({ roomC, humidity: null, cpuC: null, iaq: null });
  assert.equal(stabilityOf([s(20), s(23)]), 0); // a 1.5 °C spread is fully restless
});

Deno.test("makeCreatureId gives distinct v4-shaped ids", () => {
  const a = makeCreatureId(1), b = makeCreatureId(1);
  assert.notEqual(a, b);
  assert.match(a, /^[0-9a-f-]{36}$/);
});
