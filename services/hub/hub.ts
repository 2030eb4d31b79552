/**
 * `createHub()`: the hub's Hono app, node registry, live feed and MCP endpoint on one
 * `node:http` server (so socket.io shares the port).
 *
 * @module
 */
import { createServer, type Server as HttpServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import { createApp } from "./api.ts";
import { createCore, type HubCore, type HubOptions } from "./core.ts";
import { LiveFeed } from "./live_feed.ts";
import { safeEqual } from "./middleware.ts";
import type { NodeRegistry } from "./registry.ts";

/** A listening hub. */
export interface HubServer {
  port: number;
  hostname: string;
  /** The socket.io side, for stats. */
  feed: LiveFeed;
  close(): Promise<void>;
}

/** What {@link createHub} returns. */
export interface Hub {
  app: Hono;
  registry: NodeRegistry;
  core: HubCore;
  /** Token injected into the dashboard page (accepted for writes and the feed). */
  pageToken: string;
  /** Serve HTTP + socket.io on `port` (0 = any free port). */
  listen(port: number, hostname?: string): Promise<HubServer>;
  /** Close every server started by `listen` and fail waiting spoke commands. */
  close(): Promise<void>;
}

/**
 * Build the hub.
 *
 * @example
 * ```ts ignore
 * const hub = createHub({ node: "hub", state, events: log, emit: emitter, commands: bus,
 *   tokens: { write: "secret", spokes: { pi4: "pi4-token" } }, dashboardDir: "services/hub/dashboard" });
 * const server = await hub.listen(3000);
 * ```
 */
export function createHub(options: HubOptions): Hub {
  const core = createCore(options, safeEqual);
  const app = createApp(core);
  const servers = new Set<HubServer>();

  async function listen(port: number, hostname = "127.0.0.1"): Promise<HubServer> {
    const http: HttpServer = createServer(getRequestListener(app.fetch));
    http.keepAliveTimeout = 5000;
    const feed = new LiveFeed(http, {
      events: options.events,
      authorize: (t) => core.canRead(t),
      corsOrigins: options.corsOrigins,
      maxPending: options.feedMaxPending,
      onLagging: () =>
        core.metrics.inc("harvester_live_lagging_drops_total", "Live-feed clients dropped for lagging."),
    });
    core.liveClients = () => [...servers].reduce((n, s) => n + s.feed.clients, 0);
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, hostname, () => resolve());
    });
    const timer = core.clock.setInterval(() => void core.refresh(), 1000);
    const addr = http.address() as { port: number };
    let closed: Promise<void> | null = null;
    const server: HubServer = {
      port: addr.port,
      hostname,
      feed,
      close() {
        closed ??= (async () => {
          servers.delete(server);
          core.clock.clearInterval(timer);
          http.closeAllConnections?.();
          // io.close() also closes the HTTP server.
          await feed.close();
        })();
        return closed;
      },
    };
    servers.add(server);
    return server;
  }

  return {
    app,
    registry: core.registry,
    core,
    pageToken: core.pageToken,
    listen,
    async close() {
      core.queue.close();
      await Promise.all([...servers].map((s) => s.close()));
    },
  };
}
