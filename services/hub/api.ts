/**
 * The hub's Hono app: dashboard, read API, write API, spoke ingest, health, metrics, MCP, and the
 * auth routes. Every request passes the Host allowlist and is resolved to a principal; each
 * route names the scope it needs (see the endpoint table in README.md).
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { Command } from "../link/mod.ts";
import type { Snapshot } from "../shm/snapshot.ts";
import type { HubCore } from "./core.ts";
import { onError, RequestError, validate } from "./errors.ts";
import type { Principal } from "./auth/access.ts";
import { authenticate, checkHost, principalOf, requireScope } from "./auth/guard.ts";
import type { HostAllowlist } from "./auth/host_check.ts";
import { mountAuthRoutes } from "./auth/routes.ts";
import { isAdminEvent } from "./live_feed.ts";
import { bearer, checkOrigin, limitBody, missingToken, readJson, timeRequests } from "./middleware.ts";
import {
  buzzerBody,
  buzzerTestBody,
  ledBody,
  logsQuery,
  nameBody,
  pluginIdParam,
  pushBody,
  pushResultsBody,
  reloadBody,
} from "./schemas.ts";
import { serveAsset, serveIndex } from "./static.ts";
import { securityHeaders } from "./security_headers.ts";
import { registerHistory } from "./history_api.ts";
import { admitSnapshot } from "./ingest.ts";
import { eventsRoute } from "./events_route.ts";
import { healthRoute, ingestHealth } from "./health_route.ts";

const CLAMPED = "harvester_ingest_clamped_total";

/** Build the Hono app over `core`; `hosts` is the Host allowlist. */
export function createApp(core: HubCore, hosts: HostAllowlist): Hono {
  const o = core.options;
  const app = new Hono();
  const maxBody = o.bodyLimitBytes ?? 1024 * 1024;
  const origins = o.corsOrigins ?? [];

  app.onError((err, c) => onError(err, c, o.log));
  app.notFound((c) => c.json({ error: `Cannot ${c.req.method} ${c.req.path}: no such route` }, 404));
  app.use("*", timeRequests(core.metrics));
  app.use("*", securityHeaders());
  if (origins.length) {
    app.use(
      "*",
      cors({
        origin: origins,
        allowHeaders: ["Authorization", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version"],
      }),
    );
  }
  const access = core.access;
  app.use("*", checkHost(hosts));
  app.use("*", authenticate(access));
  const readPublic = (what: string) => requireScope("read", what, { publicWhen: () => access.publicRead });
  const read = (what: string) => requireScope("read", what);

  // --- history (the recorder)
  // Readings over time: public like the readings when [hub] public_read is on.
  registerHistory(app, o.history, readPublic("read history"));

  // --- dashboard
  // The page is the same for everyone and holds no credential; the script asks /auth/session.
  app.get("/", (c) => serveIndex(c, o.dashboardDir));
  app.get("/setup", (c) => serveIndex(c, o.dashboardDir));
  app.get("/assets/*", (c) => serveAsset(c, o.dashboardDir));

  // --- read API
  app.get("/health", healthRoute(core));
  app.get("/api/readings", readPublic("read readings"), async (c) => {
    await core.refresh();
    const ts = new Date(core.clock.now()).toISOString();
    return c.body(`{"timestamp":"${ts}","readings":${core.registry.readingsJson()}}`, 200, {
      "content-type": "application/json",
    });
  });
  app.get("/api/nodes", readPublic("read nodes"), async (c) => {
    await core.refresh();
    return c.json({ nodes: core.registry.list() });
  });
  app.get("/api/plugins", read("read plugins"), async (c) => {
    await core.refresh();
    return c.json({ plugins: core.registry.plugins() });
  });
  app.get("/api/logs", read("read logs"), async (c) => {
    const q = validate(logsQuery, c.req.query(), "query");
    const node = q.node ?? o.node;
    await core.refresh();
    if (!core.registry.has(node)) {
      throw new RequestError(
        404,
        `Cannot read logs of node "${node}": unknown node`,
        "node",
        "is not a known node",
      );
    }
    return c.json({ node, lines: await core.logs(node) });
  });
  app.get("/api/events", read("read events"), (c) => {
    // Audit events are for admins (GET /api/audit).
    const admin = principalOf(c).scopes.has("admin");
    return eventsRoute(c, o.events, o.eventsAnswerMaxBytes, undefined, (t) => admin || !isAdminEvent(t));
  });
  app.get("/metrics", requireScope("metrics", "read metrics"), async (c) => {
    await core.refresh();
    const text = core.metrics.render(core.registry, core.liveClients(), o.metrics?.() ?? {});
    return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  mountAuthRoutes(app, access, o.events, origins);

  // --- write API: act scope (CSRF for sessions), body limit, validated bodies, audited
  const write = [
    limitBody(maxBody),
    checkOrigin(origins),
    requireScope("act", "act on devices", { allowed: origins }),
  ] as const;
  const act = async (node: string, command: Command, who: Principal) => {
    try {
      const result = await core.dispatch(node, command);
      access.audit(command.type, who, { node, command, ok: true });
      return { ok: true, node, result };
    } catch (e) {
      access.audit(command.type, who, { node, command, ok: false, error: (e as Error).message });
      throw e;
    }
  };
  const buzzerNode = o.buzzerNode ?? o.node;

  app.post("/api/buzzer", ...write, async (c) => {
    const b = validate(buzzerBody, await readJson(c), "body", "buzzer");
    const node = b.node ?? buzzerNode;
    return c.json(await act(node, { type: "buzzer", pattern: b.pattern }, principalOf(c)));
  });
  app.post("/api/buzzer/test", ...write, async (c) => {
    const b = validate(buzzerTestBody, await readJson(c, true), "body", "buzzer");
    const node = b.node ?? buzzerNode;
    return c.json(await act(node, { type: "buzzer", pattern: "triple" }, principalOf(c)));
  });
  app.post("/api/leds", ...write, async (c) => {
    const b = validate(ledBody, await readJson(c), "body", "leds");
    const node = b.node ?? o.node;
    return c.json(await act(node, { type: "led", index: b.index, r: b.r, g: b.g, b: b.b }, principalOf(c)));
  });
  app.post("/api/plugins/:id/reload", ...write, async (c) => {
    const plugin = validate(pluginIdParam, c.req.param("id"), "id");
    const b = validate(reloadBody, await readJson(c, true), "body");
    const node = b.node ?? o.node;
    return c.json(await act(node, { type: "plugin.reload", plugin }, principalOf(c)));
  });
  app.post("/api/name", ...write, async (c) => {
    const b = validate(nameBody, await readJson(c), "body", "name");
    const node = b.node ?? o.node;
    return c.json(await act(node, { type: "set_name", name: b.name }, principalOf(c)));
  });

  // --- spoke ingest
  const spokeToken = (node: string, token: string | null) => {
    if (token === null) throw missingToken();
    if (!access.hasPushToken(node)) {
      throw new RequestError(
        403,
        `Cannot accept push from node "${node}": no token configured for it`,
        "node",
        "has no push token",
      );
    }
    if (!access.mayPush(node, token)) {
      throw new RequestError(
        401,
        "Cannot authorize request: wrong token",
        "authorization",
        "is not this node's token",
      );
    }
  };

  // A push without a token is refused before its body is read (a wrong one by `authenticate`).
  const needsToken = createMiddleware(async (c, next) => {
    if (bearer(c) === null) throw missingToken();
    await next();
  });
  app.post("/push", ingestHealth(o.health), needsToken, limitBody(maxBody), async (c) => {
    const raw = await readJson(c);
    // A bare snapshot (reference 004 style) is a batch of one.
    const body =
      raw && typeof raw === "object" && !Array.isArray(raw) && "readings" in raw && !("snapshots" in raw)
        ? { node: (raw as Snapshot).node, snapshots: [raw] }
        : raw;
    const b = validate(pushBody, body, "body");
    spokeToken(b.node, bearer(c));
    b.snapshots.forEach((s, i) => {
      if (s.node !== b.node) {
        throw new RequestError(
          400,
          `Cannot accept body: 'snapshots.${i}.node' is "${s.node}", expected "${b.node}"`,
          `snapshots.${i}.node`,
          `must be "${b.node}"`,
        );
      }
    });
    if (core.localNodes.includes(b.node)) {
      throw new RequestError(
        409,
        `Cannot accept push from node "${b.node}": it is a local node of this hub`,
        "node",
        "is a local node",
      );
    }
    // All or nothing: every snapshot is admitted before any is stored.
    const now = core.clock.now();
    const admitted = (b.snapshots as Snapshot[]).map((s, i) => admitSnapshot(s, i, b.node, now, o.ingest));
    for (const { snapshot, clamped } of admitted) {
      core.registry.ingest(snapshot, "spoke");
      for (const r of Object.values(snapshot.readings)) o.emit.emit("reading", { ...r });
      if (clamped) {
        core.metrics.inc(CLAMPED, "Pushed timestamps clamped to hub time.", { node: b.node }, clamped);
      }
    }
    const shared = o.spokes;
    // Shared with every hub on the Redis. While Redis is away its status board says so once; here it
    // is only counted, and the spoke's data stays in this hub's memory.
    const unshared = () =>
      core.metrics.inc(
        "harvester_spoke_share_failures_total",
        "Spoke snapshots or logs not stored in the shared state.",
        { node: b.node },
      );
    if (shared && admitted.length) {
      await shared.snapshot(admitted[admitted.length - 1].snapshot).catch(unshared);
    }
    if (b.results?.length) {
      core.queue.resolve(b.node, b.results);
      if (shared) await shared.reply(b.results);
    }
    if (b.logs?.length) {
      core.appendLogs(b.node, b.logs);
      if (shared) await shared.logs(b.node, b.logs).catch(unshared);
    }
    core.metrics.inc(
      "harvester_spoke_pushes_total",
      "Snapshots received from spokes.",
      { node: b.node },
      b.snapshots.length,
    );
    o.emit.emit("spoke.push", {
      node: b.node,
      count: b.snapshots.length,
      first: b.snapshots[0].cycle,
      last: b.snapshots.at(-1)!.cycle,
    });
    const commands = [...core.queue.take(b.node), ...(shared ? await shared.take(b.node) : [])];
    return c.json({ ok: true, accepted: b.snapshots.length, commands });
  });

  app.post("/push/results", needsToken, limitBody(maxBody), async (c) => {
    const b = validate(pushResultsBody, await readJson(c), "body");
    spokeToken(b.node, bearer(c));
    const here = core.queue.resolve(b.node, b.results);
    return c.json({ ok: true, matched: here + (o.spokes ? await o.spokes.reply(b.results) : 0) });
  });

  // The MCP SDK is heavy (~28 MB resident): load it on the first /mcp request, not at start.
  app.all("/mcp", limitBody(maxBody), checkOrigin(origins), async (c) => {
    const p = principalOf(c);
    if (p.kind !== "token" || !p.scopes.has("read")) {
      throw new RequestError(
        p.kind === "anonymous" ? 401 : 403,
        "Cannot use MCP: a bearer token with the 'read' scope is required",
        "authorization",
        p.kind === "anonymous" ? "is missing" : "lacks 'read'",
      );
    }
    const { handleMcp } = await import("./mcp.ts");
    return handleMcp(c, core, p);
  });
  return app;
}
