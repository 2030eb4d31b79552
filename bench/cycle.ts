/**
 * Cycle jitter: `main.ts start` with all five plugins at the default 2 s interval; the gap between
 * consecutive `cycle.start` events minus 2 000 ms, p50 and p99 over a minute. Peer: the ideal 0.
 *
 * @module
 */
import { startService, waitFor } from "../tests/e2e/_helpers.ts";
import { type BenchRow, percentile } from "./row.ts";

const CYCLES = 30;

/** Jitter rows at a 2 s interval. */
export async function benchCycle(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-bench-cycle-" });
  const svc = await startService({
    name: "bench-cycle",
    toml: `[polling]\ninterval_seconds = 2\n[cluster]\nnode_id = "jitter"\n[shm]\nbackend = "memory"\n` +
      `[hub]\nhost = "127.0.0.1"\ntoken = "bench-token"\n[state]\ndir = "${dir}"\n`,
  });
  try {
    const starts = await waitFor(`${CYCLES + 1} cycles`, async () => {
      const { events } = await (await fetch(`${svc.url}/api/events?type=cycle.start&limit=${CYCLES + 5}`, {
        headers: { authorization: "Bearer bench-token" },
      }))
        .json();
      return events.length > CYCLES ? events.map((e: { ts: string }) => Date.parse(e.ts)) as number[] : null;
    }, (CYCLES + 10) * 2000);
    const sorted = starts!.sort((a, b) => a - b).slice(1); // the first cycle runs at start, not on the timer
    const jitter = sorted.slice(1).map((t, i) => Math.abs(t - sorted[i] - 2000));
    return [
      {
        name: "cycle jitter p50 at 2 s (5 plugins)",
        value: percentile(jitter, 50),
        unit: "ms",
        peer: "ideal",
        peerValue: 0,
      },
      {
        name: "cycle jitter p99 at 2 s (5 plugins)",
        value: percentile(jitter, 99),
        unit: "ms",
        peer: "ideal",
        peerValue: 0,
      },
    ];
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.table(await benchCycle());
