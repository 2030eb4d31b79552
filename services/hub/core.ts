/**
 * The hub's state and behaviour independent of HTTP: options, the node registry fed from local
 * shared state and spoke pushes, command routing (local broker via the command channel, spoke via
 * its push cycle), logs and history. The Hono app, the live feed and MCP all read this.
 *
 * @module
 */
import type { Command, CommandClient, CommandResult } from "../link/mod.ts";
import type { EventEnvelope, EventLog, EventSink } from "../events/event.ts";
import type { ReadingRecord, SharedState, Snapshot } from "../shm/snapshot.ts";
import { Access } from "./auth/access.ts";
import type { NetLimits } from "./auth/net_guard.ts";
import { type Clock, monotonicOf, systemClock } from "./clock.ts";
import type { IngestLimits } from "./ingest.ts";
import type { Health } from "../health/mod.ts";
import { CommandError, RequestError } from "./errors.ts";
import type { ExtraMetrics } from "./metrics.ts";
import { Metrics } from "./metrics.ts";
import { NodeRegistry, type NodeRole } from "./registry.ts";
import { SpokeCommandQueue } from "./spoke_queue.ts";
import type { HistoryStore } from "./history_api.ts";
import type { SpokeShare } from "../link/link.ts";

/** One log line as `/api/logs` returns it. */
export interface LogLine {
  ts: string;
  level: string;
  source: string;
  message: string;
}

/** Options of {@link createHub}; plain values, no config object. */
export interface HubOptions {
  /** The hub's own node id. */
  node: string;
  /** Role shown for the hub's own node. Default `hub`. */
  role?: NodeRole;
  /**
   * Shared state holding local snapshots. One that lists its nodes (`nodes()`, Redis) makes the
   * hub show every node that writes there: several hubs on one Redis show the same nodes.
   */
  state: SharedState & { nodes?(): Promise<string[]> };
  /** Other nodes whose broker writes to the same shared state (e.g. a shared Redis). */
  localNodes?: string[];
  events: EventLog;
  emit: EventSink;
  /** Command channel to local brokers (the hub's own node, `localNodes` and nodes found in `state`). */
  commands: CommandClient;
  /**
   * Spokes shared with other hubs (Redis): a push's snapshot and logs are stored there, commands
   * for a spoke go through `commands` to the queue whichever hub it pushes to takes them from.
   * Absent: spokes' data and command queues stay in this hub's memory.
   */
  spokes?: SpokeShare;
  /** `write`: a configured token with scopes read + act (`hub.token`); `spokes`: node id → push token; `feed`: read-only tokens. */
  tokens: { write: string | null; spokes: Record<string, string>; feed?: string[] };
  /** Accounts, sessions, API tokens and network limits (`services/hub/auth`). */
  access?: HubAccessOptions;
  /** Origins allowed cross-origin (CORS, MCP, socket.io). Default none. */
  corsOrigins?: string[];
  /** Largest accepted request body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Expected seconds between spoke pushes (staleness). Default 5. */
  pushIntervalSeconds?: number;
  /** Node that owns the buzzer when a request names none. Default the hub's node. */
  buzzerNode?: string;
  /** Folder with `index.html` and assets. */
  dashboardDir?: string;
  clock?: Clock;
  /** Host and plugin logs of a node. */
  logs?: (node: string) => LogLine[] | Promise<LogLine[]>;
  /** Extra metrics (emitter stats, scheduler state gauges). */
  metrics?: () => ExtraMetrics;
  /** Per-command timeout to local brokers. Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Per-command timeout to spokes. Default 2 push intervals + 5 s. */
  spokeCommandTimeoutMs?: number;
  /** Live feed: packets one client may have pending before it is dropped. Default 2000. */
  feedMaxPending?: number;
  /** Live-feed window for batch clients (`auth.batch: true`) in ms. Default 20. */
  feedBatchMs?: number;
  /** The recorder behind `/api/history` and MCP `get_history` (absent: history from the event log). */
  history?: HistoryStore;
  /** Where the hub's own faults are written (one line each); default stderr. */
  log?: (level: "warn" | "error", message: string) => void;
  /** Spoke ingest limits: clock skew, age, reading byte budget. */
  ingest?: IngestLimits;
  /** Byte cap of one `/api/events` answer. Default 1 MiB. */
  eventsAnswerMaxBytes?: number;
  /** Component health for `/health` (shared with the broker when both run in one process). */
  health?: Health;
}

