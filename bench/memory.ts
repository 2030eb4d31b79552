/**
 * Memory: broker + hub + the five first-party plugins (`main.ts start`, sim HAL, no Redis), resident
 * set of the whole process tree after warm-up and after one hour-equivalent of cycles. The hour
 * is compressed: the cycle and every cadence run 20× faster (2 s → 100 ms, the shortest interval config allows), so 1 800 cycles — an
 * hour at the default 2 s — pass in 3 minutes of real time with the same work per cycle.
 * The peer is the WASM host this replaces (300 MB+ on a Pi Zero 2W, reference 004).
 *
 * @module
 */
import { startService, waitFor } from "../tests/e2e/_helpers.ts";
import { pidOf, treeRssMb } from "../tests/_proc.ts";
import type { BenchRow } from "./row.ts";
import { taskV8Flags } from "../tests/_task_flags.ts";

/** The hub refuses anonymous reads: the bench reads with the configured token. */
const AUTH = { authorization: "Bearer bench-token" };

const WASM_HOST_MB = 300;
const SPEEDUP = 20;
const HOUR_CYCLES = 3600 / 2;

/** The memory bench config: sim HAL, five plugins, every cadence 20× faster. */
export function toml(dir: string): string {
  const cad = (s: number) => s / SPEEDUP;
  return `
[polling]
interval_seconds = ${cad(2)}
[hal]
backend = "sim"
[cluster]
node_id = "bench"
[shm]
backend = "memory"
[hub]
token = "bench-token"
host = "127.0.0.1"
[state]
dir = "${dir}"
[plugins.bme680]
cadence_seconds = ${cad(3)}
[plugins.dht22]
cadence_seconds = ${cad(2)}
[plugins.system-monitor]
cadence_seconds = ${cad(5)}
[plugins.oled]
cadence_seconds = ${cad(2)}
[plugins.anima]
cadence_seconds = ${cad(10)}
`;
}

/** RSS rows: after warm-up and after an hour-equivalent of cycles. */
export async function benchMemory(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-bench-mem-" });
  // The same V8 flags as `deno task start` (deno.json; the young generation is chosen in bench/README.md).
  const svc = await startService({
    name: "bench-memory",
    toml: toml(dir),
    denoFlags: taskV8Flags("start"),
  });
  try {
    const pid = pidOf(`--port\u0000${svc.port}\u0000`);
    const cycle = async () => {
      const { events } =
        await (await fetch(`${svc.url}/api/events?type=cycle.end&limit=1`, { headers: AUTH })).json();
      return events.at(-1)?.cycle ?? 0;
    };
    const heapMb = async () => {
      const text = await (await fetch(`${svc.url}/metrics`, { headers: AUTH })).text();
      const m = text.match(/^harvester_heap_used_bytes (\d+)/m);
      return m ? Number(m[1]) / 1048576 : NaN;
    };
    await waitFor("warm-up: 100 cycles", async () => (await cycle()) >= 100, 60_000);
    const warm = treeRssMb(pid);
    const warmHeap = await heapMb();
    await waitFor(`${HOUR_CYCLES} cycles`, async () => (await cycle()) >= HOUR_CYCLES, 300_000);
    const hour = treeRssMb(pid);
    const hourHeap = await heapMb();
    // A second hour shows whether memory is bounded (the event ring and caches full) or still growing.
    await waitFor(`${2 * HOUR_CYCLES} cycles`, async () => (await cycle()) >= 2 * HOUR_CYCLES, 300_000);
    const twoHours = treeRssMb(pid);
    const twoHoursHeap = await heapMb();
    const { plugins } = await (await fetch(`${svc.url}/api/plugins`, { headers: AUTH })).json();
    const running = plugins.filter((p: { status: string }) => p.status === "running").length;
    return [
      {
        name: `RSS broker+hub+${running} plugins after warm-up (main ${warm.main.toFixed(0)} + sandbox ${
          warm.children.toFixed(0)
        })`,
        value: warm.total,
        unit: "MB",
        peer: "WASM host (reference)",
        peerValue: WASM_HOST_MB,
        ratio: warm.total / WASM_HOST_MB,
      },
      {
        name: `RSS after ${HOUR_CYCLES} cycles, one hour-equivalent (main ${hour.main.toFixed(0)} + sandbox ${
          hour.children.toFixed(0)
        })`,
        value: hour.total,
        unit: "MB",
        peer: "after warm-up",
        peerValue: warm.total,
        ratio: hour.total / warm.total,
      },
      {
        name: `RSS after ${2 * HOUR_CYCLES} cycles, two hour-equivalents (main ${
          twoHours.main.toFixed(0)
        } + sandbox ${twoHours.children.toFixed(0)})`,
        value: twoHours.total,
        unit: "MB",
        peer: "after one hour-equivalent",
        peerValue: hour.total,
        ratio: twoHours.total / hour.total,
      },
      {
        name: "V8 heap in use, broker+hub process (warm-up → 1 h → 2 h equivalent)",
        value: twoHoursHeap,
        unit: "MB",
        peer: "after warm-up",
        peerValue: warmHeap,
        ratio: twoHoursHeap / warmHeap,
        spread: `${warmHeap.toFixed(0)} → ${hourHeap.toFixed(0)} → ${twoHoursHeap.toFixed(0)}`,
      },
    ];
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.table(await benchMemory());
