import assert from "node:assert/strict";
import { Budget } from "./budget.ts";

Deno.test("Budget allows a burst, then the steady rate, and counts what it drops", () => {
  let now = 0;
  const b = new Budget({ perSecond: 10, burst: 5 }, () => now, 1000);
  for (let i = 0; i < 5; i++) assert.equal(b.take(), "ok");
  assert.equal(b.take(), "new-episode");
  assert.equal(b.take(), "dropped");
  now = 100; // one token back
  assert.equal(b.take(), "ok");
  assert.equal(b.take(), "dropped");
  assert.equal(b.dropped, 3);
  assert.equal(b.episodeDropped, 3);
});

Deno.test("Budget starts a new episode only after a quiet time without drops", () => {
  let now = 0;
  const b = new Budget({ perSecond: 1, burst: 1 }, () => now, 1500);
  b.take();
  assert.equal(b.take(), "new-episode");
  now = 1000;
  assert.equal(b.take(), "ok");
  assert.equal(b.take(), "dropped", "1000 ms after the last drop: same episode");
  now = 4000;
  assert.equal(b.take(), "ok");
  assert.equal(b.take(), "new-episode");
  assert.equal(b.episodeDropped, 1);
  assert.equal(b.dropped, 3);
});