/** Access settings of the hub (config `[hub]`). */
export interface HubAccessOptions {
  /** Where `hub-auth.json` (users, token hashes) lives; null/absent keeps them in memory. */
  stateDir?: string | null;
  /** Readings without a login (`/`, `/api/readings`, `/api/nodes`, reading events). Default false. */
  publicRead?: boolean;
  /** Bearer token for `/metrics` only. */
  metricsToken?: string;
  /** Session lifetime. Default 12 h. */
  sessionTtlMs?: number;
  /** Setup link lifetime. Default 15 min. */
  setupTtlMs?: number;
  /** Extra host names for the Host/Origin allowlist (`"*"` turns it off). */
  allowedHosts?: string[];
  /** PEM certificate and key: serve HTTPS (cookies get `Secure`). */
  tls?: { cert: string; key: string };
  /** Header/request/idle timeouts and connections per client. */
  net?: NetLimits;
  /** Where the setup link is printed. Default `console.error`. */
  log?: (line: string) => void;
}

/** Everything the HTTP, socket and MCP layers share. */
export interface HubCore {
  options: HubOptions;
  clock: Clock;
  registry: NodeRegistry;
  queue: SpokeCommandQueue;
  metrics: Metrics;
  /** Who may do what: sessions, tokens, setup link, audit. */
  access: Access;
  startedAt: number;
  localNodes: string[];
  /** Connected live-feed clients (set once the feed is attached). */
  liveClients: () => number;
  /** Re-read local snapshots into the registry (rate-limited). */
  refresh(): Promise<void>;
  /**
   * Run a command on `node`: local brokers over the command channel, spokes via their push.
   *
   * @throws {RequestError} 404 for an unknown node
   * @throws {CommandError} when the command fails, times out or reaches no broker
   */
  dispatch(node: string, command: Command): Promise<CommandResult>;
  logs(node: string): Promise<LogLine[]>;
  /** Keep log lines a spoke pushed (bounded per node). */
  appendLogs(node: string, lines: LogLine[]): void;
  /** Readings of `sensorId` over time from `reading` events, oldest first. */
  history(
    sensorId: string,
    limit: number,
    since?: string,
  ): Promise<Array<{ ts: string; values: ReadingRecord["values"] }>>;
  snapshot(node: string): Snapshot | null;
}

/** Nodes found in the shared state a hub shows at most (a flood of ids in Redis cannot grow it). */
const SHARED_NODES_MAX = 512;

/** Log lines kept per spoke. */
const SPOKE_LOG_LINES = 500;

