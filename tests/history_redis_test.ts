/**
 * History with Redis: the recorder follows the real event stream and, after a hub restart
 * (recorder and feed gone while the broker kept emitting), catches up from its last stored stream
 * id — no gap, no double count. Real redis-server, real stream ids.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createEvents } from "../services/events/mod.ts";
import { Recorder, RecorderFeed, RecorderWriter } from "../services/recorder/mod.ts";
import { startRedis } from "./_redis.ts";

const T0 = Date.UTC(2026, 10, 30);

function emitReadings(emit: (t: string, d: Record<string, unknown>) => void, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    emit("reading", {
      id: "n1:dht22",
      node: "n1",
      sensor: "dht22",
      plugin: "dht22",
      values: { temperature: i },
      units: { temperature: "°C" },
      timestamp: new Date(T0 + i * 1000).toISOString(),
    });
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`Cannot ${what}: timed out`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test({
  name: "history over Redis: a hub restart resumes from the last stored stream id with no gap",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "harvester-hist-redis-" });
    const path = `${dir}/history.db`;
    const now = () => T0 + 86_400_000;
    const broker = createEvents({ node: "n1", redisUrl: redis.url, keyPrefix: "hr" });
    const hubEvents = createEvents({ node: "hub", redisUrl: redis.url, keyPrefix: "hr" });
    const count = (r: Recorder) => {
      try {
        return r.query("n1", "dht22", "temperature", T0, T0 + 1_000_000, 1).buckets.length;
      } catch {
        return 0; // nothing recorded yet
      }
    };
    try {
      let reader = new Recorder({ path, now });
      let writer = new RecorderWriter({ path, now });
      let feed = new RecorderFeed({ recorder: reader, sink: writer, events: hubEvents.log, batchMs: 20 });
      await feed.start();
      await new Promise((r) => setTimeout(r, 300)); // the subscription is live
      emitReadings((t, d) => broker.emitter.emit(t, d), 0, 200);
      await until("200 readings recorded", () => count(reader) === 200);
      // The hub goes away: feed, writer and reader closed; the broker keeps emitting into the stream.
      feed.stop();
      await writer.close();
      reader.close();
      emitReadings((t, d) => broker.emitter.emit(t, d), 200, 500);
      await until("the stream holds them", async () => (await hubEvents.log.latest(600)).length >= 500);
      reader = new Recorder({ path, now });
      assert.match(String(reader.lastEventId), /^\d+-\d+$/, "a Redis stream id was stored");
      writer = new RecorderWriter({ path, now });
      feed = new RecorderFeed({
        recorder: reader,
        sink: writer,
        events: hubEvents.log,
        batchMs: 20,
        pageSize: 64,
      });
      await feed.start();
      emitReadings((t, d) => broker.emitter.emit(t, d), 500, 550);
      await until("all 550 readings", () => count(reader) >= 550);
      const h = reader.query("n1", "dht22", "temperature", T0, T0 + 1_000_000, 1);
      assert.deepEqual(
        h.buckets.map((b) => [b.mean, b.count]),
        Array.from({ length: 550 }, (_, i) => [i, 1]),
      );
      feed.stop();
      await writer.close();
      reader.close();
    } finally {
      await broker.close();
      await hubEvents.close();
      await redis.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
