import assert from "node:assert/strict";
import { checkReadings, sensorOwner } from "./readings.ts";

const check = (value: unknown, plugin = "p", sensors = new Set<string>()) =>
  checkReadings(value, { plugin, plugins: ["p", "p-x", "anima", "system-monitor"], sensors, now: 1_000_000 });

Deno.test("sensorOwner() picks aliases, exact ids, then the longest id prefix", () => {
  assert.equal(sensorOwner("system", []), "system-monitor");
  assert.equal(sensorOwner("p", ["p", "p-x"]), "p");
  assert.equal(sensorOwner("p-x", ["p", "p-x"]), "p-x");
  assert.equal(sensorOwner("p-x-1", ["p", "p-x"]), "p-x");
  assert.equal(sensorOwner("p-y", ["p", "p-x"]), "p");
  assert.equal(sensorOwner("q", ["p"]), undefined);
});

Deno.test("checkReadings() refuses another plugin's namespace, naming the field", () => {
  assert.throws(
    () => check([{ sensor: "anima", values: {} }]),
    /reading 0 \("anima"\): sensor: belongs to plugin "anima"/,
  );
  assert.throws(() => check([{ sensor: "p-x", values: {} }]), /belongs to plugin "p-x"/);
  assert.throws(() => check([{ sensor: "elsewhere", values: {} }]), /belongs to no plugin/);
  assert.equal(check([{ sensor: "p.temp", values: { t: 1 } }])[0].sensor, "p.temp");
});

Deno.test("checkReadings() keeps flat bounded values and a fresh copy, clamps timestamps", () => {
  const input = [{
    sensor: "p",
    values: { a: 1, b: "s", c: true, d: null },
    units: { a: "C" },
    timestamp: 9e15,
    extra: 1,
  }];
  const [r] = check(input);
  assert.deepEqual(r, {
    sensor: "p",
    values: { a: 1, b: "s", c: true, d: null },
    units: { a: "C" },
    timestamp: 1_002_000,
  });
  assert.notEqual(r.values, input[0].values);
  assert.equal(check([{ sensor: "p", values: {}, timestamp: 0 }])[0].timestamp, 990_000);
  assert.equal(check([{ sensor: "p", values: {} }])[0].timestamp, 1_000_000);
  assert.throws(
    () => check([{ sensor: "p", values: {}, timestamp: "now" }]),
    /timestamp: must be epoch milliseconds/,
  );
  assert.throws(
    () => check([{ sensor: "p", values: { x: [1] } }]),
    /values\.x: must be a number, string, boolean or null, got an array/,
  );
  assert.throws(
    () => check([{ sensor: "p", values: { x: "y".repeat(300) } }]),
    /values\.x: string of 300 characters/,
  );
  assert.throws(() => check([{ sensor: "p", values: {}, units: { x: 1 } }]), /units\.x: must be a string/);
  assert.throws(() => check([{ sensor: "p\nq", values: {} }]), /sensor: must be 1\.\.64 letters/);
  assert.throws(() => check(new Array(33).fill({ sensor: "p", values: {} })), /33 readings, more than 32/);
});

Deno.test("checkReadings() bounds the distinct sensors of one plugin across polls", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2; i++) {
    check(Array.from({ length: 16 }, (_, j) => ({ sensor: `p-${i * 16 + j}`, values: {} })), "p", seen);
  }
  assert.equal(seen.size, 32);
  check([{ sensor: "p-0", values: {} }], "p", seen);
  assert.throws(
    () => check([{ sensor: "p-new", values: {} }], "p", seen),
    /33 distinct sensors, more than 32/,
  );
  assert.equal(seen.size, 32);
});
