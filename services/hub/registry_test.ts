import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { NodeRegistry } from "./registry.ts";
import { makeSnapshot, TestEventLog } from "./_test_fakes.ts";

function setup() {
  const clock = FakeTimers.createClock(Date.parse("2026-01-01T00:00:00Z"));
  const log = new TestEventLog("hub", () => clock.now);
  const registry = new NodeRegistry({
    intervalMs: 5000,
    emit: log,
    clock: { ...clock, now: () => clock.now },
  });
  return { clock, log, registry };
}

Deno.test("NodeRegistry marks a spoke stale after 3 missed intervals and offline after 6, with events", () => {
  const { clock, log, registry } = setup();
  registry.ingest(makeSnapshot("pi4", clock.now));
  assert.equal(registry.status("pi4"), "online");
  assert.deepEqual(log.types(), ["node.online"]);
  assert.equal(JSON.parse(registry.readingsJson())[0].stale, false);
  clock.tick(14_999);
  registry.check();
  assert.equal(registry.status("pi4"), "online");
  clock.tick(1);
  registry.check();
  assert.equal(registry.status("pi4"), "stale");
  assert.deepEqual(registry.readings().map((r) => r.stale), [true]);
  assert.equal(JSON.parse(registry.readingsJson())[0].stale, true);
  clock.tick(15_000);
  registry.check();
  assert.equal(registry.status("pi4"), "offline");
  assert.deepEqual(log.types(), ["node.online", "node.stale", "node.offline"]);
  assert.deepEqual(log.events[2].data, {
    node: "pi4",
    previous: "stale",
    lastSeen: "2026-01-01T00:00:00.000Z",
  });
  registry.check();
  assert.equal(log.events.length, 3);
  registry.ingest(makeSnapshot("pi4", clock.now, 2));
  assert.equal(registry.status("pi4"), "online");
  assert.deepEqual(log.types().at(-1), "node.online");
  assert.equal(registry.list()[0].cycle, 2);
  assert.equal(JSON.parse(registry.readingsJson())[0].stale, false);
});

Deno.test("NodeRegistry ages local nodes by their snapshot timestamp and keeps the newest push", () => {
  const { clock, registry } = setup();
  registry.declare("hub", "hub");
  assert.equal(registry.status("hub"), "offline");
  registry.observe(makeSnapshot("hub", clock.now - 20_000));
  assert.equal(registry.status("hub"), "stale");
  registry.observe(makeSnapshot("hub", clock.now));
  assert.equal(registry.status("hub"), "online");
  registry.ingest(makeSnapshot("pi4", clock.now, 5));
  registry.ingest(makeSnapshot("pi4", clock.now - 1000, 4));
  assert.equal(registry.snapshot("pi4")!.cycle, 5);
  assert.equal(registry.pushes("pi4"), 2);
  assert.deepEqual(registry.list().map((n) => [n.id, n.role]), [["hub", "hub"], ["pi4", "spoke"]]);
});

Deno.test("NodeRegistry refuses a non-positive interval", () => {
  assert.throws(() => new NodeRegistry({ intervalMs: 0, emit: new TestEventLog() }), {
    name: "RangeError",
    message: "Cannot create node registry: 'intervalMs' must be positive: current value is 0",
  });
});
