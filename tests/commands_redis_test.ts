import assert from "node:assert/strict";
import { createClient } from "redis";
import { commandKey, RedisCommandClient, RedisCommandServer } from "../services/link/mod.ts";
import { freePort, startRedis } from "./_redis.ts";

Deno.test("RedisCommandClient and RedisCommandServer round-trip commands over a real redis-server", async () => {
  const redis = await startRedis();
  const seen: string[] = [];
  const server = new RedisCommandServer({
    url: redis.url,
    node: "pi4",
    handler: (req) => {
      seen.push(req.command.type);
      if (req.command.type === "set_name") {
        return Promise.reject(new Error("Cannot set name: anima not running"));
      }
      return Promise.resolve({ id: req.id, ok: true, data: { echoed: req.command } });
    },
  });
  const client = new RedisCommandClient({ url: redis.url });
  try {
    await server.start();
    const [a, b] = await Promise.all([
      client.send("pi4", { type: "buzzer", pattern: "triple" }, 3000),
      client.send("pi4", { type: "led", index: 2, r: 1, g: 2, b: 3 }, 3000),
    ]);
    assert.equal(a.ok, true);
    assert.deepEqual(a.data, { echoed: { type: "buzzer", pattern: "triple" } });
    assert.equal(b.ok, true);
    const c = await client.send("pi4", { type: "set_name", name: "Lumen" }, 3000);
    assert.equal(c.code, "failed");
    assert.equal(c.error, "Cannot set name: anima not running");
    assert.deepEqual(seen.sort(), ["buzzer", "led", "set_name"]);
  } finally {
    await client.close();
    await server.stop();
    await redis.stop();
  }
});

Deno.test("RedisCommandClient.send() times out when no broker serves the node, and the broker skips it later", async () => {
  const redis = await startRedis();
  const client = new RedisCommandClient({ url: redis.url });
  const discarded: string[] = [];
  let ran = 0;
  const server = new RedisCommandServer({
    url: redis.url,
    node: "late",
    handler: (req) => {
      ran++;
      return Promise.resolve({ id: req.id, ok: true });
    },
    onDiscard: (r) => discarded.push(r),
  });
  try {
    const t0 = Date.now();
    const r = await client.send("late", { type: "buzzer", pattern: "long" }, 300);
    assert.equal(r.code, "timeout");
    assert.match(r.error!, /^Cannot send "buzzer" to node "late": no answer within 300 ms$/);
    assert.ok(Date.now() - t0 < 2000);
    // The request is still queued; a broker starting now must not beep for it.
    await server.start();
    const probe = createClient({ url: redis.url });
    await probe.connect();
    for (let i = 0; i < 50 && (await probe.lLen(commandKey("late"))) > 0; i++) {
      await new Promise((res) => setTimeout(res, 20));
    }
    probe.destroy();
    const ok = await client.send("late", { type: "buzzer", pattern: "single" }, 3000);
    assert.equal(ok.ok, true);
    assert.equal(ran, 1);
    assert.equal(discarded.length, 1);
    assert.match(discarded[0], /deadline passed/);
  } finally {
    await client.close();
    await server.stop();
    await redis.stop();
  }
});

Deno.test("RedisCommandClient.send() reports an unreachable Redis without hanging", async () => {
  const port = freePort();
  const client = new RedisCommandClient({ url: `redis://127.0.0.1:${port}` });
  const r = await client.send("pi4", { type: "buzzer", pattern: "single" }, 500);
  assert.equal(r.code, "unreachable");
  assert.match(
    r.error!,
    new RegExp(`^Cannot send "buzzer" to node "pi4": Redis at redis://127.0.0.1:${port} unreachable`),
  );
  await client.close();
});

Deno.test("RedisCommandClient and RedisCommandServer recover after redis-server is killed and restarted", async () => {
  const redis = await startRedis();
  const server = new RedisCommandServer({
    url: redis.url,
    node: "hub",
    handler: (req) => Promise.resolve({ id: req.id, ok: true }),
  });
  const client = new RedisCommandClient({ url: redis.url });
  try {
    await server.start();
    assert.equal((await client.send("hub", { type: "buzzer", pattern: "single" }, 2000)).ok, true);
    await redis.kill();
    const down = await client.send("hub", { type: "buzzer", pattern: "single" }, 500);
    assert.equal(down.code, "unreachable");
    await redis.start();
    // The server replaces its broken connections within a poll round; the first send gets through.
    const r = await client.send("hub", { type: "buzzer", pattern: "single" }, 3000);
    assert.equal(r.ok, true, r.error ?? "");
  } finally {
    await client.close();
    await server.stop();
    await redis.stop();
  }
});
