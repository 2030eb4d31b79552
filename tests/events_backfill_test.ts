/**
 * The reconnect backfill never skips stored events (issue 14: a hub's feed once skipped 12 cycles
 * after a reconnect): while a writer emits numbered events, the reader's subscription and its
 * command connection are killed again and again (`CLIENT KILL`); every number arrives once, in order.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createEvents, RedisConnection } from "../services/events/mod.ts";
import { startRedis } from "./_redis.ts";

Deno.test({
  name: "Redis event log: gap-free, duplicate-free sequence across forced reconnects",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const redis = await startRedis();
    const writer = createEvents({ node: "n1", redisUrl: redis.url });
    const reader = createEvents({ node: "hub", redisUrl: redis.url });
    const admin = new RedisConnection({ url: redis.url, name: "test-admin" });
    const got: number[] = [];
    const off = reader.log.subscribe((e) => {
      if (e.type === "seq") got.push(Number(e.data.n));
    });
    let n = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 4; i++) writer.emitter.emit("seq", { n: n++ });
    }, 5);
    try {
      assert.ok(await admin.waitReady(3000));
      const t0 = performance.now();
      while (got.length === 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      let kills = 0;
      for (let round = 0; round < 8; round++) {
        await new Promise((r) => setTimeout(r, 150));
        // Alternate: the subscriber alone, then every reader connection (subscriber + backfill reads).
        const filter = round % 2 === 0 ? ["TYPE", "pubsub"] : ["TYPE", "normal"];
        const list = String(await admin.client.sendCommand(["CLIENT", "LIST", ...filter]));
        for (const line of list.split("\n")) {
          const id = /\bid=(\d+)/.exec(line)?.[1];
          const name = /\bname=(\S*)/.exec(line)?.[1] ?? "";
          if (id && name.startsWith("harvester-events-")) {
            await admin.client.sendCommand(["CLIENT", "KILL", "ID", id]);
            kills++;
          }
        }
      }
      clearInterval(timer);
      assert.ok(kills >= 8, `only ${kills} reader connections killed`);
      const last = n - 1;
      const t1 = performance.now();
      while (!got.includes(last) && performance.now() - t1 < 10_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const first = got[0];
      const expected = Array.from({ length: last - first + 1 }, (_, i) => first + i);
      const missing = expected.filter((v) => !got.includes(v));
      const dupes = got.length - new Set(got).size;
      console.log(
        `emitted ${n}, received ${got.length} from ${first}, missing ${missing.length}, duplicates ${dupes}`,
      );
      assert.deepEqual(missing, [], `missing after reconnects: ${missing.slice(0, 20).join(",")}`);
      assert.equal(dupes, 0);
      assert.deepEqual(got, [...got].sort((a, b) => a - b), "out of order");
    } finally {
      clearInterval(timer);
      off();
      await admin.close();
      await writer.close();
      await reader.close();
      await redis.stop();
    }
  },
});
