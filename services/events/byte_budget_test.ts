import assert from "node:assert/strict";
import { Emitter } from "./emitter.ts";
import { MemoryEventStore } from "./memory_store.ts";

const settle = () => new Promise((r) => setTimeout(r, 5));

Deno.test("MemoryEventStore keeps at most capacityBytes of events, oldest dropped first", async () => {
  const store = new MemoryEventStore({ capacity: 10_000, capacityBytes: 50_000 });
  const e = new Emitter({ node: "n", writer: store });
  for (let i = 0; i < 500; i++) e.emit("blob", { i, pad: "x".repeat(1000) });
  await settle();
  assert.ok(store.bytes <= 50_000, `ring holds ${store.bytes} bytes`);
  assert.ok(store.size >= 40 && store.size < 50, `ring holds ${store.size} events`);
  const kept = await store.latest(1000);
  assert.equal(kept.length, store.size);
  assert.equal(kept.at(-1)!.data.i, 499, "the newest is kept");
  assert.deepEqual(
    kept.map((x) => x.data.i),
    [...Array(kept.length).keys()].map((k) => 500 - kept.length + k),
  );
  const page = await store.query({ since: kept[0].id, limit: 5 });
  assert.deepEqual(page.map((x) => x.data.i), kept.slice(1, 6).map((x) => x.data.i));
  await e.close();
});

Deno.test("Emitter replaces an event over eventMaxBytes by a stub naming its size", async () => {
  const store = new MemoryEventStore();
  const e = new Emitter({ node: "n", writer: store, eventMaxBytes: 2048 });
  e.emit("reading", { values: { big: "y".repeat(10_000) } });
  e.emit("reading", { values: { t: 21.5 } });
  await settle();
  const [big, small] = await store.latest(2);
  assert.equal(big.type, "reading");
  assert.equal(big.data.oversized, true);
  assert.equal(big.data.limit, 2048);
  assert.ok((big.data.bytes as number) > 10_000);
  assert.deepEqual(small.data, { values: { t: 21.5 } });
  assert.equal(e.stats().oversized, 1);
  await e.close();
});

Deno.test("Emitter holds at most bufferMaxBytes while the store is away", async () => {
  let ready = false;
  const stored: string[] = [];
  const listeners = new Set<() => void>();
  const writer = {
    get ready() {
      return ready;
    },
    write(batch: readonly string[]) {
      if (!ready) return Promise.reject(new Error("down"));
      stored.push(...batch);
      return Promise.resolve();
    },
    onReady(l: () => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close: () => Promise.resolve(),
  };
  const e = new Emitter({ node: "n", writer, bufferMax: 10_000, bufferMaxBytes: 20_000 });
  for (let i = 0; i < 200; i++) e.emit("blob", { i, pad: "z".repeat(900) });
  const s = e.stats();
  assert.ok(s.buffered >= 15 && s.buffered <= 20, `buffered ${s.buffered}`);
  assert.equal(s.dropped, 200 - s.buffered);
  ready = true;
  for (const l of listeners) l();
  await settle();
  const ids = stored.map((l) => JSON.parse(l)).filter((x) => x.type === "blob").map((x) => x.data.i);
  assert.equal(ids.at(-1), 199, "the newest survive");
  assert.ok(stored.some((l) => JSON.parse(l).type === "events.dropped"), "the loss is reported");
  await e.close();
});
