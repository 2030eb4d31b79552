/**
 * Cycle jitter: `main.ts start` with all five plugins at the default 2 s interval; the gap between
 * consecutive `cycle.start` events minus 2 000 ms, p50 and p99 of each of three 30-cycle windows (one
 * minute each); the row is the median of the three, the spread their min..max. Peer: the ideal 0.
 *
 * @module
 */
import { startService, waitFor } from "../tests/e2e/_helpers.ts";
import { type BenchRow, median, percentile, spread } from "./row.ts";

/** Three windows of 30 cycles. */
const WINDOW = 30;
const CYCLES = 3 * WINDOW + 1;

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
    const windows = [0, 1, 2].map((w) => jitter.slice(w * WINDOW, (w + 1) * WINDOW));
    const row = (p: number): BenchRow => {
      const each = windows.map((w) => percentile(w, p));
      return {
        name: `cycle jitter p${p} at 2 s (5 plugins), median of 3 windows of ${WINDOW} cycles`,
        value: median(each),
        unit: "ms",
        peer: "ideal",
        peerValue: 0,
        spread: spread(each, 0),
      };
    };
    return [row(50), row(99)];
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.table(await benchCycle());
