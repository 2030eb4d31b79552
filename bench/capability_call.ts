/**
 * Capability call cost and sandbox memory:
 * - p50/p99 of a one-byte I2C register read made by a plugin in its sandbox
 *   (worker → sandbox process → broker grant check → sim device → back) vs the same read
 *   made in-process through `I2cDevice`;
 * - resident memory of the five first-party plugins in one worker of one sandbox process (the
 *   default, `isolation = "trusted"`) vs a worker each (`"shared"`) vs five processes, and of the
 *   broker itself.
 *
 * `deno run -A bench/capability_call.ts` prints the rows; `deno task bench` includes them.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { I2cDevice } from "../hal/mod.ts";
import type { Hal } from "../hal/mod.ts";
import { RegisterFileModel, SimEnvironment, SimHal } from "../hal/sim/mod.ts";
import { SimBme680 } from "../hal/sim/bme680.ts";
import { SimSsd1306 } from "../hal/sim/ssd1306.ts";
import { emptyGrant, PluginHost } from "../services/plugin_host/mod.ts";
import type { PluginGrant, PluginSettings } from "../services/plugin_host/mod.ts";
import { grantFor, loadPermissions } from "../config/permissions.ts";
import { median, percentile, spread } from "./row.ts";
import { pipeRoundTrip, unixRoundTrip, workerHop } from "./ipc_floor.ts";
import type { BenchRow } from "./row.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIRST_PARTY = ["bme680", "dht22", "system-monitor", "oled", "anima"];
const CALLS = 3000;
/** Steps of the batched row: the transfers of one BME680 measurement. */
const BATCH_STEPS = 7;
const MB = 1024 * 1024;

/** First-party grants come from config/permissions.toml, as in main.ts. */
const PERMS = await loadPermissions(join(ROOT, "config/permissions.toml"));
const grantOf = (id: string): PluginGrant =>
  id === "bench_reader" ? { ...emptyGrant(), i2c: [0x77] } : grantFor(PERMS, id);

function simHal(kind: "register" | "board"): Hal {
  const environment = new SimEnvironment({ seed: 7 });
  return new SimHal({
    environment,
    i2cBuses: [1],
    gpioChip: 0,
    ledCount: 11,
    ledPin: 18,
    ledBrightness: 1,
    buzzerPin: 17,
    models: () => {
      if (kind === "board") return [new SimBme680({ environment }), new SimSsd1306()];
      const chip = new RegisterFileModel(0x77);
      chip.transfer(Uint8Array.of(0xd0, 0x61), 0);
      return [chip];
    },
  });
}

async function host(
  pluginsDir: string,
  hal: Hal,
  settings: (id: string) => PluginSettings,
): Promise<PluginHost> {
  const stateDir = await Deno.makeTempDir({ prefix: "bench-state-" });
  const h = new PluginHost({
    pluginsDir,
    sdkDir: join(ROOT, "plugins/sdk"),
    node: "bench",
    grants: grantOf,
    settings,
    services: {
      hal,
      leds: { count: 11, set: () => {} },
      buzzer: { play: () => Promise.resolve() },
      log: () => {},
    },
    emit: { emit: () => {} },
    stateDir,
    // The latency loop is sequential and far faster than the default per-second budget.
    limits: { maxInFlight: 64, perSecond: 1_000_000 },
  });
  await h.start();
  return h;
}

function timeDirect(hal: Hal, n: number): Promise<number[]> {
  const dev = new I2cDevice(hal.i2c(1), 0x77);
  return (async () => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await dev.readRegister(0xd0, 1);
      out.push((performance.now() - t0) * 1000);
    }
    return out;
  })();
}

