/**
 * A node-redis v5 client made explicit about being offline.
 *
 * node-redis queues commands silently while it reconnects, and emits `error` events that
 * crash the process when nobody listens. This wrapper turns both off: the offline queue is
 * disabled (a command sent while disconnected rejects at once with `ClientOfflineError`),
 * every `error` event is caught and counted, reconnection is retried forever with a capped
 * backoff, and {@link RedisConnection.close} waits for a pending retry timer so nothing
 * outlives the owner.
 *
 * A `redis+sentinel://` URL makes the connection follow a failover: it asks the sentinels for the
 * master on every (re)connect, checks the answer with `ROLE`, and its liveness check asks `ROLE`
 * too, so a master demoted under it (a returning old master) is left for the promoted one.
 *
 * @module
 */
import type { RedisClientType } from "redis";
import { loadRedis } from "./redis_module.ts";
import { redisStatus } from "./redis_status.ts";
import { assertMaster, parseRedisTarget, type RedisTarget, resolveRedis, roleOf } from "./redis_target.ts";

/** Options for {@link RedisConnection}. */
export interface RedisConnectionOptions {
  /** `redis://host:port[/db]`, `rediss://…`, or `redis+sentinel://host:port,…/<master>[/<db>]`. */
  url: string;
  /**
   * Longest wait between reconnect attempts, ms. Default 2000. Waits grow exponentially from
   * 50 ms with consecutive failures (reset only once a connection is ready, so a server that
   * accepts the socket and then refuses, e.g. NOAUTH, backs off too), with ±25 % jitter.
   */
  maxRetryDelayMs?: number;
  /** TCP connect timeout, ms. Default 2000. */
  connectTimeoutMs?: number;
  /** Client name shown by `CLIENT LIST`. */
  name?: string;
  /**
   * Period of the liveness check, ms (0: off). Default 1000. A ready client PINGs; no answer within
   * `healthTimeoutMs` drops the socket and reconnects. node-redis on Deno's `node:net` can report
   * itself ready after the server died (seen after ECONNRESET under load: no socket, commands never
   * answered), so readiness is checked, not trusted.
   */
  healthCheckMs?: number;
  /** Longest wait for the liveness PING, ms. Default 2000. */
  healthTimeoutMs?: number;
}

/** One Redis client that never throws `error` events and never queues offline. */
export class RedisConnection {
  /** Undefined until node-redis is loaded (direct) or a master is found (Sentinel). */
  #client: RedisClientType | undefined;
  #target: RedisTarget;
  #name: string | undefined;
  #connectTimeoutMs: number;
  /** The resolved master's address (`host:port`) of a Sentinel target, else null. */
  master: string | null = null;
  #reopening = false;
  #generation = 0;
  #readyGeneration = -1;
  /** Errors the client reported (connection refused, socket closed, …). */
  errors = 0;
  /** The last error message, for diagnostics. */
  lastError: string | null = null;
  #ready = false;
  #closed = false;
  #readyCount = 0;
  #retryUntil = 0;
  #health: ReturnType<typeof setInterval> | undefined;
  #checking = false;
  #healthTimeoutMs: number;
  /** Times the liveness check found a "ready" client that did not answer. */
  healthFailures = 0;
  #connecting: Promise<unknown> | null = null;
  #readyListeners = new Set<(first: boolean, renewed: boolean) => void>();
  /** Consecutive failed attempts since the last ready. */
  #failures = 0;
  /** Reconnect attempts scheduled (for tests and metrics). */
  reconnects = 0;
  #status: ReturnType<typeof redisStatus.join>;
  #downListeners = new Set<() => void>();

  /**
   * Create the client and start connecting in the background.
   *
   * @param options URL and reconnect tuning.
   * @throws {TypeError} When the URL is not a `redis://`, `rediss://` or `redis+sentinel://` URL.
   */
  constructor(options: RedisConnectionOptions) {
    this.#target = parseRedisTarget(options.url);
    this.#name = options.name;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    const maxDelay = options.maxRetryDelayMs ?? 2000;
    this.#status = redisStatus.join(options.url);
    this.#healthTimeoutMs = options.healthTimeoutMs ?? 2000;
    if (this.#target.kind === "direct") {
      this.#connecting = this.#openDirect(this.#target.url, maxDelay);
    } else {
      this.#connecting = this.#reopen(Math.min(maxDelay, 1000));
    }
    const every = options.healthCheckMs ?? 1000;
    if (every > 0) this.#health = setInterval(() => void this.#check(), every);
  }

