/**
 * Hub: `/api/readings` throughput and p99 under 50 connections (autocannon) against a bare
 * `Deno.serve` returning the same bytes (median of 3 interleaved runs); live-feed delivery latency (p50/p99) to 100 and 500
 * socket.io clients at 100 events/s, with the hub's peak RSS (kernel `VmHWM`). The hub and the
 * peer each run in their own process; load and clients run here.
 *
 * `deno run -A bench/hub.ts`
 *
 * @module
 */
import autocannon from "autocannon";
import { io, type Socket } from "socket.io-client";
import { makeSnapshot } from "../services/hub/_test_fakes.ts";
import { freePort } from "../tests/_redis.ts";
import { taskV8Flags } from "../tests/_task_flags.ts";
import { SECURITY_HEADERS } from "../services/hub/security_headers.ts";
import { type BenchRow, median, percentile, spread } from "./row.ts";

/** The hub runs with the V8 flags of `deno task hub`, as deployed. */
const HUB_FLAGS = taskV8Flags("hub");
const HUB_SCRIPT = new URL("../services/hub/_serve_for_test.ts", import.meta.url).pathname;
const SPOKES = ["pi4", "pizero", "pi5"];

/** A bench server process. */
export interface Child {
  proc: Deno.ChildProcess;
  port: number;
  stop(): Promise<void>;
}

async function spawnReady(args: string[], port: number, command = Deno.execPath()): Promise<Child> {
  const proc = new Deno.Command(command, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Cannot start bench server: it exited before listening (${out})`);
    out += value;
  }
  reader.releaseLock();
  proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  return {
    proc,
    port,
    async stop() {
      try {
        proc.kill("SIGTERM");
      } catch { /* exited */ }
      await proc.status;
    },
  };
}

/** The bench hub in its own process; `denoFlags` go before the script (e.g. `--v8-flags=…`). */
export function startHub(extra: string[] = [], denoFlags: string[] = []): Promise<Child> {
  const port = freePort();
  const spokeArgs = SPOKES.flatMap((s) => ["--spoke", `${s}=${s}-token`]);
  return spawnReady([
    "run",
    "--allow-all",
    ...denoFlags,
    ...(Deno.env.get("BENCH_HUB_FLAGS")?.split(" ").filter(Boolean) ?? []),
    HUB_SCRIPT,
    "--port",
    String(port),
    "--interval",
    "60",
    ...spokeArgs,
    ...extra,
  ], port);
}

/**
 * A bare server answering every request with `body` as JSON: `Deno.serve`, `node:http`, or
 * `node:http` sending the hub's security headers too (what those headers alone cost).
 */
async function startPeer(body: string, kind: "deno" | "node" | "node-headers"): Promise<Child> {
  const port = freePort();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/body.json`, body);
  const read = `const b = new TextEncoder().encode(Deno.readTextFileSync(${
    JSON.stringify(`${dir}/body.json`)
  }));`;
  const code = kind === "deno"
    ? `${read}
Deno.serve({ port: ${port}, hostname: "127.0.0.1", onListen() { console.log("ready"); } },
  () => new Response(b, { headers: { "content-type": "application/json" } }));`
    : `import { createServer } from "node:http";
${read}
const h = ${
      JSON.stringify({
        ...(kind === "node-headers" ? SECURITY_HEADERS : {}),
        "content-type": "application/json",
      })
    };
createServer((_q, r) => { r.writeHead(200, h); r.end(b); })
  .listen(${port}, "127.0.0.1", () => console.log("ready"));`;
  const child = await spawnReady(["eval", code], port);
  return { ...child, stop: async () => (await child.stop(), await Deno.remove(dir, { recursive: true })) };
}

/** CPU seconds (user + system) a process has used. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Peak resident set size of a process (kernel high-water mark), in MB. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? NaN);
  return kb / 1024;
}

/** What one autocannon run measured. */
export interface Load {
  rps: number;
  p99: number;
  errors: number;
  /** Server CPU per request, µs (where measured). */
  cpuUs?: number;
}

const REPEATS = 3;
const LOAD_SECONDS = 5;

