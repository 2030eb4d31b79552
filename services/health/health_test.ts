import assert from "node:assert/strict";
import { Health } from "./health.ts";

function setup() {
  let mono = 0;
  const lines: string[] = [];
  const h = new Health({
    log: (l) => lines.push(l),
    clock: () => mono,
    wallClock: () => 1_700_000_000_000 + mono,
  });
  return { h, lines, advance: (ms: number) => (mono += ms) };
}

Deno.test("Health logs one line per transition and keeps since-when", () => {
  const { h, lines, advance } = setup();
  h.register("redis");
  advance(1000);
  h.set("redis", "down", "Cannot use Redis at redis://x: NOAUTH");
  h.set("redis", "down", "Cannot use Redis at redis://x: NOAUTH");
  h.set("redis", "down", "Cannot use Redis at redis://x: connection refused");
  assert.deepEqual(lines, ["health: redis is down: Cannot use Redis at redis://x: NOAUTH"]);
  const r = h.report();
  assert.equal(r.components.redis.reason, "Cannot use Redis at redis://x: connection refused");
  assert.equal(r.components.redis.since, new Date(1_700_000_001_000).toISOString());
  assert.equal(r.status, "down");
  assert.equal(r.serving, true, "redis is not critical");
  h.ok("redis");
  assert.equal(lines.at(-1), "health: redis is ok again (was down)");
  assert.equal(h.report().status, "ok");
});

Deno.test("Health watchdog: a critical component silent for 3 intervals is down and the node not serving", () => {
  const { h, advance } = setup();
  h.watch("snapshot", 500, 3, "snapshot written");
  advance(1400);
  assert.equal(h.report().serving, true);
  advance(200);
  const r = h.report();
  assert.equal(r.components.snapshot.status, "down");
  assert.match(r.components.snapshot.reason!, /^no snapshot written for 3 intervals of 500 ms$/);
  assert.equal(r.serving, false);
  h.beat("snapshot");
  assert.equal(h.report().serving, true);
  assert.deepEqual(
    h.gauges().filter((g) => g.name === "harvester_component_up").map((g) => [g.labels.component, g.value]),
    [["snapshot", 1]],
  );
});

Deno.test("Health: a degraded critical component still serves; the worst status wins", () => {
  const { h } = setup();
  h.register("snapshot", true);
  h.register("plugins");
  h.set("snapshot", "degraded", "Cannot write /x: no space");
  h.set("plugins", "down", "all quarantined");
  const r = h.report();
  assert.equal(r.status, "down");
  assert.equal(r.serving, true);
  assert.deepEqual(
    h.gauges().find((g) => g.labels.component === "plugins" && g.name === "harvester_component_up")?.value,
    0,
  );
});
