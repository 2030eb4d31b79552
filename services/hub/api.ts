/**
 * The hub's Hono app: dashboard, read API, write API (token), spoke ingest, health, metrics, MCP.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { Command } from "../commands/mod.ts";
import type { Snapshot } from "../shm/snapshot.ts";
import type { HubCore } from "./core.ts";
import { onError, RequestError, validate } from "./errors.ts";
import {
  bearer,
  checkOrigin,
  limitBody,
  missingToken,
  readJson,
  requireToken,
  safeEqual,
  timeRequests,
} from "./middleware.ts";
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
import { registerHistory } from "./history_api.ts";
import { admitSnapshot } from "./ingest.ts";
import { eventsRoute } from "./events_route.ts";
import { healthRoute, ingestHealth } from "./health_route.ts";

const CLAMPED = "harvester_ingest_clamped_total";

/** Build the Hono app over `core`. */
export function createApp(core: HubCore): Hono {
  const o = core.options;
  const app = new Hono();
  const maxBody = o.bodyLimitBytes ?? 1024 * 1024;
  const origins = o.corsOrigins ?? [];

  app.onError((err, c) => onError(err, c, o.log));
  app.notFound((c) => c.json({ error: `Cannot ${c.req.method} ${c.req.path}: no such route` }, 404));
  app.use("*", timeRequests(core.metrics));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
      crossOriginEmbedderPolicy: false,
    }),
  );
  if (origins.length) {
    app.use(
      "*",
      cors({
        origin: origins,
        allowHeaders: ["Authorization", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version"],
      }),
    );
  }

  // --- history (the recorder)
  registerHistory(app, o.history);

  // --- dashboard
  app.get("/", (c) => serveIndex(c, o.dashboardDir, core.pageToken));
  app.get("/assets/*", (c) => serveAsset(c, o.dashboardDir));

  // --- read API
  app.get("/health", healthRoute(core));
  app.get("/api/readings", async (c) => {
    await core.refresh();
    const ts = new Date(core.clock.now()).toISOString();
    return c.body(`{"timestamp":"${ts}","readings":${core.registry.readingsJson()}}`, 200, {
      "content-type": "application/json",
    });
  });
  app.get("/api/nodes", async (c) => {
    await core.refresh();
    return c.json({ nodes: core.registry.list() });
  });
  app.get("/api/plugins", async (c) => {
    await core.refresh();
    return c.json({ plugins: core.registry.plugins() });
  });
  app.get("/api/logs", async (c) => {
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
  app.get("/api/events", (c) => eventsRoute(c, o.events, o.eventsAnswerMaxBytes));
  app.get("/metrics", async (c) => {
    await core.refresh();
    const text = core.metrics.render(core.registry, core.liveClients(), o.metrics?.() ?? {});
    return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  // --- write API: token, body limit, validated bodies
  const write = [limitBody(maxBody), checkOrigin(origins), requireToken((t) => core.canWrite(t))] as const;
  const act = async (node: string, command: Command) => ({
    ok: true,
    node,
    result: await core.dispatch(node, command),
  });
  const buzzerNode = o.buzzerNode ?? o.node;

  app.post("/api/buzzer", ...write, async (c) => {
    const b = validate(buzzerBody, await readJson(c), "body", "buzzer");
    const node = b.node ?? buzzerNode;
    return c.json(await act(node, { type: "buzzer", pattern: b.pattern }));
  });
  app.post("/api/buzzer/test", ...write, async (c) => {
    const b = validate(buzzerTestBody, await readJson(c, true), "body", "buzzer");
    const node = b.node ?? buzzerNode;
    return c.json(await act(node, { type: "buzzer", pattern: "triple" }));
  });
  app.post("/api/leds", ...write, async (c) => {
    const b = validate(ledBody, await readJson(c), "body", "leds");
    const node = b.node ?? o.node;
    return c.json(await act(node, { type: "led", index: b.index, r: b.r, g: b.g, b: b.b }));
  });
  app.post("/api/plugins/:id/reload", ...write, async (c) => {
    const plugin = validate(pluginIdParam, c.req.param("id"), "id");
    const b = validate(reloadBody, await readJson(c, true), "body");
    const node = b.node ?? o.node;
    return c.json(await act(node, { type: "plugin.reload", plugin }));
  });
  app.post("/api/name", ...write, async (c) => {
    const b = validate(nameBody, await readJson(c), "body", "name");
    const node = b.node ?? o.node;
    return c.json(await act(node, { type: "set_name", name: b.name }));
  });

  // --- spoke ingest
  const spokeToken = (node: string, token: string | null) => {
    if (token === null) throw missingToken();
    const expected = o.tokens.spokes[node];
    if (expected === undefined || expected === "") {
      throw new RequestError(
        403,
        `Cannot accept push from node "${node}": no token configured for it`,
        "node",
        "has no push token",
      );
    }
    if (!safeEqual(token, expected)) {
      throw new RequestError(
        401,
        "Cannot authorize request: wrong token",
        "authorization",
        "is not this node's token",
      );
    }
  };

  app.use("/push", ingestHealth(o.health));
  app.post("/push", limitBody(maxBody), async (c) => {
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
    if (b.results?.length) core.queue.resolve(b.node, b.results);
    if (b.logs?.length) core.appendLogs(b.node, b.logs);
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
    return c.json({ ok: true, accepted: b.snapshots.length, commands: core.queue.take(b.node) });
  });

  app.post("/push/results", limitBody(maxBody), async (c) => {
    const b = validate(pushResultsBody, await readJson(c), "body");
    spokeToken(b.node, bearer(c));
    return c.json({ ok: true, matched: core.queue.resolve(b.node, b.results) });
  });

  // The MCP SDK is heavy (~28 MB resident): load it on the first /mcp request, not at start.
  app.all("/mcp", limitBody(maxBody), checkOrigin(origins), async (c) => {
    const { handleMcp } = await import("./mcp.ts");
    return handleMcp(c, core);
  });
  return app;
}
