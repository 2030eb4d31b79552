/**
 * `GET /health`: a real health check. Every component of this process (scheduler, plugins,
 * snapshot writer, event sink, Redis, hub ingest) as `ok | degraded | down` with a reason and
 * since-when, plus the local nodes the hub reads (liveness, and the health their broker wrote
 * into its snapshot). 200 while the node can do its job (ok or degraded), 503 when it cannot
 * (a critical component down, e.g. no snapshot written for 3 intervals).
 *
 * Also `ingestHealth`: middleware on `/push` that reports refused pushes as `hub ingest` degraded.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ComponentHealth, ComponentStatus, Health } from "../health/mod.ts";
import type { HubCore } from "./core.ts";

const RANK: Record<ComponentStatus, number> = { ok: 0, degraded: 1, down: 2 };
const NODE_STATUS: Record<string, ComponentStatus> = { online: "ok", stale: "degraded", offline: "down" };

/** The `/health` handler over `core` (its `options.health`, when given). */
export function healthRoute(core: HubCore): (c: Context) => Promise<Response> {
  const started = performance.now();
  return async (c) => {
    const o = core.options;
    const uptime_s = Math.floor((performance.now() - started) / 1000);
    const health: Health | undefined = o.health;
    if (!health) return c.json({ ok: true, status: "ok", node: o.node, uptime_s, components: {} });
    await core.refresh();
    const report = health.report();
    let status = report.status;
    const nodes: Record<string, { status: string; health: ComponentStatus | null; components?: unknown }> =
      {};
    for (const id of core.localNodes) {
      const live = core.registry.status(id) ?? "offline";
      const s = core.registry.snapshot(id);
      nodes[id] = { status: live, health: s?.health?.status ?? null };
      if (s?.health && s.health !== null && !report.components.snapshot) {
        // A broker in another process: show its components as it last wrote them.
        nodes[id].components = s.health.components;
      }
      // The hub's own node: its broker being offline degrades the hub, it does not stop it.
      const seen = NODE_STATUS[live] === "down" ? "degraded" : NODE_STATUS[live];
      if (!report.components.snapshot && RANK[seen] > RANK[status]) status = seen;
    }
    const components: Record<string, ComponentHealth> = report.components;
    return c.json(
      { ok: report.serving, status, node: o.node, uptime_s, components, nodes },
      report.serving ? 200 : 503,
    );
  };
}

/** Report each `/push` outcome into `health` as `hub ingest`. */
export function ingestHealth(health: Health | undefined): MiddlewareHandler {
  return async function ingestHealthMiddleware(c, next) {
    await next();
    if (!health) return;
    const s = c.res.status;
    if (s < 300) health.set("hub ingest", "ok");
    else if (s >= 400 && s !== 401) {
      let why = `HTTP ${s}`;
      try {
        const body = await c.res.clone().json();
        if (typeof body?.error === "string") why = `${s}: ${body.error.slice(0, 200)}`;
      } catch { /* not JSON */ }
      health.set("hub ingest", "degraded", `last push refused (${why})`);
    }
  };
}
