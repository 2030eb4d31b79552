/**
 * V8 young generation (`--max-semi-space-size`) for the hub: one hub process per setting (1, 2,
 * 4, 8 MB and V8's default), all alive at once and loaded in turn, so every setting sees the
 * same machine. Each row: req/s of `/api/readings` (the raw fast path) or `/api/nodes` (through
 * Hono) under 50 connections (median of 3 interleaved runs) against the default setting, with
 * the process's RSS, PSS and USS after warm-up, its peak RSS, and server CPU per request. `deno.json` tasks and
 * `config/harvester-*.service` pick their flag from this table (see bench/README.md).
 *
 * `deno run -A --import-map=tests/import_map.json bench/semi_space.ts`
 *
 * @module
 */
import { type Child, cpuSeconds, load, peakRssMb, seedReadings, startHub } from "./hub.ts";
import { toml } from "./memory.ts";
import { startService, waitFor } from "../tests/e2e/_helpers.ts";
import { pidOf } from "../tests/_proc.ts";
import { type BenchRow, median, spread } from "./row.ts";

const SETTINGS: Array<number | null> = [1, 2, 4, 8, null];
const REPEATS = 3;
const SECONDS = 4;
/** The fast path (cached bytes) and a route through Hono (allocates per request). */
const PATHS = ["/api/readings", "/api/nodes"];

/**
 * RSS, PSS and private (USS) memory of a process in MB (`/proc/<pid>/smaps_rollup`). With five
 * hubs alive the shared pages of the deno binary are split five ways in PSS; USS is what one
 * more hub process would cost.
 */
async function residentMb(pid: number): Promise<{ rss: number; pss: number; uss: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
  const kb = (name: string) => Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return {
    rss: kb("Rss") / 1024,
    pss: kb("Pss") / 1024,
    uss: (kb("Private_Clean") + kb("Private_Dirty")) / 1024,
  };
}

const label = (mb: number | null) => (mb === null ? "default" : `${mb} MB`);

/**
 * `main.ts start` (broker + hub + five plugins, cycles 20× faster as in bench/memory.ts) per
 * setting: the main process's RSS/USS after 200 cycles, and its CPU per cycle.
 */
async function startMode(): Promise<BenchRow[]> {
  const AUTH = { authorization: "Bearer bench-token" };
  const got: Array<{ mb: number | null; rss: number; uss: number; cpuMs: number }> = [];
  for (const mb of SETTINGS) {
    const dir = await Deno.makeTempDir({ prefix: "harvester-bench-semi-" });
    const flags = mb === null ? [] : [`--v8-flags=--max-semi-space-size=${mb}`];
    const svc = await startService({ name: "bench-semi", toml: toml(dir), denoFlags: flags });
    try {
      const pid = pidOf(`--port\u0000${svc.port}\u0000`);
      const cycle = async () => {
        const r = await fetch(`${svc.url}/api/events?type=cycle.end&limit=1`, { headers: AUTH });
        return ((await r.json()).events.at(-1)?.cycle ?? 0) as number;
      };
      await waitFor("warm-up: 100 cycles", async () => (await cycle()) >= 100, 60_000);
      const [c0, n0] = [await cpuSeconds(pid), await cycle()];
      await waitFor("200 cycles", async () => (await cycle()) >= 200, 60_000);
      const [c1, n1] = [await cpuSeconds(pid), await cycle()];
      const m = await residentMb(pid);
      got.push({ mb, rss: m.rss, uss: m.uss, cpuMs: ((c1 - c0) * 1000) / (n1 - n0) });
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
  const def = got.find((g) => g.mb === null)!;
  return got.map((g) => ({
    name: `main.ts start RSS after 200 cycles (main process), --max-semi-space-size ${label(g.mb)}`,
    value: g.rss,
    unit: "MB",
    peer: "V8 default semi-space",
    peerValue: def.rss,
    ratio: g.rss / def.rss,
    spread: `USS ${g.uss.toFixed(0)} MB; ${g.cpuMs.toFixed(1)} ms CPU/cycle (default ${
      def.cpuMs.toFixed(1)
    })`,
  }));
}

/** One row per setting and path, then the `main.ts start` rows. */
export async function benchSemiSpace(): Promise<BenchRow[]> {
  return [...await hubThroughput(), ...await startMode()];
}

/** One row per setting and path. */
async function hubThroughput(): Promise<BenchRow[]> {
  const hubs: Array<{ mb: number | null; child: Child }> = [];
  try {
    for (const mb of SETTINGS) {
      const flags = mb === null ? [] : [`--v8-flags=--max-semi-space-size=${mb}`];
      const child = await startHub(["--public-read", "--max-conn", "1000"], flags);
      await seedReadings(`http://127.0.0.1:${child.port}`);
      hubs.push({ mb, child });
    }
    const url = (c: Child, path: string) => `http://127.0.0.1:${c.port}${path}`;
    // Warm-up: one load each, then let the process settle before reading its memory.
    for (const h of hubs) for (const path of PATHS) await load(url(h.child, path), 2);
    await new Promise((r) => setTimeout(r, 1000));
    const warm = new Map<Child, { rss: number; pss: number; uss: number }>();
    for (const h of hubs) warm.set(h.child, await residentMb(h.child.proc.pid));
    const key = (c: Child, path: string) => `${c.port}${path}`;
    const rps = new Map<string, number[]>();
    const cpuPerReq = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...m.get(k) ?? [], v]);
    for (let i = 0; i < REPEATS; i++) {
      for (const path of PATHS) {
        for (const h of hubs) {
          const c0 = await cpuSeconds(h.child.proc.pid);
          const r = await load(url(h.child, path), SECONDS);
          const cpu = (await cpuSeconds(h.child.proc.pid)) - c0;
          if (r.errors) {
            throw new Error(`Cannot measure semi-space ${label(h.mb)} on ${path}: ${r.errors} errors`);
          }
          push(rps, key(h.child, path), r.rps);
          push(cpuPerReq, key(h.child, path), (cpu * 1e6) / (r.rps * SECONDS));
        }
      }
    }
    const def = hubs.find((h) => h.mb === null)!.child;
    const rows: BenchRow[] = [];
    for (const path of PATHS) {
      const defRps = rps.get(key(def, path))!;
      for (const h of hubs) {
        const mine = rps.get(key(h.child, path))!;
        const w = warm.get(h.child)!;
        const peak = await peakRssMb(h.child.proc.pid);
        rows.push({
          name: `hub ${path} req/s, --max-semi-space-size ${label(h.mb)}`,
          value: median(mine),
          unit: "req/s",
          peer: "V8 default semi-space, same run",
          peerValue: median(defRps),
          ratio: median(mine.map((v, i) => v / defRps[i])),
          spread: `after warm-up RSS ${w.rss.toFixed(0)} / PSS ${w.pss.toFixed(0)} / USS ${
            w.uss.toFixed(0)
          } MB; peak RSS ${peak.toFixed(0)} MB; ${
            median(cpuPerReq.get(key(h.child, path))!).toFixed(0)
          } µs CPU/req; req/s ${spread(mine, 0)}`,
        });
      }
    }
    return rows;
  } finally {
    for (const h of hubs) await h.child.stop();
  }
}

if (import.meta.main) { for (const r of await benchSemiSpace()) console.log(JSON.stringify(r)); }
