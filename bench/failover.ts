/**
 * Sentinel failover: a master, a replica and three sentinels (tests/_sentinel.ts); an emitter
 * writes 200 events/s through `redis+sentinel://` while a reader follows the live feed. The master
 * is SIGKILLed twice. Rows: how long after the promotion events flow again (peer: how long
 * Sentinel itself took to promote), and events lost (read back from the stream) against events
 * reported dropped — the two must match.
 *
 * @module
 */
import { createEvents } from "../services/events/mod.ts";
import { missingFromStream, startSentinelSet } from "../tests/_sentinel.ts";
import { type BenchRow, median, spread } from "./row.ts";

const ROUNDS = 2;

/** Run the failover benchmark. */
export async function benchFailover(): Promise<BenchRow[]> {
  const set = await startSentinelSet();
  const writer = createEvents({ node: "bench", redisUrl: set.url });
  const reader = createEvents({ node: "reader", redisUrl: set.url });
  const seen = new Map<number, number>(); // n → ms (monotonic) when seen live
  const off = reader.log.subscribe((e) => {
    if (e.type === "tick") seen.set(Number(e.data.n), performance.now());
  });
  let n = 0;
  const timer = setInterval(() => writer.emitter.emit("tick", { n: n++ }), 5);
  const promote: number[] = [];
  const resume: number[] = [];
  try {
    while (seen.size < 50) await new Promise((r) => setTimeout(r, 20));
    for (let round = 0; round < ROUNDS; round++) {
      const f = await set.failover();
      const promotedAt = performance.now();
      const mark = n;
      while (![...seen.keys()].some((v) => v > mark)) await new Promise((r) => setTimeout(r, 10));
      const firstAfter = Math.min(...[...seen.entries()].filter(([v]) => v > mark).map(([, t]) => t));
      promote.push(f.ms);
      resume.push(Math.max(0, firstAfter - promotedAt));
      await set.restore(f.killed);
    }
    clearInterval(timer);
    while (writer.emitter.stats().buffered > 0) await new Promise((r) => setTimeout(r, 50));
    const lost = await missingFromStream(reader.log, "tick", n);
    const dropped = writer.emitter.stats().dropped;
    return [
      {
        name: "events flow again after a Sentinel promotion (ms)",
        value: median(resume),
        unit: "ms",
        peer: "Sentinel's own promotion time",
        peerValue: median(promote),
        ratio: median(resume) / median(promote),
        spread: spread(resume, 0),
      },
      {
        name: `events lost in ${ROUNDS} failovers (of ${n} emitted)`,
        value: lost,
        unit: "events",
        peer: "reported dropped",
        peerValue: dropped,
      },
    ];
  } finally {
    clearInterval(timer);
    off();
    await writer.close();
    await reader.close();
    await set.stop();
  }
}

if (import.meta.main) console.table(await benchFailover());
