import assert from "node:assert/strict";
import { MemoryEventStore } from "./memory_store.ts";

function fill(n: number, capacity = 100) {
  let now = Date.UTC(2026, 0, 1);
  const store = new MemoryEventStore({ capacity, clock: () => now });
  for (let i = 0; i < n; i++) {
    now += 1000;
    store.append({
      type: i % 2 ? "plugin.error" : "reading",
      ts: new Date(now).toISOString(),
      cycle: i,
      node: "n",
      data: { i },
    });
  }
  return store;
}

Deno.test("MemoryEventStore keeps the newest `capacity` events in order", async () => {
  const s = fill(25, 10);
  assert.equal(s.size, 10);
  assert.deepEqual((await s.latest(3)).map((e) => e.data.i), [22, 23, 24]);
  assert.deepEqual((await s.latest(100)).map((e) => e.data.i), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
});

Deno.test("MemoryEventStore.query() filters by type prefix, since (id or ISO) and limit", async () => {
  const s = fill(20);
  assert.deepEqual((await s.query({ type: "plugin.", limit: 3 })).map((e) => e.data.i), [15, 17, 19]);
  const all = await s.latest(20);
  const after = await s.query({ since: all[9].id, limit: 3 });
  assert.deepEqual(after.map((e) => e.data.i), [10, 11, 12]);
  const byTime = await s.query({ since: all[17].ts });
  assert.deepEqual(byTime.map((e) => e.data.i), [18, 19]);
});

Deno.test("MemoryEventStore.query() rejects a bad since or limit", async () => {
  const s = fill(1);
  await assert.rejects(() => s.query({ since: "yesterday" }), {
    name: "TypeError",
    message:
      "Cannot query events as 'since' must be a stream id or an ISO timestamp: current value is 'yesterday'",
  });
  await assert.rejects(() => s.query({ limit: 0 }), { name: "RangeError" });
});

Deno.test("MemoryEventStore.subscribe() isolates a throwing listener", () => {
  const s = new MemoryEventStore();
  const got: number[] = [];
  s.subscribe(() => {
    throw new Error("bad listener");
  });
  const off = s.subscribe((e) => got.push(e.cycle));
  s.append({ type: "a", ts: new Date().toISOString(), cycle: 1, node: "n", data: {} });
  off();
  s.append({ type: "a", ts: new Date().toISOString(), cycle: 2, node: "n", data: {} });
  assert.deepEqual(got, [1]);
  assert.equal(s.listenerErrors, 2);
});

Deno.test("MemoryEventStore ids are unique and increase within one millisecond", () => {
  const s = new MemoryEventStore({ clock: () => 5 });
  const a = s.append({ type: "a", ts: "", cycle: 0, node: "n", data: {} });
  const b = s.append({ type: "a", ts: "", cycle: 0, node: "n", data: {} });
  assert.equal(a.id, "5-0");
  assert.equal(b.id, "5-1");
});

Deno.test("MemoryEventStore.latest() on an empty or partly filled ring", async () => {
  assert.deepEqual(await new MemoryEventStore().latest(5), []);
  assert.deepEqual((await fill(3, 10).latest(5)).map((e) => e.data.i), [0, 1, 2]);
  assert.deepEqual(await fill(3, 10).latest(0), []);
});
