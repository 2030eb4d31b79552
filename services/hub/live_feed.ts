/**
 * The live feed: socket.io on the hub's HTTP server. A client authenticates with a token (page
 * token or a configured one) — also when it recovers a session — gets the last 50 events on
 * connect, can ask for `replay` `{count}` (≤ 1000) and `subscribe` `{types}` by type prefix.
 * A client that falls behind (its engine write buffer exceeds `maxPending`) stops receiving,
 * is sent `lagging` and is disconnected once that is flushed (or after a grace period).
 *
 * Wire protocol (server → client): `event` EventEnvelope · `replayed` `{count}` · `subscribed`
 * `{types}` · `feed_error` `{error, field, problem}` · `lagging` `{pending, limit}`.
 *
 * @module
 */
import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import type { EventEnvelope, EventLog } from "../events/event.ts";
import { boundRecoveryBuffer } from "./feed_recovery.ts";

/** Options for {@link LiveFeed}. */
export interface LiveFeedOptions {
  events: EventLog;
  /** Returns true for a token allowed to read the feed. */
  authorize: (token: string) => boolean;
  /** Events sent on connect. Default 50. */
  catchUp?: number;
  /** Largest `replay` count. Default 1000. */
  replayMax?: number;
  /** Packets one client may have waiting before it is dropped. Default 2000. */
  maxPending?: number;
  /** How long a lagging client gets to receive `lagging` before the disconnect. Default 2000 ms. */
  lagGraceMs?: number;
  /** Origins allowed for cross-origin browser clients (none by default). */
  corsOrigins?: string[];
  /** Called when a client is dropped for lagging (for metrics). */
  onLagging?: (id: string, pending: number) => void;
}

interface ClientState {
  types: string[];
  lagging: boolean;
}

const ALL = "feed:all";
const room = (prefix: string) => `feed:type:${prefix}`;

/** Token of a handshake: `auth.token`, else `Authorization: Bearer`. */
function handshakeToken(socket: Socket): string | null {
  const t = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
  if (typeof t === "string" && t) return t;
  const h = socket.handshake.headers.authorization;
  const m = typeof h === "string" ? h.match(/^Bearer\s+(\S+)/i) : null;
  return m ? m[1] : null;
}

/** The socket.io side of the hub. */
export class LiveFeed {
  readonly io: Server;
  #opts: Required<Omit<LiveFeedOptions, "onLagging" | "corsOrigins">> & LiveFeedOptions;
  #unsubscribe: () => void;
  /** Live prefixes and how many clients hold each. */
  #prefixes = new Map<string, number>();
  #state = new Map<string, ClientState>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #dropped = 0;

