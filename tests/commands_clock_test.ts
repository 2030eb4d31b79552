/**
 * The Redis command channel judges a request's deadline by Redis's own expiry, not by either
 * side's wall clock (issue 13): a broker whose clock stepped, or a hub on a skewed host, neither
 * drops live commands nor runs expired ones. Against a real redis-server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { aliveKey, commandKey, RedisCommandServer, resultKey } from "../services/link/redis_commands.ts";
import { startRedis } from "./_redis.ts";

Deno.test("RedisCommandServer runs a live request whose wall deadline looks past, skips an expired one", async () => {
  const redis = await startRedis();
  const node = `cc${crypto.randomUUID().slice(0, 6)}`;
  const discarded: string[] = [];
  const server = new RedisCommandServer({
    url: redis.url,
    node,
    handler: (req) => Promise.resolve({ id: req.id, ok: true, data: req.command }),
    onDiscard: (r) => discarded.push(r),
  });
  const c = createClient({ url: redis.url });
  c.on("error", () => {});
  await c.connect();
  try {
    await server.start();
    // The hub's clock is an hour behind the broker's: by wall time this looks long expired.
    const live = {
      id: "live-1",
      node,
      command: { type: "health" },
      deadline: Date.now() - 3_600_000,
      ttl_ms: 10_000,
    };
    await c.multi().set(aliveKey(live.id), "1", { PX: 10_000 }).lPush(commandKey(node), JSON.stringify(live))
      .exec();
    const got = await c.blPop(resultKey(live.id), 10);
    assert.ok(got, "the live request ran");
    assert.equal(JSON.parse(got.element).ok, true);

    // An hour ahead instead, but its caller gave up (the alive key expired): skipped.
    const dead = {
      id: "dead-1",
      node,
      command: { type: "health" },
      deadline: Date.now() + 3_600_000,
      ttl_ms: 50,
    };
    await c.multi().set(aliveKey(dead.id), "1", { PX: 50 }).exec();
    await new Promise((r) => setTimeout(r, 150));
    await c.lPush(commandKey(node), JSON.stringify(dead));
    const deadline = Date.now() + 5000;
    while (discarded.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(discarded[0] ?? "", /dead-1: its deadline passed/);
    assert.equal(await c.lLen(resultKey(dead.id)), 0, "no result for a request nobody waits for");
  } finally {
    c.destroy();
    await server.stop();
    await redis.stop();
  }
});
