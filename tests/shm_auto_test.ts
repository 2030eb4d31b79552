/**
 * `auto` shared state against a real redis-server that is killed and restarted mid-run:
 * it switches to the file without a restart, back to Redis when it returns, and says so.
 */
import assert from "node:assert/strict";
import { type AutoSharedState, createSharedState, RedisSharedState } from "../services/shm/mod.ts";
import { makeSnapshot } from "../services/shm/_test_snapshot.ts";
import { startRedis } from "./_redis.ts";

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`Cannot wait for ${what}: still false after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sink() {
  const events: { type: string; data: Record<string, unknown> }[] = [];
  return {
    events,
    emit: (type: string, data: Record<string, unknown> = {}) => void events.push({ type, data }),
  };
}

Deno.test("AutoSharedState falls back to the file when Redis dies and returns when it is back", async () => {
  const redis = await startRedis();
  const dir = await Deno.makeTempDir();
  const ev = sink();
  const state = await createSharedState({
    backend: "auto",
    node: "pi-1",
    redisUrl: redis.url,
    fileDir: dir,
    emit: ev,
  }) as AutoSharedState;
  const probe = new RedisSharedState({ node: "pi-1", url: redis.url });
  try {
    assert.equal(state.kind, "redis");
    await state.write(makeSnapshot("pi-1", 1));
    assert.equal((await state.read())?.cycle, 1);
    assert.ok(await probe.conn.waitReady(2000));
    assert.equal((await probe.read())?.cycle, 1, "stored under harvester:snapshot:pi-1");
    assert.deepEqual(await probe.nodes(), ["pi-1"]);

    await redis.kill();
    await state.write(makeSnapshot("pi-1", 2)); // must not throw
    assert.equal(state.kind, "file");
    assert.equal((await state.read())?.cycle, 2);
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/pi-1.json`)).cycle, 2);
    assert.deepEqual(ev.events.map((e) => e.type), ["shm.fallback"]);
    await state.write(makeSnapshot("pi-1", 3));
    assert.equal(state.fallbacks, 1, "one switch, one event");

    await redis.start();
    await waitFor("Redis reconnected", () => state.redis.ready);
    await state.write(makeSnapshot("pi-1", 4)); // on the file, probes Redis in the background
    await waitFor("back on Redis", () => state.kind === "redis");
    await state.write(makeSnapshot("pi-1", 5));
    assert.deepEqual(ev.events.map((e) => e.type), ["shm.fallback", "shm.recovered"]);
    assert.equal(typeof ev.events[1].data.downMs, "number");
    await waitFor("probe reconnected", () => probe.ready);
    assert.equal((await probe.read())?.cycle, 5, "Redis holds the newest snapshot again");
    assert.equal((await state.read())?.cycle, 5);
  } finally {
    await probe.close();
    await state.close();
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AutoSharedState starts on the file when Redis is down at start, and a hung Redis does not stall writes", async () => {
  const redis = await startRedis();
  const port = redis.port;
  await redis.kill();
  const dir = await Deno.makeTempDir();
  const ev = sink();
  const state = await createSharedState({
    backend: "auto",
    node: "pi-2",
    redisUrl: `redis://127.0.0.1:${port}`,
    fileDir: dir,
    emit: ev,
    connectTimeoutMs: 200,
  }) as AutoSharedState;
  try {
    assert.equal(state.kind, "file");
    assert.deepEqual(ev.events.map((e) => [e.type, e.data.reason]), [[
      "shm.fallback",
      "Redis unreachable at start",
    ]]);
    await state.write(makeSnapshot("pi-2", 1));
    await redis.start();
    await waitFor("Redis connected", () => state.redis.ready);
    await state.write(makeSnapshot("pi-2", 2));
    await waitFor("on Redis", () => state.kind === "redis");

    redis.pause(); // SIGSTOP: the socket stays open, nothing answers
    const t0 = performance.now();
    await state.write(makeSnapshot("pi-2", 3));
    const took = performance.now() - t0;
    assert.equal(state.kind, "file");
    assert.ok(took < 1500, `write fell back within the 1000 ms write timeout (${took.toFixed(0)} ms)`);
    const t1 = performance.now();
    await state.write(makeSnapshot("pi-2", 4));
    assert.ok(performance.now() - t1 < 100, "while on the file, a hung probe does not slow writes");
    assert.equal((await state.read())?.cycle, 4);
    redis.resume();
    await state.write(makeSnapshot("pi-2", 5));
    await waitFor("back on Redis after SIGCONT", () => state.kind === "redis");
  } finally {
    redis.resume();
    await state.close();
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RedisSharedState: a corrupt key reads as null with an error event, never a throw", async () => {
  const redis = await startRedis();
  const ev = sink();
  const state = new RedisSharedState({ node: "pi-3", url: redis.url, emit: ev });
  try {
    assert.ok(await state.conn.waitReady(3000));
    await state.conn.client.set("harvester:snapshot:pi-3", '{"timestamp": "2026-01-01T00:00:00Z", "node"');
    assert.equal(await state.read(), null);
    await state.conn.client.set(
      "harvester:snapshot:pi-3",
      JSON.stringify({ ...makeSnapshot("pi-3", 1), readings: [] }),
    );
    assert.equal(await state.read(), null);
    assert.deepEqual(ev.events.map((e) => [e.type, e.data.backend]), [["error", "redis"], [
      "error",
      "redis",
    ]]);
    assert.match(String(ev.events[1].data.message), /harvester:snapshot:pi-3.*'readings'/);
  } finally {
    await state.close();
    await redis.stop();
  }
});