  constructor(server: HttpServer, options: LiveFeedOptions) {
    this.#opts = {
      ...options,
      catchUp: options.catchUp ?? 50,
      replayMax: options.replayMax ?? 1000,
      maxPending: options.maxPending ?? 2000,
      lagGraceMs: options.lagGraceMs ?? 2000,
    };
    this.io = new Server(server, {
      serveClient: false,
      cors: options.corsOrigins?.length ? { origin: options.corsOrigins } : undefined,
      // Middleware must run on recovery too, or a revoked token would keep a recovered session.
      connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false },
    });
    // socket.io keeps every packet for recovery with no size bound: bound it (issue 13).
    boundRecoveryBuffer(this.io.of("/").adapter);
    // …and in count, keeping only a few while no session waits (issue 11).
    boundRecovery(this.io, this.#opts.replayMax);
    this.io.use((socket, next) => {
      const token = handshakeToken(socket);
      if (token === null) return next(new Error("Cannot join live feed: missing token"));
      if (!this.#opts.authorize(token)) return next(new Error("Cannot join live feed: wrong token"));
      next();
    });
    this.io.on("connection", (socket) => this.#onConnection(socket));
    this.#unsubscribe = options.events.subscribe((e) => this.#broadcast(e));
  }

  /** Connected clients. */
  get clients(): number {
    return this.io.of("/").sockets.size;
  }

  /** Clients dropped for lagging since start. */
  get lagDrops(): number {
    return this.#dropped;
  }

  async #onConnection(socket: Socket): Promise<void> {
    const state: ClientState = { types: [], lagging: false };
    this.#state.set(socket.id, state);
    if (socket.recovered) {
      // Rooms are restored by socket.io; rebuild our bookkeeping from them.
      state.types = [...socket.rooms].filter((r) => r.startsWith("feed:type:")).map((r) => r.slice(10));
      for (const t of state.types) this.#prefixes.set(t, (this.#prefixes.get(t) ?? 0) + 1);
    } else {
      socket.join(ALL);
    }
    socket.on("disconnect", () => {
      this.#setTypes(socket, state, []);
      this.#state.delete(socket.id);
    });
    socket.on("subscribe", (msg: unknown, ack?: unknown) => this.#onSubscribe(socket, state, msg, ack));
    socket.on("replay", (msg: unknown, ack?: unknown) => this.#onReplay(socket, msg, ack));
    if (!socket.recovered) {
      try {
        for (const e of await this.#opts.events.latest(this.#opts.catchUp)) socket.emit("event", e);
      } catch (e) {
        socket.emit("feed_error", {
          error: `Cannot send catch-up events: ${(e as Error).message}`,
          field: null,
          problem: null,
        });
      }
    }
  }

  #setTypes(socket: Socket, state: ClientState, types: string[]): void {
    for (const t of state.types) {
      socket.leave(room(t));
      const n = (this.#prefixes.get(t) ?? 1) - 1;
      if (n <= 0) this.#prefixes.delete(t);
      else this.#prefixes.set(t, n);
    }
    state.types = types;
    for (const t of types) {
      socket.join(room(t));
      this.#prefixes.set(t, (this.#prefixes.get(t) ?? 0) + 1);
    }
  }

  #fail(socket: Socket, ack: unknown, field: string, problem: string, error: string): void {
    const body = { error, field, problem };
    if (typeof ack === "function") ack({ ok: false, ...body });
    socket.emit("feed_error", body);
  }

  #onSubscribe(socket: Socket, state: ClientState, msg: unknown, ack: unknown): void {
    const types = (msg as { types?: unknown } | null)?.types;
    if (
      !Array.isArray(types) || types.length > 32 ||
      !types.every((t) => typeof t === "string" && t.length <= 64)
    ) {
      return this.#fail(
        socket,
        ack,
        "types",
        "must be an array of at most 32 strings",
        "Cannot subscribe: 'types' must be an array of at most 32 type prefixes",
      );
    }
    const unique = [...new Set(types as string[])].filter((t) => t !== "");
    if (state.lagging) return;
    this.#setTypes(socket, state, unique);
    if (unique.length === 0) socket.join(ALL);
    else socket.leave(ALL);
    if (typeof ack === "function") ack({ ok: true, types: unique });
    socket.emit("subscribed", { types: unique });
  }

  async #onReplay(socket: Socket, msg: unknown, ack: unknown): Promise<void> {
    const count = (msg as { count?: unknown } | null)?.count;
    const max = this.#opts.replayMax;
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1) {
      return this.#fail(
        socket,
        ack,
        "count",
        "must be a positive integer",
        "Cannot replay: 'count' must be a positive integer",
      );
    }
    if (count > max) {
      return this.#fail(
        socket,
        ack,
        "count",
        `must be at most ${max}`,
        `Cannot replay ${count} events: the limit is ${max}`,
      );
    }
    const state = this.#state.get(socket.id);
    let events: EventEnvelope[];
    try {
      events = await this.#opts.events.latest(count);
    } catch (e) {
      return this.#fail(
        socket,
        ack,
        "count",
        "could not be served",
        `Cannot replay: ${(e as Error).message}`,
      );
    }
    const types = state?.types ?? [];
    const wanted = types.length ? events.filter((e) => types.some((t) => e.type.startsWith(t))) : events;
    for (const e of wanted) socket.emit("event", e);
    if (typeof ack === "function") ack({ ok: true, count: wanted.length });
    socket.emit("replayed", { count: wanted.length });
  }

  #broadcast(e: EventEnvelope): void {
    this.#dropLaggards();
    const rooms = [ALL];
    for (const p of this.#prefixes.keys()) if (e.type.startsWith(p)) rooms.push(room(p));
    this.io.to(rooms).emit("event", e);
  }

  /** Stop feeding clients whose engine buffer is over the cap; tell them; disconnect after the flush. */
  #dropLaggards(): void {
    for (const socket of this.io.of("/").sockets.values()) {
      const pending = (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
      if (pending <= this.#opts.maxPending) continue;
      const state = this.#state.get(socket.id);
      if (!state || state.lagging) continue;
      state.lagging = true;
      this.#dropped++;
      this.#setTypes(socket, state, []);
      socket.leave(ALL);
      this.#opts.onLagging?.(socket.id, pending);
      socket.emit("lagging", { pending, limit: this.#opts.maxPending });
      const done = () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        socket.disconnect(true);
      };
      const timer = setTimeout(done, this.#opts.lagGraceMs);
      this.#timers.add(timer);
      socket.conn.once("drain", done);
    }
  }

  /** Disconnect everyone and stop following the event log. */
  async close(): Promise<void> {
    this.#unsubscribe();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}

/** Broadcasts kept for recovery while no disconnected session waits (a disconnect in flight). */
const RECOVERY_IDLE_KEEP = 64;

/**
 * Bound socket.io's connection-state recovery: its in-memory adapter keeps every broadcast for
 * `maxDisconnectionDuration`, whether or not a session waits. Keep at most `max` packets, and
 * only {@link RECOVERY_IDLE_KEEP} while no disconnected session waits to recover.
 */
export function boundRecovery(io: Server, max: number): void {
  const a = io.of("/").adapter as unknown as {
    packets?: unknown[];
    sessions?: Map<unknown, unknown>;
    broadcast: (packet: unknown, opts: unknown) => void;
  };
  if (!Array.isArray(a.packets)) return;
  const broadcast = a.broadcast.bind(a);
  a.broadcast = (packet, opts) => {
    broadcast(packet, opts);
    const packets = a.packets!;
    const keep = (a.sessions?.size ?? 0) > 0 ? max : Math.min(max, RECOVERY_IDLE_KEEP);
    if (packets.length > keep) packets.splice(0, packets.length - keep);
  };
}
