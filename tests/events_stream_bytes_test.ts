/**
 * The Redis stream is bounded in bytes as well as count (issue 13), against a real redis-server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { createEvents } from "../services/events/mod.ts";
import { startRedis } from "./_redis.ts";

Deno.test("createEvents() with Redis keeps the stream near streamMaxBytes when events are large", async () => {
  const redis = await startRedis();
  const prefix = `bytes${crypto.randomUUID().slice(0, 6)}`;
  const admin = createClient({ url: redis.url });
  admin.on("error", () => {});
  await admin.connect();
  try {
    const e2 = createEvents({
      redisUrl: redis.url,
      node: "n",
      keyPrefix: prefix,
      streamMaxLen: 10_000,
      streamMaxBytes: 1024 * 1024,
    });
    for (let i = 0; i < 2000; i++) e2.emitter.emit("blob", { i, pad: "p".repeat(4000) });
    await e2.close();
    const entries = await admin.xRange(`${prefix}:stream`, "-", "+");
    const bytes = entries.reduce((s, e) => s + (e.message.event?.length ?? 0), 0);
    console.log(
      `stream after 2000 events of 4 KB: ${entries.length} entries, ${(bytes / 1024).toFixed(0)} KiB`,
    );
    assert.ok(entries.length < 500, `${entries.length} entries kept`);
    assert.ok(bytes <= 1.6 * 1024 * 1024, `${bytes} bytes kept`);
    assert.equal(JSON.parse(entries.at(-1)!.message.event).data.i, 1999, "the newest are kept");
  } finally {
    admin.destroy();
    await redis.stop();
  }
});
