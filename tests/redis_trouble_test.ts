/**
 * Redis trouble spoken, against the real service and a real redis-server (issue 13): a Redis that
 * refuses the service (`requirepass`, no password in REDIS_URL) and one that dies and returns. One
 * plain log line each way however many connections see it, `/api/events` answers 503 with the
 * reason (never 500), reconnects back off (bounded rate), `/health` and `/metrics` show it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { freePort } from "./_redis.ts";
import { type Service, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";

/** A read-scoped credential: the hub answers nothing but the page and /health without one. */
const AUTH = { headers: { authorization: "Bearer test-read-token" } };

const PASSWORD = "trouble-s3cret";

/** redis-server on `port`, with or without a password. */
async function redisServer(port: number, password?: string): Promise<Deno.ChildProcess> {
  const args = [
    "--port",
    String(port),
    "--dir",
    Deno.makeTempDirSync(),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ];
  if (password) args.push("--requirepass", password);
  const child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
  await waitFor(`redis-server on ${port}`, async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }, 10_000);
  return child;
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  await child.status;
}

/** Connections the server has accepted since it started (an authenticated admin client). */
async function connectionsReceived(port: number, password?: string): Promise<number> {
  const c = createClient({ url: `redis://127.0.0.1:${port}`, password });
  c.on("error", () => {});
  await c.connect();
  try {
    const info = await c.info("stats");
    return Number(info.match(/total_connections_received:(\d+)/)![1]);
  } finally {
    c.destroy();
  }
}

interface HealthBody {
  ok: boolean;
  components: Record<string, { status: string; reason: string | null; since: string }>;
}

async function health(svc: Service): Promise<{ status: number; body: HealthBody }> {
  const res = await fetch(`${svc.url}/health`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

async function redisComponent(svc: Service): Promise<string | undefined> {
  return (await health(svc)).body.components.redis?.status;
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

Deno.test({
  name: "Redis that refuses (NOAUTH), dies and returns: one line each way, 503 not 500, bounded reconnects",
  sanitizeResources: false,
  fn: async () => {
    const port = freePort();
    const url = `redis://127.0.0.1:${port}`;
    let redis = await redisServer(port, PASSWORD);
    const dir = await Deno.makeTempDir({ prefix: "harvester-redis-trouble-" });
    const node = `rt${crypto.randomUUID().slice(0, 6)}`;
    let svc: Service | null = null;
    try {
      svc = await startService({
        name: "redis-trouble",
        toml: serviceToml(node, dir, {
          hub: { token: "test-read-token" },
          shm: { backend: "auto", redis_url: url },
        }),
      });
      const s = svc;
      const noauth =
        `Cannot use Redis at ${url}: NOAUTH Authentication required — set the password in REDIS_URL`;

      // Refused: said once, in plain words, and shown.
      await waitFor("redis down in /health", async () => (await redisComponent(s)) === "down", 20_000);
      const h = await health(s);
      assert.equal(h.status, 200, "Redis is not needed to poll: the node still does its job");
      assert.equal(h.body.components.redis.reason, noauth);
      const metrics = await (await fetch(`${s.url}/metrics`, AUTH)).text();
      assert.match(metrics, /^harvester_component_up\{component="redis"\} 0$/m);
      const events = await fetch(`${s.url}/api/events`, AUTH);
      assert.equal(events.status, 503);
      assert.match((await events.json()).error, /^Cannot read events: /);

      // Reconnects back off: measured at the server over 10 s.
      await new Promise((r) => setTimeout(r, 3000)); // past the first fast retries
      const c0 = await connectionsReceived(port, PASSWORD);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 10_000));
      const rate = ((await connectionsReceived(port, PASSWORD)) - c0 - 1) / ((performance.now() - t0) / 1000);
      console.log(`reconnects while refused: ${rate.toFixed(2)}/s (all connections of the service)`);
      assert.ok(rate <= 5, `service reconnects ${rate.toFixed(1)} times a second`);
      assert.equal(count(s.output(), noauth), 1, s.output().slice(-3000));
      assert.equal(count(s.output(), "Cannot use Redis"), 1);

      // Redis comes back (without a password now): one line, /api/events answers.
      await kill(redis);
      redis = await redisServer(port);
      await waitFor("redis ok in /health", async () => (await redisComponent(s)) === "ok", 30_000);
      const back = `Redis at ${url} is reachable again`;
      // Each connection of the service retries on its own capped backoff (≤ 2.5 s): the event reader
      // may follow the first connection that came back a moment later.
      await waitFor("/api/events answers again", async () => {
        const r = await fetch(`${s.url}/api/events`, AUTH);
        await r.body?.cancel();
        return r.status === 200;
      }, 10_000);
      assert.match(
        await (await fetch(`${s.url}/metrics`, AUTH)).text(),
        /^harvester_component_up\{component="redis"\} 1$/m,
      );

      // Dies: one line; every request that needs it is a 503, never a 500.
      await kill(redis);
      await waitFor("redis down again", async () => (await redisComponent(s)) === "down", 30_000);
      for (let i = 0; i < 5; i++) {
        const r = await fetch(`${s.url}/api/events?limit=5`, AUTH);
        assert.equal(r.status, 503);
        await r.body?.cancel();
      }
      assert.match(
        (await health(s)).body.components.redis.reason ?? "",
        new RegExp(`^Cannot use Redis at ${url}: `),
      );
      redis = await redisServer(port);
      await waitFor("redis ok again", async () => (await redisComponent(s)) === "ok", 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      const out = s.output();
      assert.equal(count(out, "Cannot use Redis at"), 2, out.slice(-4000));
      assert.equal(count(out, back), 2, out.slice(-4000));
      assert.ok(!out.includes("unhandled error"), "no stack traces");
    } finally {
      await svc?.stop();
      await kill(redis);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
