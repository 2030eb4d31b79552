import assert from "node:assert/strict";
import { Emitter, type EventWriter } from "./emitter.ts";
import { MemoryEventStore } from "./memory_store.ts";

/** A writer whose reachability the test switches; records every round trip. */
class FakeWriter implements EventWriter {
  ready = true;
  batches: string[][] = [];
  stored: string[] = [];
  #listeners = new Set<() => void>();
  write(batch: readonly string[]): Promise<void> {
    if (!this.ready) return Promise.reject(new Error("down"));
    this.batches.push([...batch]);
    this.stored.push(...batch);
    return Promise.resolve();
  }
  onReady(l: () => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  up(): void {
    this.ready = true;
    for (const l of this.#listeners) l();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const types = (w: FakeWriter) => w.stored.map((s) => JSON.parse(s).type as string);

Deno.test("Emitter.emit() writes the envelope {type, ts, cycle, node, data}", async () => {
  const w = new FakeWriter();
  const e = new Emitter({ node: "pi-1", writer: w, clock: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6) });
  e.setCycle(42);
  e.emit("cycle.start", { session: 1 });
  await tick();
  assert.deepEqual(JSON.parse(w.stored[0]), {
    type: "cycle.start",
    ts: "2026-01-02T03:04:05.006Z",
    cycle: 42,
    node: "pi-1",
    data: { session: 1 },
  });
  await e.close();
});

Deno.test("Emitter.emit() returns before anything is written and snapshots data", async () => {
  const w = new FakeWriter();
  const e = new Emitter({ node: "n", writer: w });
  const data = { v: 1 };
  e.emit("reading", data);
  data.v = 2;
  assert.equal(w.stored.length, 0);
  await tick();
  assert.equal(JSON.parse(w.stored[0]).data.v, 1);
  await e.close();
});

Deno.test("Emitter.emit() never throws: circular data, bigint, non-object, after close", async () => {
  const w = new FakeWriter();
  const e = new Emitter({ node: "n", writer: w });
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  e.emit("error", circular);
  e.emit("big", { n: 10n });
  e.emit("odd", 5 as unknown as Record<string, unknown>);
  await tick();
  const [c, b, o] = w.stored.map((s) => JSON.parse(s));
  assert.match(c.data.unserializable, /circular/i);
  assert.equal(b.data.n, "10");
  assert.deepEqual(o.data, { value: 5 });
  await e.close();
  e.emit("late", {});
  const s = e.stats();
  assert.equal(s.afterClose, 1);
  assert.equal(s.dropped, 1);
  assert.equal(s.written, 3);
});

Deno.test("Emitter batches: 2000 synchronous emits take ceil(2000 / batchMax) round trips", async () => {
  const w = new FakeWriter();
  const e = new Emitter({ node: "n", writer: w, batchMax: 500 });
  for (let i = 0; i < 2000; i++) e.emit("tick", { i });
  await tick();
  assert.equal(w.batches.length, 4);
  assert.deepEqual(w.stored.map((s) => JSON.parse(s).data.i), [...Array(2000).keys()]);
  assert.equal(e.stats().batches, 4);
  await e.close();
});

Deno.test("Emitter keeps the newest bufferMax while down, flushes in order, reports the overflow", async () => {
  const w = new FakeWriter();
  w.ready = false;
  const e = new Emitter({ node: "n", writer: w, bufferMax: 100, batchMax: 30 });
  for (let i = 0; i < 250; i++) e.emit("tick", { i });
  await tick();
  assert.deepEqual({ ...e.stats(), connected: undefined }, {
    emitted: 250,
    written: 0,
    dropped: 150,
    buffered: 100,
    connected: undefined,
    batches: 0,
    writeErrors: 0,
    afterClose: 0,
    oversized: 0,
  });
  w.up();
  await tick();
  const ticks = w.stored.map((s) => JSON.parse(s)).filter((x) => x.type === "tick").map((x) => x.data.i);
  assert.deepEqual(ticks, [...Array(100).keys()].map((i) => i + 150));
  const dropped = w.stored.map((s) => JSON.parse(s)).filter((x) => x.type === "events.dropped");
  assert.equal(dropped.length, 1);
  assert.equal(dropped[0].data.count, 150);
  assert.equal(e.stats().buffered, 0);
  await e.close();
});

Deno.test("Emitter re-queues a failed batch in front and keeps order", async () => {
  const w = new FakeWriter();
  const e = new Emitter({ node: "n", writer: w, batchMax: 2 });
  e.emit("a");
  e.emit("b");
  w.ready = false;
  // The drain starts in a microtask: make the first write fail.
  const write = w.write.bind(w);
  let failOnce = true;
  w.write = (batch) => {
    if (failOnce) {
      failOnce = false;
      return Promise.reject(new Error("socket closed"));
    }
    return write(batch);
  };
  w.ready = true;
  await tick();
  assert.equal(e.stats().writeErrors, 1);
  e.emit("c");
  await new Promise((r) => setTimeout(r, 100)); // the retry backs off 50 ms
  assert.deepEqual(types(w), ["a", "b", "c"]);
  await e.close();
});

Deno.test("Emitter backs off when a reachable store keeps refusing writes", async () => {
  const w = new FakeWriter();
  let attempts = 0;
  w.write = () => {
    attempts++;
    return Promise.reject(new Error("OOM command not allowed"));
  };
  const e = new Emitter({ node: "n", writer: w });
  e.emit("x");
  await new Promise((r) => setTimeout(r, 200));
  // 0, 50, 150 ms: a handful of attempts, not a tight loop.
  assert.ok(attempts >= 2 && attempts <= 4, `${attempts} attempts in 200 ms`);
  assert.equal(e.stats().buffered, 1);
  await e.close(10);
});

Deno.test("Emitter.close() flushes the buffer and stops within its timeout when the store stays down", async () => {
  const w = new FakeWriter();
  const e = new Emitter({ node: "n", writer: w });
  e.emit("last.words");
  await e.close();
  assert.deepEqual(types(w), ["last.words"]);

  const down = new FakeWriter();
  down.ready = false;
  const e2 = new Emitter({ node: "n", writer: down });
  e2.emit("lost");
  const t0 = performance.now();
  await e2.close(50);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(e2.stats().buffered, 1);
});

Deno.test("Emitter rejects bad bounds with a clear error", () => {
  assert.throws(
    () => new Emitter({ node: "n", writer: new FakeWriter(), bufferMax: 0 }),
    {
      name: "RangeError",
      message: "Cannot create emitter as 'bufferMax' must be a positive integer: current value is 0",
    },
  );
});

Deno.test("Emitter over a MemoryEventStore: subscribers get ids in order", async () => {
  const store = new MemoryEventStore({ capacity: 10 });
  const e = new Emitter({ node: "n", writer: store });
  const seen: string[] = [];
  store.subscribe((ev) => seen.push(`${ev.type}@${ev.id}`));
  e.emit("one");
  e.emit("two");
  await tick();
  assert.equal(seen.length, 2);
  assert.match(seen[0], /^one@\d+-\d+$/);
  assert.deepEqual((await store.latest(5)).map((x) => x.type), ["one", "two"]);
  await e.close();
});
