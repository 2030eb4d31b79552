/**
 * Command channel over Redis: requests are `LPUSH`ed as JSON on `harvester:commands:<node>`; the
 * broker `BRPOP`s them (oldest first), runs them and `RPUSH`es the result on `harvester:results:<id>` (expiring
 * after 60 s so abandoned results do not pile up), where the client waits with `BLPOP` + timeout.
 * A request carries its deadline: a broker that was down does not run stale commands when it returns.
 *
 * @module
 */
import type { createClient } from "redis";
import { RedisConnection, redisStatus } from "../events/mod.ts";
import { connectOnce, parseRedisTarget, type RedisTarget } from "../events/redis_target.ts";
import {
  type Command,
  type CommandClient,
  commandFailure,
  type CommandHandler,
  type CommandRequest,
  type CommandResult,
  newCommandId,
} from "./command.ts";
import { DEFAULT_TIMEOUT_MS, describe, requestProblem, runHandler } from "./_run.ts";

type Client = ReturnType<typeof createClient>;

/** Key of the request list of `node`. */
export function commandKey(node: string): string {
  return `harvester:commands:${node}`;
}

/** Key of the result list of request `id`. */
export function resultKey(id: string): string {
  return `harvester:results:${id}`;
}

/**
 * Key that lives (`PX` = the caller's timeout) while request `id` may still run. Redis's own
 * expiry is the one clock hub and broker share: a wall-clock step (or skew between hosts) on
 * either side cannot make a live request look expired, or an expired one live.
 */
export function aliveKey(id: string): string {
  return `harvester:alive:${id}`;
}

/**
 * A request on the wire: the envelope, the epoch-ms deadline (kept for peers without `ttl_ms`) and
 * `ttl_ms`, which says an {@link aliveKey} was set.
 */
interface WireRequest extends CommandRequest {
  deadline: number;
  ttl_ms?: number;
}

/** Options for {@link RedisCommandClient}. */
export interface RedisCommandClientOptions {
  /** `redis://host:port`, or `redis+sentinel://…/<master>` (each connection asks for the master). */
  url: string;
}

/**
 * Hub side of the Redis command channel. Each waiting `send` holds its own connection (BLPOP
 * blocks it); idle connections are kept for reuse.
 */
export class RedisCommandClient implements CommandClient {
  #url: string;
  #target: RedisTarget;
  #main: Client | null = null;
  #idle: Client[] = [];
  #busy = new Set<Client>();
  #closed = false;

  /** @throws {TypeError} When the URL is not a Redis URL. */
  constructor(options: RedisCommandClientOptions) {
    this.#url = options.url;
    this.#target = parseRedisTarget(options.url);
  }

  /** Fail fast instead of queueing while Redis is away: the caller gets `unreachable`. */
  #connect(): Promise<Client> {
    return connectOnce(this.#target, 1000);
  }

  async #mainClient(): Promise<Client> {
    if (this.#main?.isReady) return this.#main;
    destroy(this.#main);
    this.#main = null;
    this.#main = await this.#connect();
    return this.#main;
  }

  async #acquire(): Promise<Client> {
    while (this.#idle.length) {
      const c = this.#idle.pop()!;
      if (c.isReady) return c;
      destroy(c);
    }
    return await this.#connect();
  }

