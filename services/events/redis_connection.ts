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
 * @module
 */
import { createClient, type RedisClientType } from "redis";
import { redisStatus } from "./redis_status.ts";

/** Options for {@link RedisConnection}. */
export interface RedisConnectionOptions {
  /** `redis://host:port[/db]`. */
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
  /** The underlying client; commands reject at once while {@link ready} is false. */
  readonly client: RedisClientType;
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
  #readyListeners = new Set<(first: boolean) => void>();
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
   * @throws {TypeError} When the URL is not a `redis://` or `rediss://` URL.
   */
  constructor(options: RedisConnectionOptions) {
    if (!/^rediss?:\/\//.test(options.url)) {
      throw new TypeError(`Cannot connect to Redis: URL '${options.url}' is not redis:// or rediss://`);
    }
    const maxDelay = options.maxRetryDelayMs ?? 2000;
    this.#status = redisStatus.join(options.url);
    this.client = createClient({
      url: options.url,
      name: options.name,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 2000,
        reconnectStrategy: (retries: number) => {
          if (this.#closed) return false;
          void retries; // node-redis resets it whenever the socket connects, even if AUTH then fails
          const base = Math.min(maxDelay, 50 * 2 ** Math.min(this.#failures++, 16));
          const delay = Math.round(base * (0.75 + Math.random() * 0.5));
          this.reconnects++;
          this.#retryUntil = Math.max(this.#retryUntil, performance.now() + delay);
          return delay;
        },
      },
    }) as RedisClientType;
    this.client.on("error", (err: unknown) => {
      this.errors++;
      this.lastError = err instanceof Error ? err.message : String(err);
      if (!this.#closed) this.#status.failed(this.lastError);
      this.#setDown();
    });
    this.client.on("end", () => this.#setDown());
    this.client.on("ready", () => {
      this.#ready = true;
      this.#failures = 0;
      this.#status.ready();
      const first = this.#readyCount++ === 0;
      for (const l of this.#readyListeners) safe(() => l(first));
    });
    this.#connecting = this.client.connect().catch(() => {/* reported through 'error' */});
    this.#healthTimeoutMs = options.healthTimeoutMs ?? 2000;
    const every = options.healthCheckMs ?? 1000;
    if (every > 0) this.#health = setInterval(() => void this.#check(), every);
  }

  /** PING a client that claims to be ready; reconnect when it does not answer. */
  async #check(): Promise<void> {
    if (this.#checking || this.#closed || !this.#ready) return;
    this.#checking = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const answered = await Promise.race([
        this.client.ping().then(() => true, () => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(false), this.#healthTimeoutMs)),
      ]);
      if (answered || this.#closed || !this.#ready) return;
      this.healthFailures++;
      this.lastError = `no answer to PING within ${this.#healthTimeoutMs} ms`;
      this.#ready = false;
      this.#status.failed(this.lastError);
      for (const l of this.#downListeners) safe(l);
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

  /** True while commands can be sent. */
  get ready(): boolean {
    return this.#ready && !this.#closed;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Call `listener` every time the client becomes ready; `first` is true for the first connect.
   *
   * @returns A function that removes the listener.
   */
  onReady(listener: (first: boolean) => void): () => void {
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
      this.client.destroy();
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
    this.#ready = this.client.isReady && !this.#closed;
    if (was && !this.#ready) { for (const l of this.#downListeners) safe(l); }
  }
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch { /* a listener must not break the connection */ }
}