/** autocannon with 50 connections for `seconds`. */
export async function load(url: string, seconds = LOAD_SECONDS): Promise<Load> {
  const r = await autocannon({ url, connections: 50, duration: seconds });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** Three spokes with five sensors each, plus the hub's own node: a 4.4 KB `/api/readings`. */
export async function seedReadings(base: string): Promise<void> {
  for (const node of SPOKES) {
    const snap = makeSnapshot(node);
    for (let i = 0; i < 4; i++) {
      snap.readings[`${node}:sensor${i}`] = {
        ...snap.readings[`${node}:bme680`],
        id: `${node}:sensor${i}`,
        sensor: `sensor${i}`,
      };
    }
    const res = await fetch(`${base}/push`, {
      method: "POST",
      headers: { authorization: `Bearer ${node}-token`, "content-type": "application/json" },
      body: JSON.stringify({ node, snapshots: [snap] }),
    });
    if (!res.ok) throw new Error(`Cannot seed hub: /push answered ${res.status} ${await res.text()}`);
  }
}

async function readingsThroughput(): Promise<BenchRow[]> {
  const hub = await startHub(["--public-read", "--max-conn", "1000"], HUB_FLAGS);
  let peer: Child | null = null;
  let nodePeer: Child | null = null;
  let headersPeer: Child | null = null;
  try {
    const base = `http://127.0.0.1:${hub.port}`;
    await seedReadings(base);
    const body = await (await fetch(`${base}/api/readings`)).text();
    peer = await startPeer(body, "deno");
    nodePeer = await startPeer(body, "node");
    headersPeer = await startPeer(body, "node-headers");
    // Interleaved repeats, so the hub and its peers see the same (shared, noisy) machine.
    const runs: Array<{ h: Load; p: Load; n: Load; s: Load }> = [];
    /** A load with the server's CPU per request (µs), less swayed by neighbours than req/s. */
    const timed = async (url: string, pid: number): Promise<Load> => {
      const c0 = await cpuSeconds(pid);
      const r = await load(url);
      return { ...r, cpuUs: ((await cpuSeconds(pid)) - c0) * 1e6 / (r.rps * LOAD_SECONDS) };
    };
    for (let i = 0; i < REPEATS; i++) {
      runs.push({
        h: await timed(`${base}/api/readings`, hub.proc.pid),
        p: await timed(`http://127.0.0.1:${peer.port}/`, peer.proc.pid),
        n: await timed(`http://127.0.0.1:${nodePeer.port}/`, nodePeer.proc.pid),
        s: await timed(`http://127.0.0.1:${headersPeer.port}/`, headersPeer.proc.pid),
      });
    }
    const med = (pick: (r: (typeof runs)[number]) => number) => median(runs.map(pick));
    const h = {
      rps: med((r) => r.h.rps),
      p99: med((r) => r.h.p99),
      errors: med((r) => r.h.errors),
      cpuUs: med((r) => r.h.cpuUs!),
    };
    const p = {
      rps: med((r) => r.p.rps),
      p99: med((r) => r.p.p99),
      errors: med((r) => r.p.errors),
      cpuUs: med((r) => r.p.cpuUs!),
    };
    const n = { rps: med((r) => r.n.rps), cpuUs: med((r) => r.n.cpuUs!) };
    const sh = { rps: med((r) => r.s.rps), cpuUs: med((r) => r.s.cpuUs!) };
    const ratios = spread(runs.map((r) => r.h.rps / r.p.rps));
    const note = `${
      JSON.parse(body).readings.length
    } readings, ${body.length} B; errors ${h.errors}/${p.errors}; median of ${REPEATS}, ratio ${ratios}`;
    return [
      {
        name: "/api/readings req/s (50 conns)",
        value: h.rps,
        unit: "req/s",
        peer: "bare Deno.serve, same bytes",
        peerValue: p.rps,
        ratio: h.rps / p.rps,
        spread: note,
      },
      {
        name: "/api/readings req/s vs node:http (50 conns)",
        value: h.rps,
        unit: "req/s",
        peer: "bare node:http on Deno, same bytes",
        peerValue: n.rps,
        ratio: h.rps / n.rps,
      },
      {
        name: `bare node:http sending the hub's ${
          Object.keys(SECURITY_HEADERS).length
        } security headers (no hub code) vs bare Deno.serve`,
        value: sh.rps,
        unit: "req/s",
        peer: "bare Deno.serve, same bytes",
        peerValue: p.rps,
        ratio: sh.rps / p.rps,
        spread: `${sh.cpuUs.toFixed(0)} µs CPU/request; the hub is ${(h.rps / sh.rps).toFixed(2)}× this`,
      },
      {
        name: "/api/readings server CPU per request (50 conns)",
        value: h.cpuUs,
        unit: "µs",
        peer: "bare Deno.serve, same bytes",
        peerValue: p.cpuUs,
        ratio: h.cpuUs / p.cpuUs,
        spread: `bare node:http ${n.cpuUs.toFixed(0)} µs`,
      },
      {
        name: "/api/readings p99 (50 conns)",
        value: h.p99,
        unit: "ms",
        peer: "bare Deno.serve, same bytes",
        peerValue: p.p99,
        ratio: p.p99 > 0 ? h.p99 / p.p99 : undefined,
      },
    ];
  } finally {
    await peer?.stop();
    await nodePeer?.stop();
    await headersPeer?.stop();
    await hub.stop();
  }
}

const WORKER_NAME = "hub-feed-clients";
const CLIENT_WORKERS = 4;
/** Bench clients ask for coalesced `events` packets, as the dashboard does. */
const BATCH = Deno.env.get("BENCH_FEED_BATCH") !== "0";

/** Worker side: hold `clients` socket.io clients, record tick latencies, hand them back. */
function clientWorker(): void {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(m: unknown, transfer?: Transferable[]): void;
  };
  const sockets: Socket[] = [];
  const lat: number[] = [];
  let lagging = 0;
  scope.onmessage = async (msg: MessageEvent) => {
    const m = msg.data as { op: "connect"; base: string; clients: number; batch: boolean } | {
      op: "collect";
      expected: number;
      waitMs: number;
    };
    if (m.op === "connect") {
      await Promise.all(Array.from({ length: m.clients }, () =>
        new Promise<void>((resolve, reject) => {
          const s = io(m.base, {
            transports: ["websocket"],
            auth: { token: "bench", batch: m.batch },
            reconnection: false,
            forceNew: true,
          });
          sockets.push(s);
          const seen = (e: { type: string; data: { sent: number } }) => {
            if (e.type === "bench.tick") lat.push(performance.timeOrigin + performance.now() - e.data.sent);
          };
          s.on("event", seen);
          s.on("events", (list: Array<{ type: string; data: { sent: number } }>) => list.forEach(seen));
          s.on("lagging", () => lagging++);
          s.once("connect", () => resolve());
          s.once("connect_error", reject);
        })));
      scope.postMessage({ op: "ready" });
    } else {
      const end = Date.now() + m.waitMs;
      while (lat.length < m.expected && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.close();
      const out = Float64Array.from(lat);
      scope.postMessage({ op: "done", lat: out, lagging }, [out.buffer]);
    }
  };
}

function ask<T>(w: Worker, msg: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => resolve(e.data as T);
    w.onerror = (e) => reject(new Error(`Cannot run feed client worker: ${e.message}`));
    w.postMessage(msg);
  });
}

