/**
 * Scale-out with real processes (issue 14): several brokers and hubs on one Redis (plain, then
 * Sentinel with two failovers), a spoke pushing to one hub seen and commanded through another,
 * and a broker + hub apart without Redis carrying events and logs over the control socket.
 *
 * @module
 */
import assert from "node:assert/strict";
import { io, type Socket } from "socket.io-client";
import { type Service, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";
import { startRedis } from "./_redis.ts";
import { startSentinelSet } from "./_sentinel.ts";

const TOKEN = "scale-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function json(svc: Service, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${svc.url}${path}`, { headers: AUTH, signal: AbortSignal.timeout(5000) });
  return await res.json();
}

async function statuses(hub: Service): Promise<Record<string, string>> {
  const { nodes } = await json(hub, "/api/nodes") as { nodes: Array<{ id: string; status: string }> };
  return Object.fromEntries(nodes.map((n) => [n.id, n.status]));
}

async function readingNodes(hub: Service): Promise<Set<string>> {
  const { readings } = await json(hub, "/api/readings") as {
    readings: Array<{ node: string; stale: boolean }>;
  };
  return new Set(readings.filter((r) => !r.stale).map((r) => r.node));
}

async function buzz(hub: Service, node: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${hub.url}/api/buzzer`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({ pattern: "single", node }),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: await res.json() };
}

/** A socket.io client of `hub` recording which nodes its events came from. */
async function feed(
  hub: Service,
): Promise<{ socket: Socket; nodes: Map<string, number>; events: () => number }> {
  const nodes = new Map<string, number>();
  let count = 0;
  const socket = io(hub.url, {
    transports: ["websocket"],
    auth: { token: TOKEN },
    extraHeaders: AUTH,
    reconnection: true,
  });
  socket.on("event", (e: { node: string; data?: { node?: string } }) => {
    count++;
    nodes.set(e.node, (nodes.get(e.node) ?? 0) + 1);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (e) => reject(e));
  });
  return { socket, nodes, events: () => count };
}

function brokerToml(node: string, dir: string, redis: Record<string, unknown>): string {
  return serviceToml(node, dir, {
    shm: { backend: "redis", ...redis },
    cluster: { push_interval_seconds: 0.5 },
    buzzer: { min_interval_ms: 0 },
    "plugins.dht22": { cadence_seconds: 0.5 },
  });
}

function hubToml(
  node: string,
  dir: string,
  redis: Record<string, unknown>,
  spokes: Record<string, string> = {},
) {
  return serviceToml(node, dir, {
    shm: { backend: "redis", ...redis },
    cluster: { role: "hub", push_interval_seconds: 0.5 },
    hub: { token: TOKEN },
    "cluster.spoke_tokens": Object.keys(spokes).length ? spokes : null,
    "plugins.dht22": { enabled: false },
    "plugins.bme680": { enabled: false },
    "plugins.oled": { enabled: false },
    "plugins.system": { enabled: false },
    "plugins.hello": { enabled: false },
  });
}

/** Brokers n1 and n2 and hubs hub-a and hub-b on the Redis (or Sentinel) settings `r`. */
function brokersAndHubs(
  dir: string,
  r: Record<string, unknown>,
  spokes: Record<string, string> = {},
): Promise<Service[]> {
  const broker = (name: string, node: string) =>
    startService({ name, mode: "broker", toml: brokerToml(node, `${dir}/${node}`, r), waitHealth: false });
  const hub = (name: string, node: string) =>
    startService({ name, mode: "hub", toml: hubToml(node, `${dir}/${name}`, r, spokes) });
  return Promise.all([broker("b1", "n1"), broker("b2", "n2"), hub("hA", "hub-a"), hub("hB", "hub-b")]);
}

Deno.test({
  name: "two brokers, two hubs and a spoke on one Redis: every hub shows and commands every node",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "harvester-scale-" });
    for (const d of ["n1", "n2", "n3", "hA", "hB", "sp1"]) await Deno.mkdir(`${dir}/${d}`);
    const r = { redis_url: redis.url };
    const started: Service[] = [];
    const sockets: Socket[] = [];
    try {
      const spokes = { sp1: "sp1-token" };
      const [b1, b2, hA, hB] = await brokersAndHubs(dir, r, spokes);
      started.push(b1, b2, hA, hB);
      // A broker and hub in one process (main.ts start) on the same Redis: a node like the others.
      const n3 = await startService({
        name: "n3",
        toml: serviceToml("n3", `${dir}/n3`, {
          shm: { backend: "redis", ...r },
          cluster: { push_interval_seconds: 0.5 },
          hub: { token: TOKEN },
          buzzer: { min_interval_ms: 0 },
        }),
      });
      started.push(n3);
      const spoke = await startService({
        name: "sp1",
        mode: "broker",
        waitHealth: false,
        toml: serviceToml("sp1", `${dir}/sp1`, {
          shm: { backend: "memory" },
          cluster: { role: "spoke", hub_url: hA.url, token: "sp1-token", push_interval_seconds: 0.5 },
          buzzer: { min_interval_ms: 0 },
        }),
      });
      started.push(spoke);
      for (const hub of [hA, hB]) {
        await waitFor(`readings of n1, n2 and sp1 on ${hub.url}`, async () => {
          const n = await readingNodes(hub);
          return n.has("n1") && n.has("n2") && n.has("n3") && n.has("sp1");
        }, 45_000);
        const s = await statuses(hub);
        assert.equal(s.n1, "online", JSON.stringify(s));
        assert.equal(s.n2, "online", JSON.stringify(s));
        assert.equal(s.sp1, "online", JSON.stringify(s));
      }
      // Live events of both brokers on socket.io clients of both hubs.
      const fA = await feed(hA);
      const fB = await feed(hB);
      sockets.push(fA.socket, fB.socket);
      for (const f of [fA, fB]) {
        await waitFor(
          "live events from n1 and n2",
          () => (f.nodes.get("n1") ?? 0) > 0 && (f.nodes.get("n2") ?? 0) > 0,
          15_000,
        );
      }
      // A command through hub B reaches broker n1; a buzzer for the spoke (pushing to A) through B reaches it.
      for (const [hub, node] of [[hB, "n1"], [hB, "sp1"], [hB, "n3"], [n3, "n1"], [n3, "sp1"]] as const) {
        const { status, body } = await buzz(hub, node);
        assert.equal(status, 200, `${node} through ${hub.url}: ${JSON.stringify(body)}`);
        assert.equal((body.result as { ok: boolean }).ok, true, JSON.stringify(body));
      }
      await waitFor("n1 and sp1 on the start-mode node's own hub", async () => {
        const n = await readingNodes(n3);
        return n.has("n1") && n.has("sp1") && n.has("n3");
      }, 15_000);
      // Logs of n1 (a broker hub B has no configuration for) through hub B.
      await waitFor("n1's broker log on hub B", async () => {
        const { lines } = await json(hB, "/api/logs?node=n1") as { lines: Array<{ message: string }> };
        return lines.some((l) => l.message.includes("broker ready: node n1"));
      }, 15_000);
      await waitFor("sp1's pushed log on hub B", async () => {
        const { lines } = await json(hB, "/api/logs?node=sp1") as { lines: Array<{ message: string }> };
        return lines.some((l) => l.message.includes("broker ready: node sp1"));
      }, 15_000);
      // Stale and offline are the same on every hub.
      await b2.stop(true);
      for (const hub of [hA, hB]) {
        await waitFor(`n2 offline on ${hub.url}`, async () => (await statuses(hub)).n2 === "offline", 20_000);
      }
    } finally {
      for (const s of sockets) s.disconnect();
      await Promise.all(started.map((s) => s.stop()));
      await redis.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "Sentinel: 2 brokers and 2 hubs follow two failovers; events, online status and commands come back",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const set = await startSentinelSet();
    const dir = await Deno.makeTempDir({ prefix: "harvester-sentinel-e2e-" });
    for (const d of ["n1", "n2", "hA", "hB"]) await Deno.mkdir(`${dir}/${d}`);
    const sentinels = set.sentinelPorts.map((p) => `127.0.0.1:${p}`);
    const r = { sentinels, master_name: set.master };
    const started: Service[] = [];
    const sockets: Socket[] = [];
    try {
      const all = await brokersAndHubs(dir, r);
      started.push(...all);
      const [, , hA, hB] = all;
      for (const hub of [hA, hB]) {
        await waitFor(`readings of n1 and n2 on ${hub.url}`, async () => {
          const n = await readingNodes(hub);
          return n.has("n1") && n.has("n2");
        }, 45_000);
      }
      const feeds = [await feed(hA), await feed(hB)];
      sockets.push(...feeds.map((f) => f.socket));
      for (const f of feeds) {
        await waitFor(
          "live events of n1 and n2",
          () => (f.nodes.get("n1") ?? 0) > 0 && (f.nodes.get("n2") ?? 0) > 0,
          15_000,
        );
      }
      assert.equal((await buzz(hB, "n1")).status, 200);
      for (const round of [1, 2]) {
        const f = await set.failover();
        const marks = feeds.map((x) => new Map(x.nodes));
        const t0 = performance.now();
        for (const [i, x] of feeds.entries()) {
          await waitFor(
            `round ${round}: events of n1 and n2 again on hub ${i}`,
            () => ["n1", "n2"].every((n) => (x.nodes.get(n) ?? 0) > (marks[i].get(n) ?? 0)),
            10_000,
          );
        }
        const back = Math.round(performance.now() - t0);
        for (const hub of [hA, hB]) {
          await waitFor(`round ${round}: n1 and n2 online on ${hub.url}`, async () => {
            const s = await statuses(hub);
            return s.n1 === "online" && s.n2 === "online";
          }, 15_000);
        }
        const c = await buzz(hB, "n1");
        assert.equal(c.status, 200, `round ${round}: ${JSON.stringify(c.body)}`);
        const health = await json(hA, "/health") as { components: Record<string, { status: string }> };
        assert.equal(health.components.redis?.status, "ok", JSON.stringify(health));
        const metrics = await (await fetch(`${hA.url}/metrics`, { headers: AUTH })).text();
        const followed = /harvester_redis_failovers_total\{[^}]*\} (\d+)/.exec(metrics)?.[1];
        assert.equal(Number(followed), round, `failovers followed by hub A:\n${metrics.slice(0, 2000)}`);
        assert.match(metrics, new RegExp(`harvester_redis_master\\{[^}]*master="127.0.0.1:${f.promoted}"`));
        console.log(`failover ${round}: promoted in ${f.ms} ms; events on both hubs ${back} ms later`);
        await set.restore(f.killed);
      }
    } finally {
      for (const s of sockets) s.disconnect();
      await Promise.all(started.map((s) => s.stop()));
      await set.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "broker + hub apart without Redis: the hub's events, live feed and logs carry the broker's",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-apart-" });
    const toml = serviceToml("solo", dir, {
      hub: { token: TOKEN },
      "plugins.dht22": { cadence_seconds: 0.5 },
    });
    const broker = await startService({ name: "apart-broker", mode: "broker", toml, waitHealth: false });
    let hub: Service | null = null;
    let socket: Socket | null = null;
    try {
      hub = await startService({ name: "apart-hub", mode: "hub", toml });
      const h = hub;
      const f = await feed(h);
      socket = f.socket;
      await waitFor("the broker's reading events in /api/events", async () => {
        const { events } = await json(h, "/api/events?type=reading&limit=50") as {
          events: Array<{ node: string }>;
        };
        return events.some((e) => e.node === "solo");
      }, 20_000);
      await waitFor("the broker's events on the live feed", () => (f.nodes.get("solo") ?? 0) > 3, 15_000);
      await waitFor("the broker's own log lines", async () => {
        const { lines } = await json(h, "/api/logs?node=solo") as {
          lines: Array<{ source: string; message: string }>;
        };
        return lines.some((l) => l.message.includes("broker ready: node solo"));
      }, 10_000);
    } finally {
      socket?.disconnect();
      await hub?.stop();
      await broker.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
