/**
 * One contract, every link (issue 14): whatever the transport — in-process, Redis, Unix socket —
 * a broker's snapshot, events, logs and command results reach the hub's end, and a hub's command
 * reaches the broker's handler. The Redis link runs against a real redis-server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createEvents, type Events } from "../services/events/mod.ts";
import { createSharedState } from "../services/shm/mod.ts";
import { LocalCommandBus } from "../services/link/mod.ts";
import { LogRing } from "../services/broker/logs.ts";
import { type BrokerEnd, brokerEnd, type HubEnd, hubEnd, type LinkKind } from "../services/link/mod.ts";
import type { EventEnvelope } from "../services/events/event.ts";
import type { SharedState } from "../services/shm/snapshot.ts";
import { makeSnapshot } from "../services/shm/_test_snapshot.ts";
import { type RedisServer, startRedis } from "./_redis.ts";

async function until<T>(
  what: string,
  fn: () => Promise<T | null | false> | T | null | false,
  ms = 5000,
): Promise<T> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const v = await fn();
    if (v) return v as T;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

interface Pair {
  broker: BrokerEnd;
  hub: HubEnd;
  closeStores(): Promise<void>;
}

async function open(kind: LinkKind, dir: string, redis: RedisServer | null, ring: LogRing): Promise<Pair> {
  const node = "n1";
  const socketPath = `${dir}/control-${node}.sock`;
  const redisUrl = kind === "redis" ? redis!.url : undefined;
  const stores = async (who: string): Promise<{ events: Events; state: SharedState }> => ({
    events: createEvents({ node: who, redisUrl }),
    state: await createSharedState({
      backend: kind === "redis" ? "redis" : "memory",
      node,
      redisUrl,
    }),
  });
  const bus = new LocalCommandBus();
  const b = await stores(node);
  // In one process both ends share the stores; across processes each has its own.
  const h = kind === "local" ? b : await stores("hub");
  const broker = brokerEnd(kind, { stores: b, redisUrl, socketPath, bus });
  const hub = hubEnd(kind, { stores: h, redisUrl, socketPath, bus, node, localLogs: () => ring.lines() });
  return {
    broker,
    hub,
    async closeStores() {
      for (const s of kind === "local" ? [b] : [b, h]) {
        await s.events.close();
        await s.state.close();
      }
    },
  };
}

for (const kind of ["local", "redis", "unix"] as const) {
  Deno.test({
    name: `link '${kind}': snapshot, events, logs and commands cross it`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: `harvester-link-${kind}-` });
      const redis = kind === "redis" ? await startRedis() : null;
      const ring = new LogRing({ echo: null });
      const pair = await open(kind, dir, redis, ring);
      const { broker, hub } = pair;
      let latest = makeSnapshot("n1", 1);
      try {
        await broker.serve({
          node: "n1",
          handler: (req) => Promise.resolve({ id: req.id, ok: true, data: { ran: req.command.type } }),
          logsAfter: (seq, limit) => ring.after(seq, limit),
          logLines: () => ring.lines(),
          snapshot: () => latest,
        });
        // Snapshot: written each cycle on the broker's end, read on the hub's.
        latest = makeSnapshot("n1", 7);
        if (kind !== "unix") await broker.state.write(latest);
        const seen = await until("the snapshot on the hub's end", async () => {
          const s = await hub.state.read("n1");
          return s?.cycle === 7 ? s : null;
        });
        assert.deepEqual(Object.keys(seen.readings).sort(), Object.keys(latest.readings).sort());
        // Events: live on the hub's log, and queryable there.
        const live: EventEnvelope[] = [];
        const off = hub.events.log.subscribe((e) => live.push(e));
        // Live means from the moment the hub's end is listening: wait until a probe gets through.
        await until("the hub's end listening", () => {
          broker.events.emitter.emit("probe", {});
          return live.some((e) => e.type === "probe");
        }, 10_000);
        for (let i = 0; i < 5; i++) broker.events.emitter.emit("reading", { i });
        await until("five live events", () => live.filter((e) => e.type === "reading").length === 5);
        assert.deepEqual(live.filter((e) => e.type === "reading").map((e) => e.data.i), [0, 1, 2, 3, 4]);
        assert.ok(live.every((e) => e.node === "n1"), JSON.stringify(live));
        const stored = await hub.events.log.query({ type: "reading", limit: 10 });
        assert.deepEqual(stored.map((e) => e.data.i), [0, 1, 2, 3, 4]);
        off();
        // Logs: the broker's lines on the hub's end.
        ring.log("info", "harvester", `broker ready: node n1 over ${kind}`);
        await until(
          "the log line",
          async () => (await hub.logs("n1")).some((l) => l.message.includes(`over ${kind}`)),
        );
        // Commands and results.
        const r = await hub.commands.send("n1", { type: "buzzer", pattern: "single" } as never, 3000);
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.deepEqual(r.data, { ran: "buzzer" });
      } finally {
        await hub.close();
        await broker.close();
        await pair.closeStores();
        await redis?.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  });
}