  /**
   * Send `command` to the broker of `node` and wait for its result.
   *
   * @returns the result; `unreachable` when Redis cannot be reached, `timeout` when no broker answers
   */
  async send(node: string, command: Command, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CommandResult> {
    const id = newCommandId();
    const what = describe(node, command);
    if (this.#closed) return commandFailure(id, "unreachable", `Cannot ${what}: client is closed`);
    const ttl = Math.max(1, Math.round(timeoutMs));
    const req: WireRequest = { id, node, command, deadline: Date.now() + timeoutMs, ttl_ms: ttl };
    let waiter: Client | null = null;
    try {
      const main = await this.#mainClient();
      waiter = await this.#acquire();
      this.#busy.add(waiter);
      await main.multi().set(aliveKey(id), "1", { PX: ttl }).lPush(commandKey(node), JSON.stringify(req))
        .exec();
      const got = await waiter.blPop(resultKey(id), Math.max(timeoutMs, 1) / 1000);
      this.#busy.delete(waiter);
      if (!this.#closed) this.#idle.push(waiter);
      else destroy(waiter);
      waiter = null;
      if (!got) return commandFailure(id, "timeout", `Cannot ${what}: no answer within ${timeoutMs} ms`);
      return JSON.parse(got.element) as CommandResult;
    } catch (e) {
      if (waiter) {
        this.#busy.delete(waiter);
        destroy(waiter);
      }
      const reason = this.#closed
        ? "client is closed"
        : `Redis at ${this.#url} unreachable (${errorText(e)})`;
      return commandFailure(id, "unreachable", `Cannot ${what}: ${reason}`);
    }
  }

  /** Close every connection; pending sends resolve `unreachable`. */
  close(): Promise<void> {
    this.#closed = true;
    for (const c of [...this.#idle, ...this.#busy]) destroy(c);
    this.#idle = [];
    this.#busy.clear();
    destroy(this.#main);
    this.#main = null;
    return Promise.resolve();
  }
}

/** Options for {@link RedisCommandServer}. */
export interface RedisCommandServerOptions {
  url: string;
  /** The node this broker serves. */
  node: string;
  handler: CommandHandler;
  /** Seconds per BLPOP round; bounds how long `stop()` takes at most. Default 1. */
  pollSeconds?: number;
  /** Called with requests that could not be parsed or ran past their deadline (for logging). */
  onDiscard?: (reason: string) => void;
}

/** Broker side: pops requests for its node, runs them one at a time, pushes results. */
export class RedisCommandServer {
  #opts: RedisCommandServerOptions;
  #target: RedisTarget;
  #blocking: Client | null = null;
  #writer: Client | null = null;
  #running = false;
  #seenReady = false;
  /** Cuts a reconnect wait short (stop). */
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;

  /** @throws {TypeError} When the URL is not a Redis URL. */
  constructor(options: RedisCommandServerOptions) {
    this.#opts = options;
    this.#target = parseRedisTarget(options.url);
  }

  /**
   * A fresh connection that fails instead of reconnecting or queueing: the loop below replaces a
   * broken connection itself (a BLPOP queued inside node-redis across a reconnect was seen to
   * never run).
   */
  #make(): Promise<Client> {
    return connectOnce(this.#target, 2000);
  }

  /**
   * Start serving; resolves once connected, or at once when Redis is away at start (the loop
   * connects when it returns, as after any outage: a broker must not refuse to start for it).
   */
  async start(): Promise<void> {
    if (this.#running) return;
    try {
      this.#writer = await this.#make();
      this.#blocking = await this.#make();
    } catch {
      destroy(this.#writer);
      this.#writer = this.#blocking = null;
    }
    this.#running = true;
    this.#loop = this.#serve();
  }

  async #serve(): Promise<void> {
    const key = commandKey(this.#opts.node);
    const status = redisStatus.join(this.#opts.url);
    // Consecutive failures: reconnects back off exponentially (capped, jittered) instead of 5 a second.
    let failures = 0;
    while (this.#running) {
      let raw: string;
      try {
        this.#blocking ??= await this.#make();
        const got = await this.#blocking.brPop(key, this.#opts.pollSeconds ?? 1);
        if (failures > 0 || !this.#seenReady) status.ready();
        failures = 0;
        this.#seenReady = true;
        if (!got) continue;
        raw = got.element;
      } catch (e) {
        destroy(this.#blocking);
        this.#blocking = null;
        if (!this.#running) break;
        status.failed(errorText(e));
        const delay = Math.min(5000, 200 * 2 ** Math.min(failures++, 8)) * (0.75 + Math.random() * 0.5);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, delay);
          this.#wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        this.#wake = null;
        continue;
      }
      await this.#handle(raw);
    }
    status.leave();
  }

  async #handle(raw: string): Promise<void> {
    let req: WireRequest;
    try {
      req = JSON.parse(raw);
    } catch {
      this.#opts.onDiscard?.("Cannot run command: request is not JSON");
      return;
    }
    const problem = requestProblem(req);
    if (problem) {
      this.#opts.onDiscard?.(`Cannot run command: ${problem}`);
      if (typeof req?.id === "string") {
        await this.#reply(commandFailure(req.id, "rejected", `Cannot run command: ${problem}`));
      }
      return;
    }
    if (await this.#expired(req)) {
      this.#opts.onDiscard?.(`Cannot run command "${req.command.type}" ${req.id}: its deadline passed`);
      return;
    }
    const { deadline: _deadline, ttl_ms: _ttl, ...plain } = req;
    await this.#reply(await runHandler(this.#opts.handler, plain));
  }

  /** Whether `req` outlived its caller: its alive key is gone (or, from older peers, its deadline passed). */
  async #expired(req: WireRequest): Promise<boolean> {
    if (typeof req.ttl_ms !== "number") return typeof req.deadline === "number" && Date.now() > req.deadline;
    try {
      this.#writer ??= await this.#make();
      return (await this.#writer.del(aliveKey(req.id))) === 0;
    } catch {
      return false; // cannot tell: run it; the reply will fail the same way if Redis is gone
    }
  }

  async #reply(result: CommandResult): Promise<void> {
    const key = resultKey(result.id);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.#writer ??= await this.#make();
        await this.#writer.multi().rPush(key, JSON.stringify(result)).expire(key, 60).exec();
        return;
      } catch {
        // A connection broken since the last reply: one retry on a fresh one, then the client times out.
        destroy(this.#writer);
        this.#writer = null;
      }
    }
  }

  /** Stop serving and close both connections. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    destroy(this.#blocking);
    this.#wake?.();
    await this.#loop;
    destroy(this.#blocking);
    destroy(this.#writer);
    this.#blocking = this.#writer = null;
  }
}

/** Close a connection that may already be closed (node-redis throws on a second destroy). */
function destroy(c: Client | null | undefined): void {
  try {
    c?.destroy();
  } catch { /* closed already */ }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A spoke's end of the Redis command channel, run by whichever hub the spoke pushes to: the
 * requests any hub `LPUSH`ed for the spoke are popped on its push and handed over in the push
 * answer; the results the spoke posts back go to `harvester:results:<id>`, where the sending hub
 * waits. So a command sent through any hub reaches a spoke pushing to any other.
 */
export class RedisSpokeRelay {
  readonly #conn: RedisConnection;
  /** Requests handed over and not yet answered: id → expiry (ms, monotonic). */
  #handed = new Map<string, number>();
  #closed = false;

  /** @throws {TypeError} When the URL is not a Redis URL. */
  constructor(options: { url: string }) {
    this.#conn = new RedisConnection({ url: options.url, name: "harvester-spoke-relay" });
  }

  /**
   * Pop up to `max` live requests for `node` (expired ones are dropped: their sender gave up).
   *
   * @returns the requests; none while Redis is unreachable (they wait there for the next push)
   */
  async take(node: string, max = 32): Promise<CommandRequest[]> {
    if (this.#closed) return [];
    this.#prune();
    const out: CommandRequest[] = [];
    if (!this.#conn.ready) return out; // Redis away: the requests stay queued (or their senders time out)
    try {
      const c = this.#conn.client;
      for (let i = 0; i < max; i++) {
        const raw = await c.rPop(commandKey(node));
        if (raw === null) break;
        let req: WireRequest;
        try {
          req = JSON.parse(raw);
        } catch {
          continue;
        }
        if (requestProblem(req) || req.node !== node) continue;
        if (typeof req.ttl_ms === "number" && (await c.del(aliveKey(req.id))) === 0) continue;
        const { deadline: _d, ttl_ms: ttl, ...plain } = req;
        this.#handed.set(req.id, performance.now() + (ttl ?? DEFAULT_TIMEOUT_MS) + 60_000);
        out.push(plain);
      }
    } catch {
      // Redis away: the requests stay queued (or their senders time out).
    }
    return out;
  }

  /**
   * Results the spoke posted for requests this relay handed over.
   *
   * @returns how many matched a handed-over request
   */
  async reply(results: CommandResult[]): Promise<number> {
    this.#prune();
    const mine = results.filter((r) => this.#handed.delete(r.id));
    if (!mine.length) return 0;
    if (!this.#conn.ready) return 0;
    try {
      const m = this.#conn.client.multi();
      for (const r of mine) m.rPush(resultKey(r.id), JSON.stringify(r)).expire(resultKey(r.id), 60);
      await m.exec();
      return mine.length;
    } catch {
      return 0; // the senders time out, as they would with a lost spoke
    }
  }

  /** Forget handed-over requests past their expiry, and the oldest beyond {@link HANDED_MAX}. */
  #prune(): void {
    const now = performance.now();
    for (const [id, until] of this.#handed) if (until < now) this.#handed.delete(id);
    for (const id of this.#handed.keys()) {
      if (this.#handed.size <= HANDED_MAX) break;
      this.#handed.delete(id);
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#conn.close();
  }
}

/** Handed-over requests a relay remembers at most (a spoke that never answers cannot grow it). */
const HANDED_MAX = 4096;
