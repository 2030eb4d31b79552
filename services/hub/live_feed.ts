/**
 * The live feed: socket.io on the hub's HTTP server. A client authenticates with a session
 * cookie or a `read` token — at the engine.io handshake (`allowRequest`) and again at the
 * socket.io connect, also when it recovers a session. What it receives depends on its level:
 * `public` (anonymous with `public_read`) gets readings and node status only, `read` everything
 * but audit events, `admin` everything. It gets the last 50 events on
 * connect, can ask for `replay` `{count}` (≤ 1000) and `subscribe` `{types}` by type prefix.
 * A client that falls behind (its engine write buffer exceeds `maxPending`) stops receiving,
 * is sent `lagging` and is disconnected once that is flushed (or after a grace period).
 *
 * Wire protocol (server → client): `event` EventEnvelope · `replayed` `{count}` · `subscribed`
 * `{types}` · `feed_error` `{error, field, problem}` · `lagging` `{pending, limit}`. A client that
 * sends `auth.batch: true` at the handshake gets `events` EventEnvelope[] instead of `event`: the
 * events of a short window (`batchMs`, default 20 ms, see feed_batch.ts) in one packet, and its catch-up and
 * replays as one packet each (see feed_batch.ts).
 *
 * @module
 */
import type { IncomingMessage, Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import type { EventEnvelope, EventLog } from "../events/event.ts";
import { boundRecoveryBuffer } from "./feed_recovery.ts";
import { type BatchFilter, FeedBatcher, parseBatchRoom } from "./feed_batch.ts";

/** What a feed client may see. */
export type FeedLevel = "public" | "read" | "admin";

/** The credential a client presented: bearer/`auth.token`, and its `Cookie` header. */
export interface FeedCredential {
  token: string | null;
  cookie: string | null;
}

/** Event types a `public` client receives. */
export function isPublicEvent(type: string): boolean {
  return type === "reading" || type.startsWith("node.");
}

/** Event types only `admin` clients receive. */
export function isAdminEvent(type: string): boolean {
  return type.startsWith("audit.");
}

/** Whether a client of `level` may see an event of `type`. */
export function visibleTo(level: FeedLevel, type: string): boolean {
  if (isAdminEvent(type)) return level === "admin";
  return level !== "public" || isPublicEvent(type);
}

/** Options for {@link LiveFeed}. */
export interface LiveFeedOptions {
  events: EventLog;
  /** The level of a credential, or the reason it is refused. */
  authorize: (cred: FeedCredential) => { level: FeedLevel } | { error: string };
  /** Engine.io handshake check (Host allowlist, credential); return an error message to refuse. */
  allowRequest?: (req: IncomingMessage) => string | null;
  /** Events sent on connect. Default 50. */
  catchUp?: number;
  /** Largest `replay` count. Default 1000. */
  replayMax?: number;
  /** Largest `replay` answer in JSON bytes (the newest events that fit). Default 1 MiB. */
  replayMaxBytes?: number;
  /** Packets one client may have waiting before it is dropped. Default 2000. */
  maxPending?: number;
  /** How long a lagging client gets to receive `lagging` before the disconnect. Default 2000 ms. */
  lagGraceMs?: number;
  /** Origins allowed for cross-origin browser clients (none by default). */
  corsOrigins?: string[];
  /** Window in which events for batch clients (`auth.batch: true`) are coalesced. Default 20 ms. */
  batchMs?: number;
  /** Called when a client is dropped for lagging (for metrics). */
  onLagging?: (id: string, pending: number) => void;
}

interface ClientState {
  types: string[];
  lagging: boolean;
  level: FeedLevel;
  /** Opted in to `events` packets. */
  batch: boolean;
}

const ALL = "feed:all";
/** How long socket.io keeps a disconnected session for recovery. */
const RECOVERY_MS = 2 * 60_000;
const room = (prefix: string) => `feed:type:${prefix}`;

const LEVEL_ROOMS: Record<FeedLevel, string> = { public: "lvl:public", read: "lvl:read", admin: "lvl:admin" };

/** Credential of a handshake: `auth.token`, else `Authorization: Bearer`; and the cookie. */
function credentialOf(socket: Socket): FeedCredential {
  const cookie = typeof socket.handshake.headers.cookie === "string" ? socket.handshake.headers.cookie : null;
  const t = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
  if (typeof t === "string" && t) return { token: t, cookie };
  const h = socket.handshake.headers.authorization;
  const m = typeof h === "string" ? h.match(/^Bearer\s+(\S+)/i) : null;
  return { token: m ? m[1] : null, cookie };
}

/** Whether the handshake asked for `events` packets (`auth.batch: true`). */
function wantsBatch(socket: Socket): boolean {
  return (socket.handshake.auth as Record<string, unknown> | undefined)?.batch === true;
}

/** Whether a client with filter `f` receives `e`. */
function batchMatches(f: BatchFilter, e: EventEnvelope): boolean {
  return visibleTo(f.level as FeedLevel, e.type) &&
    (f.types.length === 0 || f.types.some((t) => e.type.startsWith(t)));
}

/** The socket.io side of the hub. */
export class LiveFeed {
  readonly io: Server;
  #opts: Required<Omit<LiveFeedOptions, "onLagging" | "corsOrigins" | "allowRequest">> & LiveFeedOptions;
  #batcher: FeedBatcher;
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
      replayMaxBytes: options.replayMaxBytes ?? 1024 * 1024,
      maxPending: options.maxPending ?? 2000,
      lagGraceMs: options.lagGraceMs ?? 2000,
      batchMs: options.batchMs ?? 20,
    };
    this.io = new Server(server, {
      serveClient: false,
      cors: options.corsOrigins?.length ? { origin: options.corsOrigins } : undefined,
      allowRequest: (req, cb) => {
        const why = options.allowRequest?.(req) ?? null;
        cb(why, why === null);
      },
      // Middleware must run on recovery too, or a revoked token would keep a recovered session.
      connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_MS, skipMiddlewares: false },
    });
    // socket.io keeps every packet for recovery with no bound: bound it in bytes and count, and
    // keep only a few while no disconnected session waits.
    boundRecoveryBuffer(this.io.of("/").adapter, { maxPackets: this.#opts.replayMax });
    this.io.use((socket, next) => {
      const cred = credentialOf(socket);
      const r = this.#opts.authorize(cred);
      if ("error" in r) return next(new Error(r.error));
      socket.data.cred = cred;
      socket.data.level = r.level;
      next();
    });
    this.#batcher = new FeedBatcher(this.io, this.#opts.batchMs, batchMatches, RECOVERY_MS);
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
    const level = socket.data.level as FeedLevel;
    const state: ClientState = { types: [], lagging: false, level, batch: wantsBatch(socket) };
    this.#state.set(socket.id, state);
    for (const r of Object.values(LEVEL_ROOMS)) socket.leave(r);
    socket.join(LEVEL_ROOMS[level]);
    if (socket.recovered) {
      // Rooms are restored by socket.io; rebuild our bookkeeping from them.
      const legacy = [...socket.rooms].filter((r) => r.startsWith("feed:type:")).map((r) => r.slice(10));
      const batched = [...socket.rooms].map(parseBatchRoom).find((f) => f !== null);
      for (const r of [...socket.rooms]) if (parseBatchRoom(r)) socket.leave(r);
      state.types = batched?.types ?? legacy;
      if (state.batch) {
        for (const t of legacy) socket.leave(room(t));
        socket.leave(ALL);
        this.#batcher.join(socket, { level, types: state.types });
      } else {
        for (const t of state.types) this.#prefixes.set(t, (this.#prefixes.get(t) ?? 0) + 1);
        if (batched) this.#setTypes(socket, state, state.types, true);
        if (state.types.length === 0) socket.join(ALL);
      }
    } else if (state.batch) {
      this.#batcher.join(socket, { level, types: [] });
    } else {
      socket.join(ALL);
    }
    socket.on("disconnecting", () => {
      if (state.batch) this.#batcher.disconnecting(socket);
    });
    socket.on("disconnect", () => {
      if (!state.batch) this.#setTypes(socket, state, []);
      this.#state.delete(socket.id);
    });
    socket.on("subscribe", (msg: unknown, ack?: unknown) => this.#onSubscribe(socket, state, msg, ack));
    socket.on("replay", (msg: unknown, ack?: unknown) => this.#onReplay(socket, msg, ack));
    if (!socket.recovered) {
      try {
        const visible = (await this.#opts.events.latest(this.#opts.catchUp)).filter((e) =>
          visibleTo(level, e.type)
        );
        this.#send(socket, state, visible);
      } catch (e) {
        socket.emit("feed_error", {
          error: `Cannot send catch-up events: ${(e as Error).message}`,
          field: null,
          problem: null,
        });
      }
    }
  }

  /** Send `events` to one client: one `events` packet (batch) or one `event` each. */
  #send(socket: Socket, state: ClientState | undefined, events: EventEnvelope[]): void {
    if (state?.batch) {
      if (events.length) socket.emit("events", events);
    } else {
      for (const e of events) socket.emit("event", e);
    }
  }

  /** A client's type prefixes: rooms for legacy clients, the batch room's filter for batch ones. */
  #setTypes(socket: Socket, state: ClientState, types: string[], bookkept = false): void {
    if (state.batch) {
      state.types = types;
      if (state.lagging) this.#batcher.leave(socket);
      else this.#batcher.join(socket, { level: state.level, types });
      return;
    }
    if (bookkept) {
      // Counted already (a recovered session): only the rooms are missing.
      for (const t of types) socket.join(room(t));
      return;
    }
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
    if (!state.batch) {
      if (unique.length === 0) socket.join(ALL);
      else socket.leave(ALL);
    }
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
    const level = state?.level ?? "public";
    const matching = (types.length ? events.filter((e) => types.some((t) => e.type.startsWith(t))) : events)
      .filter((e) => visibleTo(level, e.type));
    // Bounded in bytes as well as count: the newest events that fit, in order.
    const maxBytes = this.#opts.replayMaxBytes;
    let bytes = 0;
    let first = matching.length;
    while (first > 0) {
      const size = JSON.stringify(matching[first - 1]).length;
      if (bytes + size > maxBytes && first < matching.length) break;
      bytes += size;
      first--;
    }
    const wanted = matching.slice(first);
    this.#send(socket, state, wanted);
    const truncated = wanted.length < matching.length;
    if (typeof ack === "function") ack({ ok: true, count: wanted.length, truncated });
    socket.emit("replayed", { count: wanted.length, truncated });
  }

  #broadcast(e: EventEnvelope): void {
    this.#dropLaggards();
    const rooms = [ALL];
    for (const p of this.#prefixes.keys()) if (e.type.startsWith(p)) rooms.push(room(p));
    const hidden = (Object.keys(LEVEL_ROOMS) as FeedLevel[]).filter((l) => !visibleTo(l, e.type));
    this.io.to(rooms).except(hidden.map((l) => LEVEL_ROOMS[l])).emit("event", e);
    this.#batcher.add(e);
  }

  /**
   * Check every connected client's credential again (after a logout, revocation or expiry):
   * refused ones are disconnected, changed levels take effect at once.
   *
   * @returns how many clients were disconnected
   */
  revalidate(): number {
    let dropped = 0;
    for (const socket of this.io.of("/").sockets.values()) {
      const cred = socket.data.cred as FeedCredential | undefined;
      const r = cred ? this.#opts.authorize(cred) : { error: "no credential" };
      if ("error" in r) {
        socket.emit("feed_error", {
          error: `Cannot stay on live feed: ${r.error}`,
          field: null,
          problem: null,
        });
        socket.disconnect(true);
        dropped++;
        continue;
      }
      const state = this.#state.get(socket.id);
      if (state && state.level !== r.level) {
        socket.leave(LEVEL_ROOMS[state.level]);
        socket.join(LEVEL_ROOMS[r.level]);
        state.level = r.level;
        socket.data.level = r.level;
        if (state.batch && !state.lagging) this.#batcher.join(socket, { level: r.level, types: state.types });
      }
    }
    return dropped;
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
    this.#batcher.close();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}
