/**
 * Events against a real redis-server: envelope in channel and stream, MAXLEN trimming,
 * batching, kill/restart with a bounded buffer, SIGSTOP/SIGCONT, and subscriber backfill.
 */
import assert from "node:assert/strict";
import { createEvents, type EventEnvelope, RedisConnection, RedisEventLog } from "../services/events/mod.ts";
import { startRedis } from "./_redis.ts";

async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`Cannot wait for ${what}: still false after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function raw(url: string): Promise<RedisConnection> {
  const c = new RedisConnection({ url });
  assert.ok(await c.waitReady(3000));
  return c;
}

async function streamEvents(c: RedisConnection, key = "harvester:stream"): Promise<EventEnvelope[]> {
  const entries = await c.client.xRange(key, "-", "+");
  return entries.map((e) => ({ id: e.id, ...JSON.parse(e.message.event as string) }));
}

async function commandCalls(c: RedisConnection, cmd: string): Promise<number> {
  const info = await c.client.info("commandstats");
  const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info);
  return m ? Number(m[1]) : 0;
}

Deno.test("createEvents() with Redis: PUBLISH on harvester:events and XADD to harvester:stream", async () => {
  const redis = await startRedis();
  const probe = await raw(redis.url);
  const sub = await raw(redis.url);
  const live: EventEnvelope[] = [];
  await sub.client.subscribe("harvester:events", (m: string) => live.push(JSON.parse(m)));
  const ev = createEvents({ redisUrl: redis.url, node: "pi-7" });
  try {
    await waitFor("emitter connected", () => ev.emitter.stats().connected);
    ev.emitter.setCycle(3);
    ev.emitter.emit("cycle.start", { session: 1 });
    ev.emitter.emit("reading", { sensor: "bme680", t: 21.5 });
    await waitFor("2 live events", () => live.length === 2);
    const stored = await streamEvents(probe);
    assert.equal(stored.length, 2);
    for (const [i, type] of ["cycle.start", "reading"].entries()) {
      assert.equal(stored[i].type, type);
      assert.equal(stored[i].node, "pi-7");
      assert.equal(stored[i].cycle, 3);
      assert.match(stored[i].ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(live[i], stored[i], "the published copy carries the stream id");
    }
    assert.deepEqual(stored[1].data, { sensor: "bme680", t: 21.5 });
    const read = await ev.log.latest(10);
    assert.deepEqual(read, stored);
    assert.deepEqual((await ev.log.query({ type: "read" })).map((e) => e.type), ["reading"]);
    assert.deepEqual(await ev.log.query({ since: stored[0].id }), [stored[1]]);
    assert.deepEqual(await ev.log.query({ since: "1970-01-01T00:00:00Z", limit: 1 }), [stored[0]]);
  } finally {
    await ev.close();
    await sub.close();
    await probe.close();
    await redis.stop();
  }
});

Deno.test("Emitter trims the stream near streamMaxLen and batches round trips", async () => {
  const redis = await startRedis();
  const probe = await raw(redis.url);
  const ev = createEvents({ redisUrl: redis.url, node: "n", streamMaxLen: 100, batchMax: 250 });
  try {
    await waitFor("emitter connected", () => ev.emitter.stats().connected);
    const before = await commandCalls(probe, "evalsha") + await commandCalls(probe, "eval");
    for (let i = 0; i < 3000; i++) ev.emitter.emit("tick", { i });
    await waitFor("all written", () => ev.emitter.stats().written === 3000);
    const trips = await commandCalls(probe, "evalsha") + await commandCalls(probe, "eval") - before;
    const stats = ev.emitter.stats();
    // One extra call per connection: the first EVALSHA misses the script cache (NOSCRIPT) and is re-sent as EVAL.
    assert.ok(trips - stats.batches <= 2, `${trips} script calls for ${stats.batches} batches`);
    assert.ok(stats.batches <= 13, `3000 events in ${stats.batches} round trips (batchMax 250)`);
    const len = await probe.client.xLen("harvester:stream");
    assert.ok(len >= 100 && len < 300, `XLEN ${len} is near MAXLEN ~ 100`);
    const newest = await ev.log.latest(1);
    assert.equal(newest[0].data.i, 2999);
  } finally {
    await ev.close();
    await probe.close();
    await redis.stop();
  }
});

Deno.test("Emitter survives a Redis kill: buffers the newest bufferMax, flushes in order, reports the overflow", async () => {
  const redis = await startRedis();
  const ev = createEvents({ redisUrl: redis.url, node: "n", bufferMax: 500, batchMax: 100 });
  try {
    await waitFor("emitter connected", () => ev.emitter.stats().connected);
    for (let i = 0; i < 50; i++) ev.emitter.emit("tick", { i });
    await waitFor("first 50 written", () => ev.emitter.stats().written === 50);
    await redis.kill();
    await waitFor("emitter sees the loss", () => !ev.emitter.stats().connected);
    let slowest = 0;
    for (let i = 50; i < 1250; i++) {
      const t0 = performance.now();
      ev.emitter.emit("tick", { i });
      slowest = Math.max(slowest, performance.now() - t0);
    }
    const down = ev.emitter.stats();
    assert.equal(down.buffered, 500);
    assert.equal(down.dropped, 700);
    assert.ok(slowest < 20, `emit() took ${slowest.toFixed(2)} ms while Redis was down`);
    await redis.start();
    await waitFor("buffer flushed", () => ev.emitter.stats().buffered === 0 && ev.emitter.stats().connected);
    const probe = await raw(redis.url);
    try {
      await waitFor("drop report stored", async () => (await probe.client.xLen("harvester:stream")) === 501);
      const stored = await streamEvents(probe);
      const ticks = stored.filter((e) => e.type === "tick").map((e) => e.data.i);
      assert.deepEqual(ticks, [...Array(500).keys()].map((i) => i + 750), "the newest 500, in order");
      const report = stored.filter((e) => e.type === "events.dropped");
      assert.equal(report.length, 1);
      assert.equal(report[0].data.count, 700);
    } finally {
      await probe.close();
    }
    ev.emitter.emit("after", {});
    await waitFor("written after restart", () => ev.emitter.stats().buffered === 0);
  } finally {
    await ev.close();
    await redis.stop();
  }
});

Deno.test("Emitter under SIGSTOP/SIGCONT: emit() does not block and nothing is lost", async () => {
  const redis = await startRedis();
  const ev = createEvents({ redisUrl: redis.url, node: "n" });
  try {
    await waitFor("emitter connected", () => ev.emitter.stats().connected);
    ev.emitter.emit("before", {});
    await waitFor("written", () => ev.emitter.stats().written === 1);
    redis.pause();
    let slowest = 0;
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      ev.emitter.emit("paused", { i });
      slowest = Math.max(slowest, performance.now() - t0);
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(ev.emitter.stats().written, 1, "nothing gets through a stopped server");
    assert.ok(slowest < 20, `emit() took ${slowest.toFixed(2)} ms while Redis was stopped`);
    redis.resume();
    await waitFor("all written", () => ev.emitter.stats().written === 2001);
    const probe = await raw(redis.url);
    try {
      const stored = await streamEvents(probe);
      assert.deepEqual(stored.filter((e) => e.type === "paused").map((e) => e.data.i), [
        ...Array(2000).keys(),
      ]);
      assert.equal(ev.emitter.stats().dropped, 0);
    } finally {
      await probe.close();
    }
  } finally {
    redis.resume();
    await ev.close();
    await redis.stop();
  }
});

Deno.test("Emitter.emit() never throws after close(), with Redis gone", async () => {
  const redis = await startRedis();
  const ev = createEvents({ redisUrl: redis.url, node: "n", closeTimeoutMs: 100 });
  await waitFor("emitter connected", () => ev.emitter.stats().connected);
  await redis.kill();
  ev.emitter.emit("pending", {});
  await ev.close();
  ev.emitter.emit("late", { x: 1 });
  assert.equal(ev.emitter.stats().afterClose, 1);
  await redis.stop();
});

Deno.test("RedisEventLog.subscribe() backfills events stored while its connection was down", async () => {
  const redis = await startRedis();
  const admin = await raw(redis.url);
  const ev = createEvents({ redisUrl: redis.url, node: "n" });
  const log = new RedisEventLog({ url: redis.url });
  const got: EventEnvelope[] = [];
  log.subscribe((e) => got.push(e));
  try {
    assert.ok(await log.waitSubscribed(3000));
    ev.emitter.emit("live", { i: 0 });
    await waitFor("live event", () => got.length === 1);
    // Drop the subscriber and store an event that is never published, in one transaction:
    // only a backfill from the stream can deliver it.
    const list = await admin.client.sendCommand(["CLIENT", "LIST", "TYPE", "pubsub"]) as string;
    const ids = [...list.matchAll(/id=(\d+)/g)].map((m) => m[1]);
    assert.equal(ids.length, 1);
    const envelope = { type: "gap", ts: new Date().toISOString(), cycle: 0, node: "n", data: { i: 1 } };
    await admin.client.multi()
      .addCommand(["CLIENT", "KILL", "ID", ids[0]])
      .addCommand(["XADD", "harvester:stream", "*", "event", JSON.stringify(envelope)])
      .exec();
    await waitFor("backfilled event", () => got.length === 2);
    assert.equal(got[1].type, "gap");
    assert.equal(log.backfilled, 1);
    ev.emitter.emit("live", { i: 2 });
    await waitFor("live after reconnect", () => got.length === 3);

    // A real restart: everything emitted before, during and after arrives once, in order.
    await redis.kill();
    for (let i = 3; i < 53; i++) ev.emitter.emit("down", { i });
    await redis.start();
    for (let i = 53; i < 63; i++) ev.emitter.emit("up", { i });
    await waitFor("63 events", () => got.length === 63, 8000);
    assert.deepEqual(got.map((e) => e.data.i), [...Array(63).keys()]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 63, "no duplicates");
  } finally {
    await log.close();
    await ev.close();
    await admin.close();
    await redis.stop();
  }
});

Deno.test("RedisConnection: no silent offline queue — a command while Redis is down fails at once", async () => {
  const redis = await startRedis();
  const c = await raw(redis.url);
  try {
    await redis.kill();
    // An idle socket learns of the peer's death from the kernel; under load that can lag, so a ping
    // (which fails on the dead socket) makes sure the client has noticed before we measure.
    c.client.ping().catch(() => {});
    await waitFor("client sees the loss", () => !c.ready, 15_000);
    const t0 = performance.now();
    await assert.rejects(() => c.client.get("k"), { message: "The client is offline" }); // ClientOfflineError
    assert.ok(performance.now() - t0 < 50, "rejected immediately, not queued until reconnect");
    assert.ok(c.errors > 0, "the client's 'error' events were caught and counted");
    await redis.start();
    assert.ok(await c.waitReady(5000));
    assert.equal(await c.client.get("k"), null);
  } finally {
    await c.close();
    await redis.stop();
  }
});

Deno.test("RedisConnection checks readiness: a server that stops answering is dropped and reconnected", async () => {
  const redis = await startRedis();
  const c = new RedisConnection({ url: redis.url, healthCheckMs: 200, healthTimeoutMs: 300 });
  try {
    assert.ok(await c.waitReady(3000));
    redis.pause(); // SIGSTOP: the socket stays open, nothing answers
    await waitFor("the liveness check to notice", () => !c.ready, 5000);
    assert.ok(c.healthFailures >= 1);
    assert.match(c.lastError ?? "", /no answer to PING within 300 ms|offline|closed/);
    redis.resume();
    assert.ok(await c.waitReady(10_000), "reconnected once the server answers again");
    assert.equal(await c.client.ping(), "PONG");
  } finally {
    redis.resume();
    await c.close();
    await redis.stop();
  }
});