async function latencyRows(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ dir: join(ROOT, "bench/out"), prefix: "cap-" });
  await Deno.mkdir(join(dir, "bench_reader"));
  for (const f of ["manifest.json", "mod.ts"]) {
    await Deno.copyFile(join(ROOT, "tests/fixtures/plugins/bench_reader", f), join(dir, "bench_reader", f));
  }
  const hal = simHal("register");
  const h = await host(dir, hal, () => ({ enabled: true, deadline_ms: 60_000 }));
  type Q = { p50: number; p99: number };
  const q = (s: number[]): Q => ({ p50: percentile(s, 50), p99: percentile(s, 99) });
  try {
    await h.command("bench_reader", "bench", { n: 500 }); // warm-up
    await timeDirect(hal, 500);
    await workerHop(500);
    await unixRoundTrip(500);
    // Three rounds, each measuring the call, its floor and the in-process read back to back.
    const call: Q[] = [], worker: Q[] = [], unix: Q[] = [], direct: Q[] = [], pipe: Q[] = [];
    const batched: Q[] = [], single: Q[] = [];
    for (let r = 0; r < 3; r++) {
      call.push(q(await h.command("bench_reader", "bench", { n: CALLS }) as number[]));
      worker.push(q(await workerHop(CALLS)));
      unix.push(q(await unixRoundTrip(CALLS)));
      pipe.push(q(await pipeRoundTrip(CALLS)));
      direct.push(q(await timeDirect(hal, CALLS)));
      const b = await h.command("bench_reader", "batch", { n: 300, steps: BATCH_STEPS }) as {
        batched: number[];
        single: number[];
      };
      batched.push(q(b.batched));
      single.push(q(b.single));
    }
    const med = (xs: Q[], k: keyof Q) => median(xs.map((x) => x[k]));
    const rows: BenchRow[] = [];
    for (const k of ["p50", "p99"] as const) {
      const floor = med(worker, k) + med(unix, k);
      rows.push({
        name: `i2c register read ${k}: plugin → broker → sim device (median of 3)`,
        value: med(call, k),
        unit: "µs",
        peer: `floor: worker hop ${med(worker, k).toFixed(0)} + deno↔deno Unix socket ${
          med(unix, k).toFixed(0)
        }, same run`,
        peerValue: floor,
        ratio: med(call, k) / floor,
        spread: spread(call.map((x) => x[k]), 0),
      });
    }
    rows.push({
      name: "layer: the broker ↔ sandbox transport alone, p50 (stdin/stdout of a permission-less child, " +
        "Deno.ChildProcess streams, no JSON)",
      value: med(pipe, "p50"),
      unit: "µs",
      peer: "deno↔deno Unix socket (as the sandbox transport: no gain per call, bench/README.md)",
      peerValue: med(unix, "p50"),
      ratio: med(pipe, "p50") / med(unix, "p50"),
      spread: spread(pipe.map((x) => x.p50), 0),
    });
    // Bounded memory under a steady call stream: the sandbox's resident set after 40 000 calls
    // and after 12 rounds of 20 000 more (V8's default young generation grew here without end).
    const rss = async () => ((await h.sandboxes())[0]?.rssBytes ?? 0) / MB;
    await h.command("bench_reader", "bench", { n: 40_000 });
    const early = await rss();
    const samples: number[] = [];
    for (let i = 0; i < 12; i++) {
      await h.command("bench_reader", "bench", { n: 20_000 });
      samples.push(await rss());
    }
    rows.push({
      name: "sandbox RSS after 280 000 capability calls (max of the last 4 of 12 samples)",
      value: Math.max(...samples.slice(-4)),
      unit: "MB",
      peer: "after 40 000 calls",
      peerValue: early,
      ratio: Math.max(...samples.slice(-4)) / early,
      spread: samples.map((x) => x.toFixed(0)).join(" "),
    });
    rows.push({
      name: "i2c register read p50: direct in-process I2cDevice read (no sandbox)",
      value: med(direct, "p50"),
      unit: "µs",
      spread: spread(direct.map((x) => x.p50), 1),
    });
    rows.push({
      name: `${BATCH_STEPS} register reads p50 as one i2c transaction (a BME680 poll's worth)`,
      value: med(batched, "p50"),
      unit: "µs",
      peer: `${BATCH_STEPS} single calls`,
      peerValue: med(single, "p50"),
      ratio: med(batched, "p50") / med(single, "p50"),
      spread: spread(batched.map((x) => x.p50), 0),
    });
    return rows;
  } finally {
    await h.stop();
    hal.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function rssOf(h: PluginHost): Promise<{ total: number; count: number }> {
  const s = await h.sandboxes();
  return { total: s.reduce((a, x) => a + (x.rssBytes ?? 0), 0), count: s.length };
}

async function pollAll(h: PluginHost, ids: string[]): Promise<void> {
  for (const id of ids) {
    await h.poll(id).catch(() => {});
  }
}

async function memoryRows(): Promise<BenchRow[]> {
  const pluginsDir = join(ROOT, "plugins");
  type Isolation = NonNullable<PluginSettings["isolation"]>;
  const only = (ids: string[], isolation: Isolation) => (id: string): PluginSettings =>
    ids.includes(id) ? { enabled: true, isolation } : { enabled: false };
  const measure = async (ids: string[], isolation: Isolation) => {
    const hal = simHal("board");
    const h = await host(pluginsDir, hal, only(ids, isolation));
    try {
      const running = ids.filter((id) => h.status(id).status === "running");
      if (running.length !== ids.length) {
        const bad = ids.filter((id) => !running.includes(id)).map((id) => `${id}: ${h.status(id).lastError}`);
        throw new Error(`Cannot measure sandbox memory: plugins did not start (${bad.join("; ")})`);
      }
      await pollAll(h, ids);
      // Round trips to the broker per BME680 poll (configure, trigger, wait, read, state, LED).
      const trips: number[] = [];
      if (ids.includes("bme680")) {
        for (let i = 0; i < 5; i++) {
          const before = h.capabilityRoundTrips("bme680");
          await h.poll("bme680");
          trips.push(h.capabilityRoundTrips("bme680") - before);
        }
      }
      return { ...await rssOf(h), trips };
    } finally {
      await h.stop();
      hal.close();
    }
  };
  const trusted5 = await measure(FIRST_PARTY, "trusted");
  const shared5 = await measure(FIRST_PARTY, "shared");
  const proc5 = await measure(FIRST_PARTY, "process");
  const broker = Deno.memoryUsage().rss;
  const trips = Math.max(...trusted5.trips);
  return [
    {
      name: "capability round trips per BME680 poll, first-party driver on the sim HAL (max of 5 polls)",
      value: trips,
      unit: "trips",
      peer: "target (8 before i2c.transaction)",
      peerValue: 3,
      ratio: trips / 3,
      spread: trusted5.trips.join(" "),
    },
    {
      name: "RSS of 5 first-party plugins, 1 shared sandbox process, 1 worker (trusted, the default)",
      value: trusted5.total / MB,
      unit: "MB",
      peer: `5 sandbox processes (${proc5.count})`,
      peerValue: proc5.total / MB,
      ratio: trusted5.total / proc5.total,
    },
    {
      name: "RSS of 5 first-party plugins in one sandbox process: 1 worker (trusted)",
      value: trusted5.total / MB,
      unit: "MB",
      peer: "a worker each (shared)",
      peerValue: shared5.total / MB,
      ratio: trusted5.total / shared5.total,
    },
    {
      name: "RSS of the broker side (this bench process: host, sim HAL, bundler libs)",
      value: broker / MB,
      unit: "MB",
    },
    {
      name: "RSS broker (this process) + shared sandbox with the 5 plugins in one worker",
      value: (broker + trusted5.total) / MB,
      unit: "MB",
      peer: "target (WASM host used 300+)",
      peerValue: 150,
      ratio: (broker + trusted5.total) / MB / 150,
    },
  ];
}

/**
 * Measure capability call latency and sandbox memory.
 *
 * @returns bench rows (µs and MB)
 */
export async function benchCapability(): Promise<BenchRow[]> {
  await Deno.mkdir(join(ROOT, "bench/out"), { recursive: true });
  return [...await latencyRows(), ...await memoryRows()];
}

if (import.meta.main) {
  for (const r of await benchCapability()) {
    console.log(
      `${r.name}: ${r.value.toFixed(1)} ${r.unit}` +
        (r.peer ? ` | ${r.peer}: ${r.peerValue?.toFixed(1)} | ratio ${r.ratio?.toFixed(2)}` : "") +
        (r.spread ? ` | spread ${r.spread}` : ""),
    );
  }
}
