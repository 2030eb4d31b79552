import assert from "node:assert/strict";
import type { Snapshot } from "../shm/snapshot.ts";
import { makeSnapshot, TestEventLog } from "../hub/_test_fakes.ts";
import { SpokePusher } from "./spoke_pusher.ts";

/** A pusher whose hub is down until `up()`, over snapshots of about `padBytes` each. */
function setup(padBytes: number, opts: { bufferMaxBytes?: number; batchMaxBytes?: number }) {
  const log = new TestEventLog("pi4");
  let hubUp = false;
  const bodies: number[] = [];
  const batches: number[][] = [];
  let cycle = 0;
  const pusher = new SpokePusher({
    hubUrl: "http://hub:3000",
    token: "t",
    node: "pi4",
    intervalMs: 5000,
    bufferMax: 10_000,
    batchMax: 50,
    ...opts,
    source: () => {
      const s = makeSnapshot("pi4", Date.now(), ++cycle);
      return { ...s, oled: "A".repeat(padBytes) } as Snapshot;
    },
    emit: log,
    fetch: ((_url: string, init: RequestInit) => {
      if (!hubUp) return Promise.reject(new TypeError("connection refused"));
      const body = String(init.body);
      bodies.push(body.length);
      batches.push(JSON.parse(body).snapshots.map((s: Snapshot) => s.cycle));
      return Promise.resolve(Response.json({ ok: true, commands: [] }));
    }) as typeof fetch,
  });
  return { pusher, log, bodies, batches, up: () => (hubUp = true) };
}

Deno.test("SpokePusher keeps at most bufferMaxBytes of snapshots while the hub is away", async () => {
  const t = setup(10_000, { bufferMaxBytes: 100_000 });
  for (let i = 0; i < 40; i++) await t.pusher.tick();
  const buffered = t.pusher.stats().buffered;
  assert.ok(buffered >= 8 && buffered <= 10, `buffered ${buffered}`);
  assert.equal(t.pusher.stats().dropped, 40 - buffered);
  t.up();
  await t.pusher.tick();
  assert.equal(t.batches.flat().at(-1), 41, "the newest survive and go out");
  assert.ok(t.log.types().includes("spoke.dropped"));
});

Deno.test("SpokePusher cuts catch-up batches at batchMaxBytes so they fit the hub's body limit", async () => {
  const t = setup(30_000, { batchMaxBytes: 100_000 });
  for (let i = 0; i < 20; i++) await t.pusher.tick();
  t.up();
  await t.pusher.tick();
  assert.deepEqual(t.batches.flat(), [...Array(21).keys()].map((i) => i + 1), "all, in order");
  assert.ok(t.bodies.every((b) => b <= 100_000 + 2_000), `bodies ${t.bodies.join(", ")}`);
  assert.ok(t.batches.length >= 7, `${t.batches.length} requests`);
});
