/**
 * Links between brokers and hubs, one per transport (see {@link ./link.ts}), chosen in one place:
 * {@link chooseLink}. The command channel is part of it: the contract ({@link Command},
 * {@link CommandClient}, {@link CommandHandler}) and three transports — in-process
 * ({@link LocalCommandBus}), Redis lists ({@link RedisCommandClient} / {@link RedisCommandServer},
 * and {@link RedisSpokeRelay} for spokes) and the Unix control socket ({@link UnixCommandClient} /
 * {@link UnixCommandServer}). Every client resolves with a {@link CommandResult}; failures carry a
 * `code` (`timeout`, `unreachable`, `rejected`, `failed`).
 *
 * @example
 * ```ts ignore
 * const kind = chooseLink({ inProcess: false, redisUrl, events });
 * const end = brokerEnd(kind, { stores, redisUrl, socketPath, keyPrefix });
 * await end.serve({ node, handler, logsAfter, logLines, snapshot });
 * ```
 *
 * @module
 */
import { LocalCommandBus } from "./local_bus.ts";
import { RedisCommandClient, RedisCommandServer, RedisSpokeRelay } from "./redis_commands.ts";
import { UnixCommandClient, UnixCommandServer } from "./unix_socket.ts";
import type { Events } from "../events/mod.ts";
import { MemoryEventStore } from "../events/memory_store.ts";
import type { LogLine } from "../broker/logs.ts";
import type { SharedState, Snapshot } from "../shm/snapshot.ts";
import type { BrokerEnd, BrokerSources, HubEnd, LinkKind, SpokeShare } from "./link.ts";
import { RedisLogs, shipLogs } from "./redis_logs.ts";
import { brokerQueries, UnixLinkReader } from "./unix.ts";

export type * from "./link.ts";
// The command channel: the contract and its three transports.
export * from "./command.ts";
export { LocalCommandBus } from "./local_bus.ts";
export {
  commandKey,
  RedisCommandClient,
  type RedisCommandClientOptions,
  RedisCommandServer,
  type RedisCommandServerOptions,
  RedisSpokeRelay,
  resultKey,
} from "./redis_commands.ts";
export {
  UnixCommandClient,
  type UnixCommandClientOptions,
  UnixCommandServer,
  type UnixCommandServerOptions,
} from "./unix_socket.ts";
export { LOG_LINES_KEPT, logKey, RedisLogs, shipLogs } from "./redis_logs.ts";
export { ANSWER_MAX_BYTES, brokerQueries, UnixLinkReader } from "./unix.ts";

/**
 * The one rule: in one process → `local`; a Redis URL with the event stream on it → `redis`;
 * otherwise the broker's control socket → `unix`.
 */
export function chooseLink(o: { inProcess: boolean; redisUrl?: string; events: Events }): LinkKind {
  if (o.inProcess) return "local";
  return o.redisUrl && o.events.kind === "redis" ? "redis" : "unix";
}

/** What both ends are built from. */
export interface LinkParts {
  /** The events and shared state this process opened. */
  stores: { events: Events; state: SharedState & { nodes?(): Promise<string[]> } };
  redisUrl?: string;
  /** The broker's control socket (`unix`). */
  socketPath: string;
  keyPrefix?: string;
  /** The in-process command bus (`local`). */
  bus?: LocalCommandBus;
}

type Closer = () => Promise<void> | void;

/** Whether this process's events and state are on Redis (a shared one, maybe). */
function onRedis(parts: LinkParts): boolean {
  return !!parts.redisUrl && parts.stores.events.kind === "redis";
}

/** The Redis side of a hub's end: other nodes' commands and logs, spokes shared with other hubs. */
function redisSide(parts: LinkParts) {
  const url = parts.redisUrl!;
  const logs = new RedisLogs({ url, keyPrefix: parts.keyPrefix });
  const commands = new RedisCommandClient({ url });
  const relay = new RedisSpokeRelay({ url });
  const spokes: SpokeShare = {
    snapshot: (s: Snapshot) => parts.stores.state.write(s),
    logs: (n, lines) => logs.append(n, lines),
    take: (n) => relay.take(n),
    reply: (r) => relay.reply(r),
  };
  return {
    logs,
    commands,
    spokes,
    close: () => closeAll([() => logs.close(), () => commands.close(), () => relay.close()]),
  };
}

