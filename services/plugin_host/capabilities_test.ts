import assert from "node:assert/strict";
import { CapabilityError } from "../../plugins/sdk/mod.ts";
import { RegisterFileModel, SimHal } from "../../hal/sim/mod.ts";
import type { Rgb } from "../../hal/mod.ts";
import { CapabilityBroker } from "./capabilities.ts";
import type { CapabilityTarget } from "./capabilities.ts";
import { effectiveGrant, emptyGrant } from "./grant.ts";
import { StateStore } from "./state_store.ts";

function setup(now = () => 0) {
  const chip = new RegisterFileModel(0x77);
  chip.transfer(Uint8Array.of(0xd0, 0x61), 0);
  const hal = new SimHal({
    i2cBuses: [1],
    gpioChip: 0,
    ledCount: 4,
    ledPin: 18,
    ledBrightness: 1,
    buzzerPin: 17,
    models: () => [chip],
  });
  const events: { type: string; data: Record<string, unknown> }[] = [];
  const leds = new Map<number, Rgb>();
  const beeps: unknown[] = [];
  const caps = new CapabilityBroker({
    services: {
      hal,
      leds: { count: 4, set: (i, c) => void leds.set(i, c) },
      buzzer: { play: (p) => Promise.resolve(void beeps.push(p)) },
      log: () => {},
    },
    emit: { emit: (type, data = {}) => void events.push({ type, data }) },
    now,
    limits: { maxInFlight: 4, perSecond: 10 },
  });
  const target: CapabilityTarget = {
    id: "oled",
    grant: effectiveGrant(["i2c", "led", "buzzer", "gpio"], {
      ...emptyGrant(),
      i2c: [0x77],
      leds: [1],
      gpio: [4],
    }),
    settings: {},
  };
  return { hal, caps, events, leds, beeps, target, [Symbol.dispose]: () => hal.close() };
}

const denied = (message: string) => (e: unknown) => e instanceof CapabilityError && e.message === message;

Deno.test("CapabilityBroker checks the I2C address on every transfer", async () => {
  using s = setup();
  assert.deepEqual(await s.caps.handle(s.target, "i2c.transfer", [null, 0x77, [0xd0], 1]), [0x61]);
  await assert.rejects(
    s.caps.handle(s.target, "i2c.transfer", [null, 0x3c, [0x00], 1]),
    denied('Cannot grant "i2c:0x3c" to plugin "oled": not allowed by config/permissions.toml'),
  );
  assert.deepEqual(s.events, [{
    type: "plugin.denied",
    data: {
      plugin: "oled",
      capability: "i2c",
      argument: "0x3c",
      reason: "not allowed by config/permissions.toml",
      suppressed: 0,
    },
  }]);
});

Deno.test("CapabilityBroker refuses capabilities outside the manifest world even if config grants them", async () => {
  using s = setup();
  const t = {
    ...s.target,
    grant: effectiveGrant(["log"], { ...emptyGrant(), i2c: [0x77], systemInfo: true }),
  };
  await assert.rejects(
    s.caps.handle(t, "i2c.transfer", [null, 0x77, [0xd0], 1]),
    denied('Cannot grant "i2c:0x77" to plugin "oled": not imported by its manifest world'),
  );
  await assert.rejects(
    s.caps.handle(t, "system.memory", []),
    denied('Cannot grant "system-info" to plugin "oled": not imported by its manifest world'),
  );
  await assert.rejects(s.caps.handle(t, "teleport.now", []), CapabilityError);
});

Deno.test("CapabilityBroker checks LED indexes, GPIO lines and buzzer, and validates arguments", async () => {
  using s = setup();
  await s.caps.handle(s.target, "led.set", [1, 255, 0, 16]);
  assert.deepEqual(s.leds.get(1), { r: 255, g: 0, b: 16 });
  await assert.rejects(
    s.caps.handle(s.target, "led.set", [0, 1, 1, 1]),
    denied('Cannot grant "led:0" to plugin "oled": not allowed by config/permissions.toml'),
  );
  await assert.rejects(s.caps.handle(s.target, "led.set", [1, 256, 0, 0]), {
    name: "TypeError",
    message: 'Cannot call "led.set": r must be an integer 0..255, got 256',
  });
  await assert.rejects(s.caps.handle(s.target, "buzzer.beep", ["single"]), /Cannot grant "buzzer:single"/);
  await s.caps.handle(s.target, "gpio.write", [4, true]);
  assert.equal(await s.caps.handle(s.target, "gpio.read", [4]), true);
  await assert.rejects(s.caps.handle(s.target, "gpio.read", [27]), /Cannot grant "gpio:27"/);
  await assert.rejects(
    s.caps.handle(s.target, "i2c.transfer", [null, 0x77, "x", 1]),
    /data must be an array of at most 4096 bytes/,
  );
  s.caps.close();
});

