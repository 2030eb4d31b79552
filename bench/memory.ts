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
import { pidOf, type ProcessMemory, tree, treeMemory, treeRssMb } from "../tests/_proc.ts";
import type { BenchRow } from "./row.ts";
import { taskV8Flags } from "../tests/_task_flags.ts";
import denoJson from "../deno.json" with { type: "json" };

/** Targets of issue 17 (PSS, shared pages counted once). */
const START_TARGET_MB = 90;
const SPOKE_TARGET_MB = 60;
/** Seconds between samples of the sandbox during the compressed soak. */
const SAMPLE_EVERY_S = 10;

/** `main` for the service process, `sandbox` for a plugin sandbox child, else the program name. */
function role(cmd: string[]): string {
  if (cmd.some((a) => a.endsWith("sandbox_main.ts"))) return "sandbox";
  if (cmd.some((a) => a.endsWith("main.ts"))) return "main";
  return cmd[0]?.split("/").at(-1) ?? "?";
}

/** `main 52 [anon 40, file 12] + sandbox 30 […]` (PSS, MiB) for a row's name. */
function breakdown(ps: ProcessMemory[]): string {
  return ps.map((p) =>
    `${p.role} ${p.pssMb.toFixed(0)} [anon ${p.anonMb.toFixed(0)}, file ${p.fileMb.toFixed(0)}; RSS ${
      p.rssMb.toFixed(0)
    }]`
  ).join(" + ");
}

/**
 * A private copy of the deno executable for the measured processes. PSS divides a shared page
 * among every process that maps it: run from the bench's own executable, the service would hand
 * part of the deno binary's pages (~50 MB touched) to the bench process and look 15–20 MB
 * smaller than it is when it runs alone on a board. A copy is a different file, so its pages are
 * shared only among the service's own processes.
 */
async function privateDeno(): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-bench-deno-" });
  const path = `${dir}/deno`;
  await Deno.copyFile(Deno.execPath(), path);
  await Deno.chmod(path, 0o755);
  return { path, remove: () => Deno.remove(dir, { recursive: true }).catch(() => {}) };
}