  /**
   * The underlying client (a new one after a Sentinel failover); commands reject at once while
   * {@link ready} is false.
   *
   * @throws {Error} Before the first client exists (node-redis still loading, no master found yet).
   */
  get client(): RedisClientType {
    if (this.#client === undefined) {
      throw new Error(`Redis is not connected yet (${this.lastError ?? "connecting"})`);
    }
    return this.#client;
  }

  /** A direct target: one client that reconnects itself with a capped, jittered backoff. */
  async #openDirect(url: string, maxDelay: number): Promise<void> {
    let client: RedisClientType;
    try {
      client = await this.#make(url, () => {
        if (this.#closed) return false;
        // node-redis resets its retry count whenever the socket connects, even if AUTH then fails
        const base = Math.min(maxDelay, 50 * 2 ** Math.min(this.#failures++, 16));
        const delay = Math.round(base * (0.75 + Math.random() * 0.5));
        this.reconnects++;
        this.#retryUntil = Math.max(this.#retryUntil, performance.now() + delay);
        return delay;
      });
    } catch (e) {
      // node-redis could not be loaded (a broken npm cache): on the status board /health shows.
      this.errors++;
      this.lastError = `Cannot load the Redis client: ${(e as Error).message}`;
      if (!this.#closed) this.#status.failed(this.lastError);
      return;
    }
    if (this.#closed) return;
    this.#client = client;
    client.on("ready", () => this.#markReady());
    await client.connect().catch(() => {/* reported through 'error' */});
  }

  async #make(
    url: string,
    reconnectStrategy: false | ((retries: number) => number | false),
  ): Promise<RedisClientType> {
    const { createClient } = await loadRedis();
    const client = createClient({
      url,
      name: this.#name,
      disableOfflineQueue: true,
      socket: { connectTimeout: this.#connectTimeoutMs, reconnectStrategy },
    }) as RedisClientType;
    this.#generation++;
    client.on("error", (err: unknown) => {
      if (client !== this.#client) return;
      this.errors++;
      this.lastError = err instanceof Error ? err.message : String(err);
      if (!this.#closed) this.#status.failed(this.lastError);
      this.#setDown();
    });
    client.on("end", () => {
      if (client === this.#client) this.#setDown();
    });
    return client;
  }

  #markReady(): void {
    this.#ready = true;
    this.#failures = 0;
    this.#status.ready();
    const first = this.#readyCount++ === 0;
    const renewed = this.#readyGeneration !== -1 && this.#readyGeneration !== this.#generation;
    this.#readyGeneration = this.#generation;
    for (const l of this.#readyListeners) safe(() => l(first, renewed));
  }

  /**
   * Sentinel target: ask the sentinels for the master, connect, check `ROLE`; retry with a capped
   * backoff until it holds or the connection closes. One reopen runs at a time.
   */
  async #reopen(maxDelay: number): Promise<void> {
    if (this.#reopening || this.#closed) return;
    this.#reopening = true;
    try {
      while (!this.#closed) {
        let client: RedisClientType | null = null;
        try {
          const url = await resolveRedis(this.#target, this.#connectTimeoutMs);
          if (this.#closed) return;
          const old = this.#client;
          client = await this.#make(url, false);
          if (this.#closed) return;
          this.#client = client;
          try {
            old?.destroy();
          } catch { /* already closed */ }
          await client.connect();
          await assertMaster(client, url);
          this.master = hostPort(url);
          this.#status.master(this.master);
          this.#markReady();
          return;
        } catch (e) {
          this.errors++;
          this.lastError = e instanceof Error ? e.message : String(e);
          this.#status.failed(this.lastError);
          this.#ready = false;
          try {
            client?.destroy();
          } catch { /* never connected */ }
          const base = Math.min(maxDelay, 50 * 2 ** Math.min(this.#failures++, 16));
          const delay = Math.round(base * (0.75 + Math.random() * 0.5));
          this.reconnects++;
          this.#retryUntil = Math.max(this.#retryUntil, performance.now() + delay);
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      this.#reopening = false;
    }
  }

  /** PING a client that claims to be ready; reconnect when it does not answer. */
  async #check(): Promise<void> {
    if (this.#checking || this.#closed || !this.#ready) return;
    this.#checking = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // A Sentinel master must still be the master: `ROLE` instead of `PING`.
      const probe = this.#target.kind === "sentinel"
        ? roleOf(this.client).then((r) => r === "master")
        : this.client.ping().then(() => true, () => false);
      const answered = await Promise.race([
        probe,
        new Promise<boolean>((r) => timer = setTimeout(() => r(false), this.#healthTimeoutMs)),
      ]);
      if (answered || this.#closed || !this.#ready) return;
      this.healthFailures++;
      this.lastError = this.#target.kind === "sentinel"
        ? `${this.master} is no longer the master (or gave no answer within ${this.#healthTimeoutMs} ms)`
        : `no answer to PING within ${this.#healthTimeoutMs} ms`;
      this.#ready = false;
      this.#status.failed(this.lastError);
      for (const l of this.#downListeners) safe(l);
      if (this.#target.kind === "sentinel") {
        if (!this.#closed) this.#connecting = this.#reopen(1000);
        return;
      }
      try {
        this.client.destroy();
      } catch { /* already down */ }
      if (!this.#closed) {
        this.#connecting = this.client.connect().catch(() => {/* reported through 'error' */});
      }
    } finally {
      clearTimeout(timer);
      this.#checking = false;
    }
  }

  /** Whether the target is a Sentinel-managed master (it may change under a failover). */
  get sentinel(): boolean {
    return this.#target.kind === "sentinel";
  }

  /** True while commands can be sent. */
  get ready(): boolean {
    return this.#ready && !this.#closed;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Call `listener` every time the client becomes ready; `first` is true for the first connect,
   * `renewed` when {@link client} is a new client object (after a Sentinel failover), whose
   * subscriptions must be made again.
   *
   * @returns A function that removes the listener.
   */
  onReady(listener: (first: boolean, renewed: boolean) => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  /** Call `listener` when a ready client loses its connection. */
  onDown(listener: () => void): () => void {
    this.#downListeners.add(listener);
    return () => this.#downListeners.delete(listener);
  }

  /**
   * Resolve once ready, or false after `timeoutMs`.
   *
   * @param timeoutMs Longest wait.
   */
  async waitReady(timeoutMs: number): Promise<boolean> {
    if (this.ready) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let off = () => {};
    const ok = await new Promise<boolean>((resolve) => {
      off = this.onReady(() => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    off();
    return ok && this.ready;
  }

  /** Drop the socket now (pending commands reject) and wait out any reconnect timer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = false;
    this.#status.leave();
    clearInterval(this.#health);
    try {
      this.#client?.destroy();
    } catch { /* already closed */ }
    // node-redis sleeps between reconnect attempts on a timer it does not cancel.
    for (
      let wait = this.#retryUntil - performance.now();
      wait > 0;
      wait = this.#retryUntil - performance.now()
    ) {
      await new Promise((r) => setTimeout(r, wait + 5));
    }
    await this.#connecting;
  }

  #setDown(): void {
    const was = this.#ready;
    this.#ready = (this.#client?.isReady ?? false) && !this.#closed;
    if (was && !this.#ready) { for (const l of this.#downListeners) safe(l); }
    // A Sentinel connection never reconnects to the same address: it asks where the master is now.
    if (!this.#ready && was && this.#target.kind === "sentinel" && !this.#closed) {
      this.#connecting = this.#reopen(1000);
    }
  }
}

function hostPort(url: string): string {
  return url.replace(/^rediss?:\/\/([^@/]*@)?/, "").replace(/\/.*$/, "");
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch { /* a listener must not break the connection */ }
}
