/**
 * A hub in its own process, for flow tests and the bench: the in-memory event pipeline
 * (`createEvents` without Redis), `MemorySharedState`, and a local command bus whose `hub` broker
 * answers every command. Prints `ready <port>` when listening.
 *
 *     deno run --allow-all services/hub/_serve_for_test.ts --port 8080 --spoke pi4=pi4-token --write w [--bench]
 *       [--feed-token t] [--public-read] [--feed-batch-ms 20]

 * `--write` is a token with scopes read + act, `--feed-token` one with read.
 *
 * With `--bench`, `POST /_bench/ticks {rate, seconds}` emits `bench.tick` events `{sent}` (epoch
 * ms, sub-ms precision) at `rate` per second, for live-feed latency measurements.
 *
 * @module
 */
import { LocalCommandBus } from "../link/mod.ts";
import { createEvents } from "../events/mod.ts";
import { MemorySharedState } from "../shm/mod.ts";
import { createHub } from "./mod.ts";
import { makeSnapshot } from "./_test_fakes.ts";

const args = Deno.args;
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const spokes: Record<string, string> = {};
args.forEach((a, i) => {
  if (a === "--spoke") {
    const [node, token] = args[i + 1].split("=");
    spokes[node] = token;
  }
});

const events = createEvents({ node: "hub" });
const state = new MemorySharedState({ node: "hub" });
await state.write(makeSnapshot("hub"));
const bus = new LocalCommandBus();
bus.register("hub", (req) => Promise.resolve({ id: req.id, ok: true, data: req.command }));
const hub = createHub({
  node: "hub",
  state,
  events: events.log,
  emit: events.emitter,
  commands: bus,
  tokens: {
    write: arg("write") ?? "write-token",
    spokes,
    feed: arg("feed-token") ? [arg("feed-token")!] : [],
  },
  access: {
    publicRead: args.includes("--public-read"),
    log: () => {},
    net: { maxPerClient: Number(arg("max-conn") ?? 32) },
  },
  pushIntervalSeconds: Number(arg("interval") ?? 1),
  feedMaxPending: arg("max-pending") ? Number(arg("max-pending")) : undefined,
  feedBatchMs: arg("feed-batch-ms") ? Number(arg("feed-batch-ms")) : undefined,
  metrics: () => ({ emitter: events.emitter.stats() }),
});

const timers = new Set<ReturnType<typeof setInterval>>();
if (args.includes("--bench")) {
  hub.app.post("/_bench/ticks", async (c) => {
    const { rate, seconds } = await c.req.json() as { rate: number; seconds: number };
    const every = 1000 / rate;
    const total = Math.round(rate * seconds);
    let sent = 0;
    const t0 = performance.now();
    // Catch up on late timers so the rate holds on a busy machine.
    const id = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / every) + 1);
      for (; sent < due; sent++) {
        events.emitter.emit("bench.tick", { seq: sent, sent: performance.timeOrigin + performance.now() });
      }
      if (sent >= total) {
        clearInterval(id);
        timers.delete(id);
      }
    }, Math.max(1, Math.floor(every)));
    timers.add(id);
    return c.json({ ok: true, total });
  });
}

const server = await hub.listen(Number(arg("port") ?? 0));
// Keep the local snapshot fresh so the hub's own node stays online.
const refresh = setInterval(() => state.write(makeSnapshot("hub")), 500);
console.log(`ready ${server.port}`);
const stop = async () => {
  clearInterval(refresh);
  for (const t of timers) clearInterval(t);
  await hub.close();
  await events.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