async function closeAll(closers: Closer[]): Promise<void> {
  for (const c of closers.reverse()) {
    try {
      await c();
    } catch { /* keep closing */ }
  }
}

/** The broker's end of a `kind` link. */
export function brokerEnd(kind: LinkKind, parts: LinkParts): BrokerEnd {
  const closers: Closer[] = [];
  const { events, state } = parts.stores;
  return {
    kind,
    state,
    events,
    async serve(src: BrokerSources) {
      if (kind === "local") {
        if (!parts.bus) throw new TypeError("Cannot serve a local link: no command bus");
        closers.push(parts.bus.register(src.node, src.handler));
      }
      // In one process on a shared Redis, the node is also reachable from every other hub there.
      if (kind === "redis" || (kind === "local" && onRedis(parts))) {
        const server = new RedisCommandServer({ url: parts.redisUrl!, node: src.node, handler: src.handler });
        await server.start();
        closers.push(() => server.stop());
        const logs = new RedisLogs({ url: parts.redisUrl!, keyPrefix: parts.keyPrefix });
        const stop = shipLogs(logs, src.node, src.logsAfter);
        closers.push(() => logs.close(), stop);
      } else if (kind === "unix") {
        const server = new UnixCommandServer({
          path: parts.socketPath,
          node: src.node,
          handler: src.handler,
          queries: brokerQueries(src, events.log),
        });
        await server.start();
        closers.push(() => server.stop());
      }
    },
    close: () => closeAll(closers),
  };
}

/** The hub's end of a `kind` link; `local` needs the broker's log lines of its node. */
export function hubEnd(
  kind: LinkKind,
  parts: LinkParts & { node: string; localLogs?: () => LogLine[] },
): HubEnd {
  const { events, state } = parts.stores;
  if (kind === "local") {
    const bus = parts.bus;
    if (!bus) throw new TypeError("Cannot open a local link: no command bus");
    const own = (n: string) => Promise.resolve(n === parts.node ? parts.localLogs?.() ?? [] : []);
    if (!onRedis(parts)) {
      return {
        kind,
        state,
        events,
        logs: own,
        commands: bus,
        close: () => Promise.resolve(),
      };
    }
    // The own node in process; every other node on the shared Redis through it.
    const r = redisSide(parts);
    return {
      kind,
      state,
      events,
      logs: (n) => n === parts.node ? own(n) : r.logs.lines(n),
      commands: {
        send: (n, c, ms) => n === parts.node ? bus.send(n, c, ms) : r.commands.send(n, c, ms),
        close: () => Promise.resolve(),
      },
      spokes: r.spokes,
      close: r.close,
    };
  }
  if (kind === "redis") {
    const r = redisSide(parts);
    return {
      kind,
      state,
      events,
      logs: (n) => r.logs.lines(n),
      commands: r.commands,
      spokes: r.spokes,
      close: r.close,
    };
  }
  // unix: the broker's socket for everything; its events join the hub's own log.
  const log = events.log;
  if (!(log instanceof MemoryEventStore)) {
    throw new TypeError("Cannot open a unix link: the hub's log is not in memory");
  }
  const reader = new UnixLinkReader({ path: parts.socketPath, append: (e) => void log.append(e) });
  reader.start();
  const commands = new UnixCommandClient({ path: parts.socketPath });
  const viaSocket: SharedState = {
    kind: "unix",
    write: () => Promise.reject(new Error("Cannot write a snapshot through the hub's end of a unix link")),
    read: async (n?: string) => (n === undefined || n === parts.node ? await reader.snapshot() : null),
    close: () => Promise.resolve(),
  };
  return {
    kind,
    state: viaSocket,
    events,
    logs: (n) => n === parts.node ? reader.logs() : Promise.resolve([]),
    commands,
    close: () => closeAll([() => reader.close(), () => commands.close()]),
  };
}
