import assert from "node:assert/strict";
import { Throttle } from "./throttle.ts";

Deno.test("Throttle.acquire() refuses past the in-flight bound until a slot is released", () => {
  const t = new Throttle({ maxInFlight: 2, perSecond: 100 }, () => 0);
  assert.equal(t.acquire(), undefined);
  assert.equal(t.acquire(), undefined);
  assert.equal(t.acquire(), "in-flight");
  t.release();
  assert.equal(t.acquire(), undefined);
  assert.equal(t.acquire(false), undefined, "untracked calls take no slot");
  assert.equal(t.takeRefused(), 1);
  assert.equal(t.takeRefused(), 0);
});

Deno.test("Throttle.acquire() refuses past the per-second budget and renews it after a second", () => {
  let now = 0;
  const t = new Throttle({ maxInFlight: 100, perSecond: 3 }, () => now);
  for (let i = 0; i < 3; i++) assert.equal(t.acquire(false), undefined);
  assert.equal(t.acquire(false), "rate");
  now = 999;
  assert.equal(t.acquire(false), "rate");
  now = 1000;
  assert.equal(t.acquire(false), undefined);
});
