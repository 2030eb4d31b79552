/**
 * Test helper: a real Sentinel deployment on loopback — a master, a replica and three
 * `redis-sentinel`s (quorum 2, down-after 1 s) — with a failover the test causes by SIGKILLing
 * the master. The killed server comes back on its port as a replica of the promoted one (as its
 * rewritten config would make it), and the sentinels list it again before the next failover.
 *
 * @module
 */
import { createClient } from "redis";
import { freePort } from "./_redis.ts";
import type { EventLog } from "../services/events/event.ts";

/** One data node (master or replica). */
interface DataNode {
  port: number;
  child: Deno.ChildProcess | null;
  args: string[];
}

/** A running Sentinel deployment. */
export interface SentinelSet {
  /** `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/harvester`. */
  url: string;
  master: string;
  sentinelPorts: number[];
  /** Port of the data node the sentinels call master now. */
  masterPort(): Promise<number>;
  /**
   * SIGKILL the master and wait until the sentinels promoted the replica.
   *
   * @returns the killed port, the promoted port and ms from the kill to the promotion.
   */
  failover(): Promise<{ killed: number; promoted: number; ms: number }>;
  /** Start the killed server again and wait until it is a synced replica of the master. */
  restore(port: number): Promise<void>;
  stop(): Promise<void>;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null>, ms: number): Promise<T> {
  const until = performance.now() + ms;
  let last: unknown = null;
  while (performance.now() < until) {
    try {
      const v = await fn();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Cannot set up Sentinel: ${what} not within ${ms} ms${last ? ` (${last})` : ""}`);
}

async function command(port: number, args: string[]): Promise<unknown> {
  const c = createClient({
    socket: { host: "127.0.0.1", port, connectTimeout: 500, reconnectStrategy: false },
  });
  c.on("error", () => {});
  try {
    await c.connect();
    return await c.sendCommand(args);
  } finally {
    try {
      c.destroy();
    } catch { /* never connected */ }
  }
}

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
}

async function kill(c: Deno.ChildProcess | null, signal: Deno.Signal = "SIGKILL"): Promise<void> {
  if (!c) return;
  try {
    c.kill(signal);
  } catch { /* gone */ }
  await c.status;
}

/** Start master, replica and three sentinels; resolves once the sentinels see the replica. */
export async function startSentinelSet(master = "harvester"): Promise<SentinelSet> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-sentinel-" });
  const base = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  // Each data node in its own folder: a full resync writes dump.rdb there, never into the cwd
  // (where every later redis-server of the suite would load it).
  const own = (port: number) => {
    Deno.mkdirSync(`${dir}/${port}`, { recursive: true });
    return ["--port", String(port), "--dir", `${dir}/${port}`, ...base];
  };
  const m = freePort();
  const nodes: DataNode[] = [{ port: m, child: null, args: own(m) }];
  const r = freePort();
  nodes.push({ port: r, child: null, args: [...own(r), "--replicaof", "127.0.0.1", String(m)] });
  for (const n of nodes) n.child = spawn(n.args);
  await waitFor("the replica in sync", async () => {
    const info = String(await command(r, ["INFO", "replication"]));
    return /master_link_status:up/.test(info) ? true : null;
  }, 10_000);
  const sentinelPorts = [freePort(), freePort(), freePort()];
  const sentinels: Deno.ChildProcess[] = [];
  for (const p of sentinelPorts) {
    const conf = `${dir}/sentinel-${p}.conf`;
    await Deno.writeTextFile(
      conf,
      [
        `port ${p}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${master} 127.0.0.1 ${m} 2`,
        `sentinel down-after-milliseconds ${master} 1000`,
        `sentinel failover-timeout ${master} 3000`,
        `sentinel parallel-syncs ${master} 1`,
        "",
      ].join("\n"),
    );
    sentinels.push(
      new Deno.Command("redis-sentinel", { args: [conf], stdout: "null", stderr: "null" }).spawn(),
    );
  }
  const masterPort = async () => {
    for (const p of sentinelPorts) {
      try {
        const a = await command(p, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", master]) as string[];
        if (Array.isArray(a)) return Number(a[1]);
      } catch { /* try the next */ }
    }
    throw new Error("no sentinel answers");
  };
  // Every sentinel must know the replica and the other sentinels before a failover can happen.
  await waitFor("three sentinels that know the replica and each other", async () => {
    for (const p of sentinelPorts) {
      const replicas = await command(p, ["SENTINEL", "REPLICAS", master]) as unknown[];
      const peers = await command(p, ["SENTINEL", "SENTINELS", master]) as unknown[];
      if (!Array.isArray(replicas) || replicas.length < 1 || !Array.isArray(peers) || peers.length < 2) {
        return null;
      }
    }
    return true;
  }, 20_000);
  const byPort = (port: number) => nodes.find((n) => n.port === port)!;
  return {
    url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(",")}/${master}`,
    master,
    sentinelPorts,
    masterPort,
    async failover() {
      const killed = await masterPort();
      const t0 = performance.now();
      const node = byPort(killed);
      await kill(node.child);
      node.child = null;
      const promoted = await waitFor("a promotion", async () => {
        const p = await masterPort();
        if (p === killed) return null;
        const role = await command(p, ["ROLE"]) as unknown[];
        return role?.[0] === "master" ? p : null;
      }, 30_000);
      return { killed, promoted, ms: Math.round(performance.now() - t0) };
    },
    async restore(port) {
      const node = byPort(port);
      // Back as a replica of the current master, as its config reads once Sentinel has rewritten it
      // (left to find out alone, a returning master waited for the sentinels' demotion for over 30 s
      // on a loaded machine).
      node.child = spawn([...own(port), "--replicaof", "127.0.0.1", String(await masterPort())]);
      await waitFor(`127.0.0.1:${port} back as a synced replica`, async () => {
        const info = String(await command(port, ["INFO", "replication"]));
        return /role:slave/.test(info) && /master_link_status:up/.test(info) ? true : null;
      }, 60_000);
      // The sentinels must list it as a replica again before the next failover can pick it.
      await waitFor("the sentinels to see the returned replica", async () => {
        for (const p of sentinelPorts) {
          const replicas = await command(p, ["SENTINEL", "REPLICAS", master]) as string[][];
          const ok = replicas.some((r) => {
            const f = Object.fromEntries(r.flatMap((v, i) => (i % 2 ? [] : [[v, r[i + 1]]])));
            return Number(f.port) === port && !String(f.flags).includes("down");
          });
          if (!ok) return null;
        }
        return true;
      }, 30_000);
    },
    async stop() {
      await Promise.all(sentinels.map((s) => kill(s, "SIGTERM")));
      await Promise.all(nodes.map((n) => kill(n.child, "SIGTERM")));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * How many of the events `type` numbered `data.n` = 0..count-1 the stream does not hold: read back
 * page by page from the oldest, the record a reader would find.
 */
export async function missingFromStream(log: EventLog, type: string, count: number): Promise<number> {
  const stored = new Set<number>();
  let since = "0-0";
  for (;;) {
    const page = await log.query({ type, limit: 1000, since });
    for (const e of page) stored.add(Number(e.data.n));
    if (page.length < 1000) break;
    since = page[page.length - 1].id ?? since;
  }
  return Array.from({ length: count }, (_, i) => i).filter((i) => !stored.has(i)).length;
}
