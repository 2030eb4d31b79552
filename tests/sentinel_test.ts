/**
 * Scale-out on a real Sentinel deployment (issue 14): a master, a replica and three
 * `redis-sentinel`s on loopback; the master is SIGKILLed twice (back and forth).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createEvents } from "../services/events/mod.ts";
import { RedisCommandClient, RedisCommandServer } from "../services/link/mod.ts";
import { missingFromStream, startSentinelSet } from "./_sentinel.ts";
import type { EventEnvelope } from "../services/events/event.ts";

async function until(what: string, fn: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await fn()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

Deno.test({
  name: "Events and commands follow two Sentinel failovers; loss reported equals loss found",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const set = await startSentinelSet();
    const writer = createEvents({ node: "n1", redisUrl: set.url });
    const reader = createEvents({ node: "hub", redisUrl: set.url });
    const server = new RedisCommandServer({
      url: set.url,
      node: "n1",
      handler: (req) => Promise.resolve({ id: req.id, ok: true, data: { pong: req.command.type } }),
    });
    const client = new RedisCommandClient({ url: set.url });
    const seen = new Set<number>();
    const off = reader.log.subscribe((e: EventEnvelope) => {
      if (e.type === "tick") seen.add(Number(e.data.n));
    });
    let n = 0;
    const timer = setInterval(() => writer.emitter.emit("tick", { n: n++ }), 10);
    try {
      await server.start();
      await until("live events", () => seen.size > 20, 10_000);
      for (const round of [1, 2]) {
        const f = await set.failover();
        const mark = n;
        const after = await until(
          `events after failover ${round}`,
          () => [...seen].some((v) => v > mark),
          20_000,
        );
        console.log(
          `failover ${round}: ${f.killed} → ${f.promoted} promoted in ${f.ms} ms; events again ${
            Math.round(after)
          } ms after`,
        );
        assert.ok(after <= 10_000, `events flowed again ${after} ms after the promotion`);
        const r = await client.send("n1", { type: "buzzer", pattern: "beep" } as never, 5000);
        assert.equal(r.ok, true, `command after failover ${round}: ${JSON.stringify(r)}`);
        await set.restore(f.killed);
      }
      clearInterval(timer);
      const last = n - 1;
      await until("the last event", () => seen.has(last), 10_000).catch(() => 0);
      await until("the emitter's buffer empty", () => writer.emitter.stats().buffered === 0, 10_000);
      const stats = writer.emitter.stats();
      const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
      console.log(`emitted ${n}, missing ${missing.length}, dropped ${stats.dropped}`);
      // The stream is the record: what a reader finds missing there must equal what was reported.
      const lost = await missingFromStream(reader.log, "tick", n);
      assert.equal(lost, stats.dropped, `missing from the stream ${lost}, reported dropped ${stats.dropped}`);
    } finally {
      clearInterval(timer);
      off();
      await server.stop();
      await client.close();
      await writer.close();
      await reader.close();
      await set.stop();
    }
  },
});