/**
 * The live-feed peer (bench/peers/socketio_feed.mjs) under Node, with socket.io laid out in a
 * temp node_modules by `deno install` from the lock's cached copy (no network needed).
 */
async function startFeedPeer(): Promise<Child> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-feed-peer-" });
  const version = (await import("../deno.json", { with: { type: "json" } })).default.imports["socket.io"]
    .replace(/^npm:socket\.io@/, "");
  await Deno.writeTextFile(`${dir}/package.json`, JSON.stringify({ dependencies: { "socket.io": version } }));
  const install = await new Deno.Command(Deno.execPath(), { args: ["install"], cwd: dir, stdout: "null" })
    .output();
  if (!install.success) {
    throw new Error(
      `Cannot set up the Node feed peer: deno install failed (${new TextDecoder().decode(install.stderr)})`,
    );
  }
  const script = `${dir}/peer.mjs`;
  await Deno.copyFile(new URL("./peers/socketio_feed.mjs", import.meta.url), script);
  const port = freePort();
  const child = await spawnReady([script, String(port), String(FEED_WINDOW_MS)], port, "node");
  return { ...child, stop: async () => (await child.stop(), await Deno.remove(dir, { recursive: true })) };
}

/** The batch window of the hub (its default, services/hub/live_feed.ts) and of the peer. */
const FEED_WINDOW_MS = Number(Deno.env.get("BENCH_FEED_WINDOW_MS") ?? 20);

interface FeedResult {
  p50: number;
  p99: number;
  cpu: number;
  peak: number;
  baseRss: number;
  delivered: number;
  lagging: number;
}

/**
 * Live-feed latency to `clients` socket.io clients (spread over worker threads so the clients'
 * own parsing is not the bottleneck) while `server` emits `rate` events/s for `seconds`.
 */