Deno.test("CapabilityBroker refuses a flood with one plugin.flood event per second", async () => {
  let now = 0;
  using s = setup(() => now);
  const results = await Promise.allSettled(
    Array.from({ length: 15 }, () => s.caps.handle(s.target, "i2c.transfer", [null, 0x77, [0xd0], 1])),
  );
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 4, "in-flight bound");
  const reasons = results.flatMap((r) => r.status === "rejected" ? [String(r.reason.message)] : []);
  assert.equal(
    reasons[0],
    'Cannot call "i2c.transfer" for plugin "oled": more than 4 capability calls in flight',
  );
  assert.equal(s.events.filter((e) => e.type === "plugin.flood").length, 1);
  for (let i = 0; i < 10; i++) await s.caps.handle(s.target, "log", ["info", "x"], false).catch(() => {});
  assert.equal(s.events.filter((e) => e.type === "plugin.flood").length, 1, "still one event in this second");
  now = 1000;
  assert.deepEqual(
    await s.caps.handle(s.target, "i2c.transfer", [null, 0x77, [0xd0], 1]),
    [0x61],
    "budget renewed",
  );
});

Deno.test("CapabilityBroker state.get tells a missing key from a stored null", async () => {
  using s = setup();
  const dir = await Deno.makeTempDir();
  try {
    const state = new StateStore(dir, "anima");
    const t: CapabilityTarget = {
      id: "anima",
      grant: effectiveGrant(["state"], { ...emptyGrant(), state: true }),
      settings: {},
      state,
    };
    assert.deepEqual(await s.caps.handle(t, "state.get", ["name"]), {});
    await s.caps.handle(t, "state.set", ["name", null]);
    assert.deepEqual(await s.caps.handle(t, "state.get", ["name"]), { value: null });
    await s.caps.handle(t, "state.set", ["name", { n: "Anima" }]);
    assert.deepEqual(await s.caps.handle(t, "state.get", ["name"]), { value: { n: "Anima" } });
    await assert.rejects(s.caps.handle(t, "state.get", [""]), /key must be 1\.\.200 characters/);
    const noState = { ...t, grant: effectiveGrant(["state"], emptyGrant()) };
    await assert.rejects(
      s.caps.handle(noState, "state.get", ["name"]),
      /Cannot grant "state" to plugin "anima": not allowed/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CapabilityBroker echoes a refused call's method and argument cut short", async () => {
  using s = setup();
  const huge = "i2c." + "x".repeat(1 << 20);
  await assert.rejects(s.caps.handle(s.target, huge, []), CapabilityError);
  await assert.rejects(
    s.caps.handle(s.target, "buzzer.beep", ["y".repeat(1 << 20)]),
    (e: Error) => e instanceof CapabilityError && e.message.length < 300,
  );
  const denied = s.events.filter((e) => e.type === "plugin.denied");
  assert.equal(denied.length, 2);
  for (const e of denied) {
    assert.ok(JSON.stringify(e.data).length < 400, `event of ${JSON.stringify(e.data).length} characters`);
  }
});

Deno.test("CapabilityBroker budgets log lines per plugin: one plugin.flood per episode, the rest counted", async () => {
  let now = 0;
  const lines: string[] = [];
  const events: { type: string; data: Record<string, unknown> }[] = [];
  const caps = new CapabilityBroker({
    services: {
      hal: {} as never,
      leds: { count: 0, set: () => {} },
      buzzer: { play: () => Promise.resolve() },
      log: (_p, _l, m) => void lines.push(m),
    },
    emit: { emit: (type, data = {}) => void events.push({ type, data }) },
    now: () => now,
    logBudget: { perSecond: 10, burst: 5 },
    floodQuietMs: 1000,
  });
  const t: CapabilityTarget = { id: "p", grant: effectiveGrant(["log"], emptyGrant()), settings: {} };
  for (let i = 0; i < 50; i++) await caps.handle(t, "log", ["info", `a\nb ${i}`], false);
  assert.equal(lines.length, 5);
  assert.equal(lines[0], "a\\nb 0");
  now = 500; // 5 tokens back, same episode
  for (let i = 0; i < 50; i++) await caps.handle(t, "log", ["info", "x"], false);
  assert.equal(lines.length, 10);
  assert.equal(events.filter((e) => e.type === "plugin.flood").length, 1);
  assert.equal(caps.logsDropped("p"), 90);
  now = 5000; // quiet for longer than floodQuietMs: a new episode
  for (let i = 0; i < 50; i++) await caps.handle(t, "log", ["info", "x"], false);
  assert.equal(events.filter((e) => e.type === "plugin.flood").length, 2);
});

Deno.test("CapabilityBroker runs an I2C transaction in order and answers one array per step", async () => {
  using s = setup();
  const out = await s.caps.handle(s.target, "i2c.transaction", [null, [
    { address: 0x77, write: [0x10, 0xab] },
    { delayMs: 1 },
    { address: 0x77, write: [0x10], read: 1 },
    { address: 0x77, write: [0xd0], read: 1 },
  ]]);
  assert.deepEqual(out, [[], [], [0xab], [0x61]]);
  assert.equal(s.caps.roundTrips("oled"), 1);
});

Deno.test("CapabilityBroker checks every step of a transaction before running any", async () => {
  using s = setup();
  await assert.rejects(
    s.caps.handle(s.target, "i2c.transaction", [null, [
      { address: 0x77, write: [0x10, 0xab] },
      { address: 0x3c, write: [0x00, 0xaf] },
    ]]),
    denied(
      'Cannot run step 2 of 2 of "i2c.transaction" (write 0x00 0xaf at 0x3c), so no step ran: ' +
        'Cannot grant "i2c:0x3c" to plugin "oled": not allowed by config/permissions.toml',
    ),
  );
  assert.deepEqual(await s.caps.handle(s.target, "i2c.transfer", [null, 0x77, [0x10], 1]), [0]);
  assert.equal(s.events[0]?.type, "plugin.denied");
  assert.equal(s.events[0]?.data.argument, "0x3c");
});

Deno.test("CapabilityBroker names the failing step of a transaction", async () => {
  using s = setup();
  // Nothing answers at 0x50 on the sim bus (granted here so the HAL, not the grant, refuses).
  s.target.grant.i2c.push(0x50);
  await assert.rejects(
    s.caps.handle(s.target, "i2c.transaction", [null, [
      { address: 0x77, write: [0x10, 0xab] },
      { address: 0x50, write: [0x00], read: 1 },
    ]]),
    (e: unknown) =>
      e instanceof Error &&
      e.message.startsWith(
        'Cannot run step 2 of 2 of "i2c.transaction" (write 0x00, then read 1 bytes at 0x50; 1 before it ran): ',
      ),
  );
  assert.deepEqual(await s.caps.handle(s.target, "i2c.transfer", [null, 0x77, [0x10], 1]), [0xab]);
});

Deno.test("CapabilityBroker counts every step of a transaction against the call budget", async () => {
  using s = setup(); // 10 calls per second
  const step = { address: 0x77, write: [0xd0], read: 1 };
  await s.caps.handle(s.target, "i2c.transaction", [null, Array(8).fill(step)]);
  await assert.rejects(
    s.caps.handle(s.target, "i2c.transaction", [null, Array(3).fill(step)]),
    (e: unknown) =>
      e instanceof CapabilityError && /more than 10 capability calls per second/.test(e.message),
  );
  await s.caps.handle(s.target, "i2c.transaction", [null, Array(2).fill(step)]);
  await assert.rejects(s.caps.handle(s.target, "i2c.transfer", [null, 0x77, [0xd0], 1]), CapabilityError);
  assert.equal(s.events.filter((e) => e.type === "plugin.flood").length, 1);
});