/** `name@version` specifiers of the `deno.json` imports, so the package rows load what the service loads. */
function npmSpecifier(name: string): string {
  const imports = denoJson.imports as Record<string, string>;
  const root = name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : name.split("/")[0];
  const rest = name.slice(root.length);
  if (imports[root] !== undefined) return imports[root] + rest;
  const dir = imports[`${root}/`];
  if (dir === undefined) throw new Error(`Cannot measure package '${name}': deno.json does not import it`);
  return dir.replace(/^npm:\//, "npm:").replace(/\/$/, "") + rest;
}

/** The lock the service runs with: the package rows load the same dependency versions. */
const LOCK = new URL("../tests/deno.lock", import.meta.url).pathname;
/**
 * The package set SPEC.md fixes, as the service imports it. The spoke loads zod and the TOML
 * parser; `start` adds the hub's Hono, socket.io (on the built-in `node:http`) and the MCP SDK.
 * node-redis is not here: without a Redis URL the service does not load it.
 */
const SPOKE_PACKAGES = ["zod", "smol-toml"];
const START_PACKAGES = [
  ...SPOKE_PACKAGES,
  "hono",
  "hono/body-limit",
  "hono/cors",
  "@hono/node-server",
  "socket.io",
  "@modelcontextprotocol/sdk/server/mcp.js",
  "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js",
];

const sum = (ps: ProcessMemory[]) => ps.reduce((a, p) => a + p.pssMb, 0);

/** Least-squares slope of `ys` over `xs`. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The sandbox's PSS and RSS sampled until `stop` resolves. */
function sampleSandbox(pid: number, stop: Promise<unknown>) {
  const t0 = performance.now();
  const samples: { min: number; pss: number; rss: number }[] = [];
  let done = false;
  stop.finally(() => done = true);
  const run = (async () => {
    while (!done) {
      const sb = treeMemory(pid, role).filter((p) => p.role === "sandbox");
      if (sb.length > 0) {
        samples.push({
          min: (performance.now() - t0) / 60_000,
          pss: sum(sb),
          rss: sb.reduce((a, p) => a + p.rssMb, 0),
        });
      }
      await new Promise((r) => setTimeout(r, SAMPLE_EVERY_S * 1000));
    }
  })();
  return { samples, run };
}

/** PSS of a spoke (`main.ts broker`, the Pi Zero config of config/pizero.toml on the sim HAL). */
async function spokeRow(deno: string): Promise<BenchRow> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-bench-spoke-" });
  // config/pizero.toml with the sim HAL; the hub it pushes to is absent (readings are buffered).
  const svc = await startService({
    name: "bench-spoke",
    mode: "broker",
    deno,
    waitHealth: false,
    denoFlags: ["--v8-flags=--max-semi-space-size=1"],
    toml: `[polling]\ninterval_seconds = 5\n[hal]\nbackend = "sim"\n[logging]\nlevel = "warn"\n` +
      `[cluster]\nrole = "spoke"\nnode_id = "bench-pizero"\nhub_url = "http://127.0.0.1:9/push"\n` +
      `token = "bench-pizero-token"\npush_interval_seconds = 10\nbuffer_max = 200\n` +
      `[shm]\nbackend = "memory"\n[events]\nstream_maxlen = 1000\nbuffer_max = 500\nbatch_max = 50\n` +
      `[state]\ndir = "${dir}"\n` +
      `[plugins.bme680]\nenabled = true\ncadence_seconds = 6\nisolation = "trusted"\nmemory_mb = 32\n` +
      `[plugins.system-monitor]\nenabled = true\ncadence_seconds = 15\nisolation = "trusted"\nmemory_mb = 16\n` +
      `[plugins.dht22]\nenabled = false\n[plugins.oled]\nenabled = false\n[plugins.anima]\nenabled = false\n`,
  });
  try {
    const pid = pidOf("harvester-bench-spoke-");
    await waitFor(
      "the spoke's sandbox",
      () => treeMemory(pid, role).some((p) => p.role === "sandbox"),
      60_000,
    );
    await new Promise((r) => setTimeout(r, 30_000)); // a few polls of both plugins
    const ps = treeMemory(pid, role);
    return {
      name: `PSS spoke (broker + bme680 + system-monitor, pizero config): ${breakdown(ps)}`,
      value: sum(ps),
      unit: "MB",
      peer: "target",
      peerValue: SPOKE_TARGET_MB,
      ratio: sum(ps) / SPOKE_TARGET_MB,
    };
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The floor of this design: the fewest processes and workers the service can be — a Deno process
 * (the broker) with one permission-less sandbox child running one worker — with no code of ours;
 * with `packages`, the broker also imports those packages and nothing else.
 */
export async function floorRow(
  deno: string,
  what: string,
  packages: string[],
  target: number,
): Promise<BenchRow> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-bench-floor-" });
  const child = `${dir}/child.js`, parent = `${dir}/parent.js`;
  await Deno.writeTextFile(
    child,
    `new Worker("data:text/javascript,self.onmessage=()=>{}", { type: "module" });\nsetInterval(() => {}, 1000);\n`,
  );
  await Deno.writeTextFile(
    parent,
    packages.map((p) => `await import(${JSON.stringify(npmSpecifier(p))});\n`).join("") +
      `new Deno.Command(Deno.execPath(), { args: ["run", "--no-prompt", ${
        JSON.stringify(child)
      }] }).spawn();\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  const proc = new Deno.Command(deno, {
    args: ["run", "-A", "--cached-only", "--no-config", `--lock=${LOCK}`, "--frozen", parent],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errors = proc.stderr.pipeThrough(new TextDecoderStream()).getReader().read();
  try {
    await waitFor(`the floor's child (${what})`, () => tree(proc.pid).length > 1, 60_000);
    await new Promise((r) => setTimeout(r, 5000));
    const ps = treeMemory(proc.pid, (cmd) => cmd.some((a) => a.endsWith("child.js")) ? "sandbox" : "main");
    return {
      name: `PSS floor: ${what}: ${breakdown(ps)}`,
      value: sum(ps),
      unit: "MB",
      peer: "target",
      peerValue: target,
      ratio: sum(ps) / target,
    };
  } catch (e) {
    try {
      proc.kill("SIGKILL");
    } catch { /* exited: its stderr says why */ }
    throw new Error(`${(e as Error).message}; stderr: ${(await errors).value ?? ""}`);
  } finally {
    for (const pid of tree(proc.pid).reverse()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await proc.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

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
node_id = "bench-mem-${Deno.pid}"
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
  const deno = await privateDeno();
  // The same V8 flags as `deno task start` (deno.json; the young generation is chosen in bench/README.md).
  const svc = await startService({
    name: "bench-memory",
    toml: toml(dir),
    denoFlags: taskV8Flags("start"),
    deno: deno.path,
  });
  let endSoak = () => {};
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
    const warmPss = treeMemory(pid, role);
    const soak = sampleSandbox(pid, new Promise<void>((r) => endSoak = r));
    const warm = treeRssMb(pid);
    const warmHeap = await heapMb();
    await waitFor(`${HOUR_CYCLES} cycles`, async () => (await cycle()) >= HOUR_CYCLES, 300_000);
    const hour = treeRssMb(pid);
    const hourHeap = await heapMb();
    // A second hour shows whether memory is bounded (the event ring and caches full) or still growing.
    await waitFor(`${2 * HOUR_CYCLES} cycles`, async () => (await cycle()) >= 2 * HOUR_CYCLES, 300_000);
    const twoHours = treeRssMb(pid);
    const twoHoursHeap = await heapMb();
    endSoak();
    await soak.run;
    const xs = soak.samples.map((x) => x.min);
    const minutes = xs.at(-1) ?? 0;
    const first = soak.samples[0], last = soak.samples.at(-1);
    const { plugins } = await (await fetch(`${svc.url}/api/plugins`, { headers: AUTH })).json();
    const running = plugins.filter((p: { status: string }) => p.status === "running").length;
    await svc.stop();
    const spoke = await spokeRow(deno.path);
    const floors = [
      await floorRow(
        deno.path,
        "an empty Deno process and an empty sandbox child with one worker",
        [],
        SPOKE_TARGET_MB,
      ),
      await floorRow(
        deno.path,
        `that floor with the spoke's packages imported (${SPOKE_PACKAGES.join(", ")})`,
        SPOKE_PACKAGES,
        SPOKE_TARGET_MB,
      ),
      await floorRow(
        deno.path,
        `that floor with start's packages imported (${START_PACKAGES.join(", ")})`,
        START_PACKAGES,
        START_TARGET_MB,
      ),
    ];
    return [
      {
        name: `PSS broker+hub+${running} plugins after warm-up: ${breakdown(warmPss)}`,
        value: sum(warmPss),
        unit: "MB",
        peer: "target",
        peerValue: START_TARGET_MB,
        ratio: sum(warmPss) / START_TARGET_MB,
      },
      spoke,
      ...floors,
      {
        name: `sandbox RSS slope over a ${
          minutes.toFixed(1)
        } min soak (2 hour-equivalents of cycles at 20×; not the 35 min soak), per minute`,
        value: slope(xs, soak.samples.map((x) => x.rss)),
        unit: "MB/min",
        peer: "PSS slope",
        peerValue: slope(xs, soak.samples.map((x) => x.pss)),
        spread: `RSS ${first?.rss.toFixed(1)} → ${last?.rss.toFixed(1)}, PSS ${first?.pss.toFixed(1)} → ${
          last?.pss.toFixed(1)
        } MB, ${soak.samples.length} samples`,
      },
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
    endSoak();
    await svc.stop();
    await deno.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * `bench/memory.ts soak MINUTES`: the memory config (cycles 20× faster) for MINUTES of real time,
 * the sandbox and main process sampled every 30 s; prints each sample and the RSS slope of the
 * first and the second half (bounded: the second half's slope near zero).
 */
async function soak(minutes: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-bench-soak-" });
  const svc = await startService({ name: "bench-soak", toml: toml(dir), denoFlags: taskV8Flags("start") });
  try {
    const pid = pidOf(`--port\u0000${svc.port}\u0000`);
    const t0 = performance.now();
    const rows: { min: number; sandbox: number; main: number; sandboxPss: number }[] = [];
    while (performance.now() - t0 < minutes * 60_000) {
      const ps = treeMemory(pid, role);
      const sb = ps.filter((p) => p.role === "sandbox");
      const row = {
        min: (performance.now() - t0) / 60_000,
        sandbox: sb.reduce((a, p) => a + p.rssMb, 0),
        sandboxPss: sum(sb),
        main: ps.find((p) => p.role === "main")?.rssMb ?? 0,
      };
      rows.push(row);
      console.log(
        `${row.min.toFixed(1)} min: sandbox RSS ${row.sandbox.toFixed(1)} (PSS ${
          row.sandboxPss.toFixed(1)
        }), main RSS ${row.main.toFixed(1)} MB`,
      );
      await new Promise((r) => setTimeout(r, 30_000));
    }
    const half = rows.filter((r) => r.min >= minutes / 2);
    const first = rows.filter((r) => r.min < minutes / 2);
    const at = (rs: typeof rows, k: "sandbox" | "main") => slope(rs.map((r) => r.min), rs.map((r) => r[k]));
    console.log(
      `sandbox RSS slope: first half ${at(first, "sandbox").toFixed(2)} MB/min, second half ${
        at(half, "sandbox").toFixed(2)
      } MB/min; main: ${at(first, "main").toFixed(2)} → ${at(half, "main").toFixed(2)} MB/min`,
    );
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "soak") await soak(Number(Deno.args[1] ?? 35));
  else console.table(await benchMemory());
}