async function measureFeed(
  server: Child,
  clients: number,
  rate: number,
  seconds: number,
): Promise<FeedResult> {
  const workers = Array.from(
    { length: CLIENT_WORKERS },
    () => new Worker(import.meta.url, { type: "module", name: WORKER_NAME }),
  );
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const share = (i: number) =>
      Math.floor(clients / CLIENT_WORKERS) + (i < clients % CLIENT_WORKERS ? 1 : 0);
    await Promise.all(
      workers.map((w, i) => ask(w, { op: "connect", base, clients: share(i), batch: BATCH })),
    );
    const baseRss = await peakRssMb(server.proc.pid);
    const cpu0 = await cpuSeconds(server.proc.pid);
    const t0 = performance.now();
    const res = await fetch(`${base}/_bench/ticks`, {
      method: "POST",
      body: JSON.stringify({ rate, seconds }),
    });
    const { total } = await res.json();
    const parts = await Promise.all(
      workers.map((w, i) =>
        ask<{ lat: Float64Array; lagging: number }>(w, {
          op: "collect",
          expected: total * share(i),
          waitMs: seconds * 1000 + 20_000,
        })
      ),
    );
    const cpu = ((await cpuSeconds(server.proc.pid)) - cpu0) / ((performance.now() - t0) / 1000);
    const lat = parts.flatMap((p) => [...p.lat]);
    return {
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      cpu,
      peak: await peakRssMb(server.proc.pid),
      baseRss,
      delivered: lat.length / (total * clients),
      lagging: parts.reduce((n, p) => n + p.lagging, 0),
    };
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** The hub's feed and the Node peer's under the same clients and events, each in a fresh process. */
async function feedLatency(
  clients: number,
  rate = 100,
  seconds = 5,
  label = `${clients} clients @ ${rate} ev/s`,
): Promise<BenchRow[]> {
  const hub = await startHub([
    "--bench",
    "--feed-token",
    "bench",
    "--public-read",
    "--max-conn",
    "100000",
    "--feed-batch-ms",
    String(FEED_WINDOW_MS),
  ], HUB_FLAGS);
  let h: FeedResult;
  try {
    h = await measureFeed(hub, clients, rate, seconds);
  } finally {
    await hub.stop();
  }
  const peer = await startFeedPeer();
  let p: FeedResult;
  try {
    p = await measureFeed(peer, clients, rate, seconds);
  } finally {
    await peer.stop();
  }
  const PEER = `minimal socket.io on Node ${await nodeVersion()}, same clients${
    BATCH ? ", same window" : ""
  }`;
  const how = (r: FeedResult) =>
    `${(r.delivered * 100).toFixed(1)}% delivered, ${r.lagging} lagging, CPU ${(r.cpu * 100).toFixed(0)}%`;
  return [
    {
      name: `live feed p50, ${label}`,
      value: h.p50,
      unit: "ms",
      peer: PEER,
      peerValue: p.p50,
      ratio: h.p50 / p.p50,
      spread: `hub ${how(h)}; peer ${how(p)}`,
    },
    {
      name: `live feed p99, ${label}`,
      value: h.p99,
      unit: "ms",
      peer: PEER,
      peerValue: p.p99,
      ratio: h.p99 / p.p99,
    },
    {
      name: `live feed server CPU, ${label}`,
      value: h.cpu * 100,
      unit: "% of a core",
      peer: PEER,
      peerValue: p.cpu * 100,
      ratio: h.cpu / p.cpu,
    },
    {
      name: `feed server peak RSS, ${label}`,
      value: h.peak,
      unit: "MB",
      peer: PEER,
      peerValue: p.peak,
      ratio: h.peak / p.peak,
      spread: `after connect: hub ${h.baseRss.toFixed(0)} MB, peer ${p.baseRss.toFixed(0)} MB`,
    },
  ];
}

async function nodeVersion(): Promise<string> {
  const out = await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** All hub rows. */
export async function benchHub(): Promise<BenchRow[]> {
  const rows = [...await readingsThroughput()];
  for (const n of [100, 500]) rows.push(...await feedLatency(n));
  // A burst of 1 000 events at once to 500 clients: what a spike costs in hub memory.
  rows.push(...await feedLatency(500, 100_000, 0.01, "burst of 1000 events to 500 clients"));
  return rows;
}

if ((globalThis as { name?: string }).name === WORKER_NAME) {
  clientWorker();
} else if (import.meta.main && Deno.args[0] === "readings") {
  for (const r of await readingsThroughput()) console.log(JSON.stringify(r));
} else if (import.meta.main && Deno.args[0] === "feed") {
  const [clients, rate, seconds] = [
    Number(Deno.args[1] ?? 500),
    Number(Deno.args[2] ?? 100),
    Number(Deno.args[3] ?? 5),
  ];
  for (const r of await feedLatency(clients, rate, seconds)) console.log(JSON.stringify(r));
} else if (import.meta.main) {
  for (const r of await benchHub()) console.log(JSON.stringify(r));
}
