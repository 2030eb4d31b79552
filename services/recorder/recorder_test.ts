import assert from "node:assert/strict";
import { HistoryQueryError, Recorder } from "./recorder.ts";
import { RecorderFeed } from "./feed.ts";
import { RecorderWriter } from "./writer.ts";
import { MemoryEventStore } from "../events/memory_store.ts";
import type { ReadingRecord } from "../shm/snapshot.ts";

const T0 = Date.UTC(2026, 10, 30, 0, 0, 0);

function reading(ts: number, values: ReadingRecord["values"], sensor = "bme680", node = "n1"): ReadingRecord {
  return {
    id: `${node}:${sensor}`,
    node,
    sensor,
    plugin: sensor,
    values,
    units: { temperature: "°C", pressure: "hPa" },
    timestamp: new Date(ts).toISOString(),
  };
}

async function tempDb(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-rec-" });
  return { dir, path: `${dir}/history.db` };
}

Deno.test("Recorder: raw, 1-minute and 1-hour tiers agree with the data they summarise", async () => {
  const { dir, path } = await tempDb();
  const now = T0 + 3 * 3_600_000;
  const rec = new Recorder({ path, now: () => now });
  try {
    // Two hours, one reading every 10 s; value = minute index + (second / 100).
    const all: { ts: number; v: number }[] = [];
    const batch: ReadingRecord[] = [];
    for (let ts = T0; ts < T0 + 2 * 3_600_000; ts += 10_000) {
      const v = Math.floor((ts - T0) / 60_000) + ((ts - T0) % 60_000) / 100_000;
      all.push({ ts, v });
      batch.push(reading(ts, { temperature: v, iaq_status: ts < T0 + 3_600_000 ? "calibrating" : "ok" }));
    }
    assert.equal(rec.record(batch), all.length + 2, "numbers, plus the two state changes");
    assert.equal(rec.record(batch), 0, "the same readings again store nothing");
    rec.settle(); // the rollup tiers trail raw by about a minute; settle() closes the open ones
    const expect = (from: number, to: number) => {
      const xs = all.filter((p) => p.ts >= from && p.ts < to).map((p) => p.v);
      return {
        min: Math.min(...xs),
        max: Math.max(...xs),
        mean: xs.reduce((a, b) => a + b, 0) / xs.length,
        count: xs.length,
      };
    };
    const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
    for (const [step, tier] of [[30, "raw"], [300, "1m"], [3600, "1h"]] as const) {
      const h = rec.query("n1", "bme680", "temperature", T0, T0 + 2 * 3_600_000, step);
      assert.equal(h.tier, tier, `step ${step}`);
      assert.equal(h.unit, "°C");
      assert.equal(h.buckets.length, (2 * 3600) / step);
      for (const b of h.buckets) {
        const from = b.t;
        const e = expect(from, from + step * 1000);
        assert.ok(
          close(b.min, e.min) && close(b.max, e.max) && close(b.mean, e.mean) && b.count === e.count,
          `${tier} ${b.t}`,
        );
      }
    }
    const stats = rec.statistics("n1", "bme680", "temperature", T0, T0 + 2 * 3_600_000);
    const e = expect(T0, T0 + 2 * 3_600_000);
    assert.ok(
      close(stats.min!, e.min) && close(stats.max!, e.max) && close(stats.mean!, e.mean) &&
        stats.count === e.count,
    );
    assert.throws(() => rec.query("n1", "bme680", "temperature", T0, T0 - 1, 60), HistoryQueryError);
    assert.throws(
      () => rec.query("n1", "bme680", "temperature", T0, T0 + 365 * 86_400_000, 1),
      /more than 50000/,
    );
    assert.throws(() => rec.query("n1", "bme680", "nope", T0, T0 + 1000, 1), /no recorded field 'nope'/);
    assert.deepEqual(rec.series().map((s) => s.field), ["iaq_status", "temperature"]);
  } finally {
    rec.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Recorder: a late value (a spoke's buffered push) re-rolls its minute and hour; a restart rolls up what was open", async () => {
  const { dir, path } = await tempDb();
  const now = T0 + 86_400_000;
  let rec = new Recorder({ path, now: () => now });
  try {
    const batch: ReadingRecord[] = [];
    for (let i = 0; i < 180; i++) batch.push(reading(T0 + i * 1000, { temperature: 20 }));
    rec.record(batch);
    rec.settle();
    rec.record([reading(T0 + 30_500, { temperature: 99 })]); // late, into minute 0
    rec.record([reading(T0 + 200_000, { temperature: 21 })]); // and a new minute
    rec.settle();
    const m = rec.query("n1", "bme680", "temperature", T0, T0 + 180_000, 60).buckets;
    assert.equal(m[0].count, 61);
    assert.equal(m[0].max, 99);
    assert.equal(rec.query("n1", "bme680", "temperature", T0, T0 + 3_600_000, 3600).buckets[0].max, 99);
    // Values recorded but not rolled up when the process died are rolled up by the next one.
    rec.record([reading(T0 + 400_000, { temperature: 55 })]);
    rec = new Recorder({ path, now: () => now }); // the old one is dropped without close()
    rec.record([reading(T0 + 500_000, { temperature: 22 })]);
    rec.settle();
    const after = rec.query("n1", "bme680", "temperature", T0 + 360_000, T0 + 420_000, 60).buckets;
    assert.deepEqual(after.map((b) => [b.max, b.count]), [[55, 1]]);
  } finally {
    rec.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Recorder: retention drops each tier after its time; the size ceiling prunes the oldest first and says so", async () => {
  const { dir, path } = await tempDb();
  let now = T0;
  const lines: string[] = [];
  const rec = new Recorder({
    path,
    now: () => now,
    rawDays: 1,
    minuteDays: 3,
    hourYears: 1,
    maxMb: 1000,
    log: (_, m) => lines.push(m),
  });
  try {
    for (let d = 0; d < 5; d++) {
      const batch: ReadingRecord[] = [];
      for (let m = 0; m < 1440; m += 10) {
        batch.push(reading(T0 + d * 86_400_000 + m * 60_000, { temperature: d }));
      }
      rec.record(batch);
    }
    now = T0 + 5 * 86_400_000;
    rec.prune();
    const span = (step: number) => rec.query("n1", "bme680", "temperature", T0, now, step);
    assert.equal(span(3600).tier, "1h");
    assert.equal(span(3600).buckets[0].t, T0, "hours are kept for a year");
    const minutes = rec.query("n1", "bme680", "temperature", now - 3 * 86_400_000, now, 600);
    assert.equal(minutes.tier, "1m");
    assert.ok(minutes.buckets[0].t >= now - 3 * 86_400_000, "minutes older than 3 days are gone");
    const raw = rec.query("n1", "bme680", "temperature", now - 86_400_000, now, 30);
    assert.equal(raw.tier, "raw");
    assert.equal(raw.buckets.length, 144, "the last day is there raw (one reading per 10 min)");
    const older = rec.query("n1", "bme680", "temperature", now - 2 * 86_400_000, now - 86_400_000, 30);
    assert.equal(older.tier, "1m", "older than raw retention: answered from the minute tier");
    assert.equal(older.buckets.length, 144);

    // Size ceiling: lots of series; a 1 MB ceiling must hold and be reported.
    const big = new Recorder({
      path: `${dir}/big.db`,
      now: () => now,
      maxMb: 1,
      log: (_, m) => lines.push(m),
    });
    for (let f = 0; f < 20; f++) {
      const batch: ReadingRecord[] = [];
      for (let i = 0; i < 3000; i++) {
        batch.push(reading(now - 86_400_000 + i * 20_000, { [`f${f}`]: i }, `s${f}`));
      }
      big.record(batch);
    }
    big.prune();
    assert.ok(big.bytes() <= 1024 * 1024, `${big.bytes()} bytes over the ceiling`);
    assert.ok(
      lines.some((l) => /over the 1 MB ceiling, dropped \d+ raw rows before/.test(l)),
      lines.join("\n"),
    );
    big.close();
  } finally {
    rec.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RecorderFeed: a restart continues from the last stored id, with no gap and no double count", async () => {
  const { dir, path } = await tempDb();
  const log = new MemoryEventStore({ capacity: 10_000 });
  const emit = (ts: number, v: number) =>
    log.append({
      type: "reading",
      ts: new Date(ts).toISOString(),
      cycle: 0,
      node: "n1",
      data: { ...reading(ts, { temperature: v }) },
    });
  try {
    let rec = new Recorder({ path, now: () => T0 + 86_400_000 });
    let feed = new RecorderFeed({ recorder: rec, events: log, batchMs: 5 });
    await feed.start();
    for (let i = 0; i < 50; i++) emit(T0 + i * 1000, i);
    feed.stop();
    rec.close();
    for (let i = 50; i < 120; i++) emit(T0 + i * 1000, i); // while the hub is down
    rec = new Recorder({ path, now: () => T0 + 86_400_000 });
    assert.ok(rec.lastEventId, "the last id survived the restart");
    feed = new RecorderFeed({ recorder: rec, events: log, batchMs: 5, pageSize: 25 });
    await feed.start();
    for (let i = 120; i < 150; i++) emit(T0 + i * 1000, i);
    feed.stop();
    const h = rec.query("n1", "bme680", "temperature", T0, T0 + 150_000, 1);
    assert.equal(h.buckets.length, 150, "every second from 0 to 149, once");
    assert.deepEqual(h.buckets.map((b) => b.mean), Array.from({ length: 150 }, (_, i) => i));
    rec.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "Recorder: a full disk turns it degraded ('not recording') once, and it recovers when space returns",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-rec-full-" });
    const mount = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=600k", "tmpfs", dir] })
      .output();
    assert.ok(mount.success, "mount a small tmpfs (root)");
    const lines: string[] = [];
    await Deno.writeFile(`${dir}/filler`, new Uint8Array(200 * 1024));
    const rec = new Recorder({ path: `${dir}/h.db`, now: () => T0, log: (l, m) => lines.push(`${l} ${m}`) });
    try {
      let i = 0;
      for (let n = 0; rec.status().state === "ok" && n < 400; n++) {
        const batch: ReadingRecord[] = [];
        for (let k = 0; k < 500; k++, i++) {
          batch.push(reading(T0 + i * 1000, { temperature: i, pressure: i * 2 }));
        }
        rec.record(batch);
      }
      const s = rec.status();
      assert.equal(s.state, "degraded");
      assert.match(s.reason!, /^not recording: .*(full|disk)/i);
      rec.record([reading(T0 - 5000, { temperature: 1 })]);
      assert.equal(lines.filter((l) => l.startsWith("error")).length, 1, "said once per episode");
      await Deno.remove(`${dir}/filler`);
      rec.record([reading(T0 + 10_000_000, { temperature: 1 })]);
      assert.equal(rec.status().state, "ok", "recording again once there is space");
      assert.ok(lines.some((l) => l.startsWith("info") && l.includes("recording again")));
    } finally {
      rec.close();
      await new Deno.Command("umount", { args: [dir] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "RecorderWriter: batches written by the worker thread are what a reader on the same file sees",
  sanitizeResources: false,
  fn: async () => {
    const { dir, path } = await tempDb();
    const now = T0 + 86_400_000;
    const reader = new Recorder({ path, now: () => now });
    const writer = new RecorderWriter({ path, now: () => now });
    try {
      for (let i = 0; i < 120; i++) writer.record([reading(T0 + i * 1000, { temperature: i })], `1-${i}`);
      await writer.close();
      assert.equal(writer.state().state, "ok");
      const h = reader.query("n1", "bme680", "temperature", T0, T0 + 120_000, 1);
      assert.deepEqual(h.buckets.map((b) => b.mean), Array.from({ length: 120 }, (_, i) => i));
      const m = reader.query("n1", "bme680", "temperature", T0, T0 + 120_000, 60);
      assert.deepEqual(m.buckets.map((b) => b.count), [60, 60], "the writer settled its rollups at close");
      assert.equal(new Recorder({ path, now: () => now }).lastEventId, "1-119");
    } finally {
      reader.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("Recorder: a source that invents field names cannot grow it past maxSeries; known series go on", async () => {
  const { dir, path } = await tempDb();
  const lines: string[] = [];
  const rec = new Recorder({ path, now: () => T0 + 86_400_000, maxSeries: 50, log: (_, m) => lines.push(m) });
  try {
    rec.record([reading(T0, { temperature: 1 })]);
    for (let i = 0; i < 20; i++) {
      const values: Record<string, number> = {};
      for (let f = 0; f < 100; f++) values[`evil_${i}_${f}`] = f;
      rec.record([reading(T0 + i * 1000, values, "flood", "spoke")]);
    }
    assert.equal(rec.series().length, 50);
    assert.equal(rec.refusedSeries, 20 * 100 - 49);
    assert.equal(lines.filter((l) => /series recorded; new ones/.test(l)).length, 1, "said once");
    rec.record([reading(T0 + 60_000, { temperature: 2 })]);
    assert.equal(rec.query("n1", "bme680", "temperature", T0, T0 + 120_000, 1).buckets.length, 2);
  } finally {
    rec.close();
    await Deno.remove(dir, { recursive: true });
  }
});
