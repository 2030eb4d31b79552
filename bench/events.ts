/**
 * Events: the cost of `emit()` on the caller, and sustained events/s into a real Redis
 * (batched Lua XADD+PUBLISH) vs a naive awaited PUBLISH + XADD per event. Each pair runs in
 * the same process against the same redis-server, repeated; rows report the median and spread.
 *
 * `deno run -A bench/events.ts` starts its own redis-server (tests/_redis.ts).
 *
 * @module
 */
import { createEvents, RedisConnection } from "../services/events/mod.ts";
import { startRedis } from "../tests/_redis.ts";
import { type BenchRow, median, spread } from "./row.ts";

const REPEATS = 5;
const BATCHED_EVENTS = 20_000;
const NAIVE_EVENTS = 2_000;
const DATA = {
  plugin: "bme680",
  sensor: "bme680-i2c",
  values: { temperature: 21.53, humidity: 41.2, iaq: 37 },
};

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) {
      throw new Error(`Cannot finish the events bench: timed out after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** µs per emit() on the caller, and events/s until all are stored. */
async function batched(url: string, prefix: string): Promise<{ emitUs: number; perSecond: number }> {
  const ev = createEvents({ redisUrl: url, node: "bench", keyPrefix: prefix, bufferMax: BATCHED_EVENTS });
  try {
    await until(() => ev.emitter.stats().connected, 5000);
    let emitMs = 0;
    const t0 = performance.now();
    for (let i = 0; i < BATCHED_EVENTS; i += 1000) {
      const c0 = performance.now();
      for (let j = 0; j < 1000; j++) ev.emitter.emit("reading", DATA);
      emitMs += performance.now() - c0;
      await new Promise((r) => setTimeout(r, 0)); // let the writer run between bursts, as a cycle would
    }
    await until(() => ev.emitter.stats().written >= BATCHED_EVENTS, 60_000);
    const totalMs = performance.now() - t0;
    return { emitUs: (emitMs * 1000) / BATCHED_EVENTS, perSecond: BATCHED_EVENTS / (totalMs / 1000) };
  } finally {
    await ev.close();
  }
}

/** The reference-001 way: build the envelope and await PUBLISH then XADD for every event. */
async function naive(url: string, prefix: string): Promise<{ emitUs: number; perSecond: number }> {
  const conn = new RedisConnection({ url });
  try {
    if (!(await conn.waitReady(5000))) {
      throw new Error(`Cannot run the naive peer: Redis at ${url} unreachable`);
    }
    const t0 = performance.now();
    for (let i = 0; i < NAIVE_EVENTS; i++) {
      const json = JSON.stringify({
        type: "reading",
        ts: new Date().toISOString(),
        cycle: 0,
        node: "bench",
        data: DATA,
      });
      await conn.client.publish(`${prefix}:events`, json);
      await conn.client.xAdd(`${prefix}:stream`, "*", { event: json }, {
        TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: 10_000 },
      });
    }
    const ms = performance.now() - t0;
    return { emitUs: (ms * 1000) / NAIVE_EVENTS, perSecond: NAIVE_EVENTS / (ms / 1000) };
  } finally {
    await conn.close();
  }
}

/** Run the events benchmark against a fresh redis-server. */
export async function benchEvents(): Promise<BenchRow[]> {
  const redis = await startRedis();
  try {
    const b: { emitUs: number; perSecond: number }[] = [];
    const n: { emitUs: number; perSecond: number }[] = [];
    for (let r = 0; r < REPEATS; r++) {
      b.push(await batched(redis.url, `bench${r}`));
      n.push(await naive(redis.url, `naive${r}`));
    }
    const emitUs = median(b.map((x) => x.emitUs));
    const naiveUs = median(n.map((x) => x.emitUs));
    const rate = median(b.map((x) => x.perSecond));
    const naiveRate = median(n.map((x) => x.perSecond));
    return [
      {
        name: "emit() cost on the caller",
        value: emitUs,
        unit: "µs/event",
        peer: "awaited PUBLISH+XADD per event",
        peerValue: naiveUs,
        ratio: naiveUs / emitUs,
        spread: spread(b.map((x) => x.emitUs)),
      },
      {
        name: "sustained events into Redis (batched)",
        value: rate,
        unit: "events/s",
        peer: "awaited PUBLISH+XADD per event",
        peerValue: naiveRate,
        ratio: rate / naiveRate,
        spread: spread(b.map((x) => x.perSecond), 0),
      },
      {
        name: "stored cost per event (batched)",
        value: 1e6 / rate,
        unit: "µs/event",
        peer: "awaited PUBLISH+XADD per event",
        peerValue: 1e6 / naiveRate,
        ratio: rate / naiveRate,
        spread: spread(b.map((x) => 1e6 / x.perSecond)),
      },
    ];
  } finally {
    await redis.stop();
  }
}

if (import.meta.main) {
  const rows = await benchEvents();
  console.table(rows);
}
