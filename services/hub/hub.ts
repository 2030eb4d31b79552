/**
 * `createHub()`: the hub's Hono app, node registry, live feed and MCP endpoint on one
 * `node:http` (or `node:https`) server, so socket.io shares the port. `listen` refuses to
 * expose a hub nobody can log in to, prints the one-time setup link while no user exists, and
 * guards connections (timeouts, per-client cap).
 *
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import { createApp } from "./api.ts";
import type { FeedCredential, FeedLevel } from "./live_feed.ts";
import { HostAllowlist, hostPart } from "./auth/host_check.ts";
import { guardConnections, type NetGuardStats } from "./auth/net_guard.ts";
import { createCore, type HubCore, type HubOptions } from "./core.ts";
import { LiveFeed } from "./live_feed.ts";
import { readingsFastPath } from "./readings_fast.ts";
import type { NodeRegistry } from "./registry.ts";

/** A listening hub. */
export interface HubServer {
  port: number;
  hostname: string;
  /** `http` or `https`. */
  protocol: "http" | "https";
  /** The socket.io side, for stats. */
  feed: LiveFeed;
  /** What the connection guard cut. */
  net: NetGuardStats;
  /** The one-time setup link while no user exists (also printed), else null. */
  setupLink: string | null;
  close(): Promise<void>;
}

/** What {@link createHub} returns. */
export interface Hub {
  app: Hono;
  registry: NodeRegistry;
  core: HubCore;
  /** Serve HTTP + socket.io on `port` (0 = any free port). */
  listen(port: number, hostname?: string): Promise<HubServer>;
  /** Close every server started by `listen` and fail waiting spoke commands. */
  close(): Promise<void>;
}

/** A hub that would listen beyond loopback with nobody able to log in. */
export class AccessConfigError extends Error {
  override name = "AccessConfigError";
}

/** What a hub bound to loopback prints: how to expose it. */
export const LOOPBACK_HINT =
  'harvester hub: listening on loopback only; to serve the network set [hub] host = "0.0.0.0" and public_read = false, after creating a user (setup link) or a token ("main.ts token create <name> --scope admin")';

/** Whether `host` is a loopback bind address. */
export function isLoopback(host: string): boolean {
  const h = hostPart(host);
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Build the hub.
 *
 * @example
 * ```ts ignore
 * const hub = createHub({ node: "hub", state, events: log, emit: emitter, commands: bus,
 *   tokens: { write: "secret", spokes: { pi4: "pi4-token" } }, dashboardDir: "services/hub/dashboard",
 *   access: { stateDir: "state", publicRead: true } });
 * const server = await hub.listen(3000);
 * ```
 */
export function createHub(options: HubOptions): Hub {
  const core = createCore(options);
  const allowed = new HostAllowlist([
    ...(options.access?.allowedHosts ?? []),
    ...(options.corsOrigins ?? []).flatMap((o) => {
      try {
        return [new URL(o).host];
      } catch {
        return [];
      }
    }),
  ]);
  const app = createApp(core, allowed);
  const readings = readingsFastPath(core, allowed);
  const servers = new Set<HubServer>();
  const access = core.access;
  const log = options.access?.log ?? ((line: string) => console.error(line));

  const feedLevel = (cred: FeedCredential): { level: FeedLevel } | { error: string } => {
    const r = cred.token !== null ? access.resolveToken(cred.token) : access.resolve(null, cred.cookie);
    if (!r.ok) return { error: `Cannot join live feed: ${r.reason}` };
    const p = r.principal;
    if (p.scopes.has("admin")) return { level: "admin" };
    if (p.scopes.has("read")) return { level: "read" };
    if (access.publicRead) return { level: "public" };
    return {
      error: p.kind === "anonymous"
        ? "Cannot join live feed: missing token"
        : "Cannot join live feed: token lacks the 'read' scope",
    };
  };
  const engineCheck = (req: IncomingMessage): string | null => {
    if (!allowed.allows(req.headers.host)) return `Cannot serve host '${req.headers.host}': not allowed`;
    const origin = req.headers.origin;
    if (origin && !(options.corsOrigins ?? []).includes(origin)) {
      try {
        if (new URL(origin).host !== req.headers.host) return `Cannot accept origin '${origin}': not allowed`;
      } catch {
        return `Cannot accept origin '${origin}': not allowed`;
      }
    }
    if (access.publicRead) return null;
    const auth = typeof req.headers.authorization === "string" ? req.headers.authorization : null;
    const r = access.resolve(auth, req.headers.cookie ?? null);
    if (!r.ok) return `Cannot join live feed: ${r.reason}`;
    return r.principal.scopes.has("read") ? null : "Cannot join live feed: missing token";
  };

  async function listen(port: number, hostname = "127.0.0.1"): Promise<HubServer> {
    if (!isLoopback(hostname) && !access.hasCredentials) {
      throw new AccessConfigError(
        `Cannot start hub on ${hostname}: no user or token exists; set [hub] token, run "main.ts token create <name> --scope admin", or bind [hub] host = "127.0.0.1" and open the setup link`,
      );
    }
    const tls = options.access?.tls;
    const viaHono = getRequestListener(app.fetch);
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (!readings(req, res)) void viaHono(req, res);
    };
    const http: HttpServer = tls
      ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) as unknown as HttpServer
      : createServer(listener);
    http.keepAliveTimeout = 5000;
    const net = guardConnections(http, options.access?.net);
    const feed = new LiveFeed(http, {
      events: options.events,
      authorize: feedLevel,
      allowRequest: engineCheck,
      corsOrigins: options.corsOrigins,
      maxPending: options.feedMaxPending,
      batchMs: options.feedBatchMs,
      onLagging: () =>
        core.metrics.inc("harvester_live_lagging_drops_total", "Live-feed clients dropped for lagging."),
    });
    const stopRevoke = access.onRevoke(() => feed.revalidate());
    core.liveClients = () => [...servers].reduce((n, s) => n + s.feed.clients, 0);
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, hostname, () => resolve());
    });
    let ticks = 0;
    const timer = core.clock.setInterval(() => {
      void core.refresh();
      // Sessions expire: re-check feed clients every 10 s.
      if (++ticks % 10 === 0) feed.revalidate();
    }, 1000);
    const addr = http.address() as { port: number };
    const protocol = tls ? "https" : "http";
    const setup = access.setupToken;
    const shown = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
    const setupLink = setup
      ? `${protocol}://${shown.includes(":") ? `[${shown}]` : shown}:${addr.port}/setup#${setup}`
      : null;
    if (setupLink) {
      log(`harvester hub: no user yet; create the first admin within 15 min (link works once): ${setupLink}`);
    }
    let closed: Promise<void> | null = null;
    const server: HubServer = {
      port: addr.port,
      hostname,
      protocol,
      feed,
      net,
      setupLink,
      close() {
        closed ??= (async () => {
          servers.delete(server);
          stopRevoke();
          core.clock.clearInterval(timer);
          access.store.flush();
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
    listen,
    async close() {
      core.queue.close();
      await Promise.all([...servers].map((s) => s.close()));
    },
  };
}