/** Build the core. Timers are started by the caller (`listen`). */
export function createCore(options: HubOptions): HubCore {
  const clock = options.clock ?? systemClock;
  const mono = monotonicOf(clock);
  const intervalMs = (options.pushIntervalSeconds ?? 5) * 1000;
  const registry = new NodeRegistry({ intervalMs, emit: options.emit, clock });
  const queue = new SpokeCommandQueue({ clock });
  const localNodes = [options.node, ...(options.localNodes ?? []).filter((n) => n !== options.node)];
  registry.declare(options.node, options.role ?? "hub");
  for (const n of localNodes.slice(1)) registry.declare(n, "local");
  const a = options.access ?? {};
  const access = new Access({
    stateDir: a.stateDir ?? null,
    publicRead: a.publicRead,
    metricsToken: a.metricsToken,
    sessionTtlMs: a.sessionTtlMs,
    setupTtlMs: a.setupTtlMs,
    secureCookies: !!a.tls,
    spokeTokens: options.tokens.spokes,
    staticTokens: [
      ...(options.tokens.write ? [{ name: "hub.token", token: options.tokens.write, scopes: ["act"] }] : []),
      ...(options.tokens.feed ?? []).map((token, i) => ({ name: `feed-${i + 1}`, token, scopes: ["read"] })),
    ],
    emit: options.emit,
  });
  /** A node with a push token that is not a local broker: it reaches hubs by pushing. */
  const isSpoke = (n: string) => options.tokens.spokes[n] !== undefined && !localNodes.includes(n);
  let lastRefresh = -Infinity;
  /** Nodes found in the shared state (not configured here, not pushing to this hub). */
  const shared = new Set<string>();
  let sharedFull = false;
  const spokeLogs = new Map<string, LogLine[]>();
  let refreshing: Promise<void> | null = null;

  const core: HubCore = {
    options,
    clock,
    registry,
    queue,
    metrics: new Metrics(),
    access,
    startedAt: clock.now(),
    localNodes,
    liveClients: () => 0,
    refresh() {
      if (mono() - lastRefresh < 200) return Promise.resolve();
      if (refreshing) return refreshing;
      refreshing = (async () => {
        // Nodes other brokers (and other hubs' spokes) wrote to the shared state.
        if (options.state.kind === "redis" && options.state.nodes) {
          const listed = await nodesWithin(options.state, 1000);
          for (const n of listed ?? []) {
            if (localNodes.includes(n) || registry.isPushed(n) || shared.has(n)) continue;
            if (shared.size >= SHARED_NODES_MAX) {
              if (!sharedFull) {
                sharedFull = true;
                options.log?.(
                  "warn",
                  `Cannot show more than ${SHARED_NODES_MAX} nodes from the shared state: ${
                    listed!.length
                  } are listed; the rest are left out`,
                );
              }
              break;
            }
            shared.add(n);
          }
        }
        // Read in parallel: one slow answer must not hold back every other node's liveness.
        const ids = [...localNodes, ...[...shared].filter((id) => !registry.isPushed(id))];
        const found = await Promise.all(ids.map((n) => readWithin(options.state, n, 1000).catch(() => null)));
        for (const [i, s] of found.entries()) {
          // Null: shared state unreachable or no snapshot; the node ages into stale/offline, which is the truth.
          if (!s) continue;
          const n = ids[i];
          registry.observe(
            { ...s, node: n },
            n === options.node ? (options.role ?? "hub") : isSpoke(n) ? "spoke" : "local",
          );
        }
        registry.check();
        lastRefresh = mono();
      })().finally(() => (refreshing = null));
      return refreshing;
    },
    async dispatch(node, command) {
      const pushed = registry.isPushed(node);
      if (!pushed && !localNodes.includes(node) && !shared.has(node)) {
        throw new RequestError(
          404,
          `Cannot send "${command.type}" to node "${node}": unknown node`,
          "node",
          "is not a known node",
        );
      }
      const spokeMs = options.spokeCommandTimeoutMs ?? intervalMs * 2 + 5000;
      // A spoke answers on its next push: to this hub's queue, or (shared) to whichever hub it pushes to.
      const result = pushed && !options.spokes
        ? await queue.send(node, command, spokeMs)
        : await options.commands.send(
          node,
          command,
          pushed || isSpoke(node) ? spokeMs : (options.commandTimeoutMs ?? 5000),
        );
      if (!result.ok) throw new CommandError(node, result);
      return result;
    },
    async logs(node) {
      if (options.logs) {
        const lines = await options.logs(node);
        if (lines.length || (!registry.isPushed(node) && !shared.has(node))) return lines;
      }
      const pushed = spokeLogs.get(node);
      if (pushed?.length) return [...pushed];
      // Without a log source (or for spokes): what the event log says about the node.
      const events = await options.events.query({ limit: 1000 });
      return events.filter((e) => e.node === node || e.data?.node === node).slice(-200).map(eventToLine);
    },
    appendLogs(node, lines) {
      const ring = spokeLogs.get(node) ?? [];
      ring.push(...lines);
      if (ring.length > SPOKE_LOG_LINES) ring.splice(0, ring.length - SPOKE_LOG_LINES);
      spokeLogs.set(node, ring);
    },
    async history(sensorId, limit, since) {
      const events = await options.events.query({ type: "reading", since, limit: 10_000 });
      return events
        .filter((e) => e.type === "reading" && e.data?.id === sensorId)
        .slice(-limit)
        .map((e) => ({
          ts: String(e.data.timestamp ?? e.ts),
          values: (e.data.values ?? {}) as ReadingRecord["values"],
        }));
    },
    snapshot(node) {
      return registry.snapshot(node);
    },
  };
  return core;
}

/** `state.nodes()`, or null after `ms`. */
async function nodesWithin(state: { nodes?(): Promise<string[]> }, ms: number): Promise<string[] | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([state.nodes!().catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `state.read(node)`, or null after `ms`: a shared state that hangs must not hang the API. */
async function readWithin(state: SharedState, node: string, ms: number): Promise<Snapshot | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([state.read(node), late]);
  } finally {
    clearTimeout(timer);
  }
}

function eventToLine(e: EventEnvelope): LogLine {
  const level = /error|denied|offline/.test(e.type)
    ? "error"
    : /stale|drop|lagging/.test(e.type)
    ? "warn"
    : "info";
  return { ts: e.ts, level, source: e.type, message: JSON.stringify(e.data).slice(0, 500) };
}
