/**
 * {@link AutoSharedState}: Redis while it answers, the file backend while it does not —
 * switched at run time, no restart. A failed or timed-out Redis write (or a dropped
 * connection) switches to the file and emits `shm.fallback`; while on the file, each write
 * also probes Redis in the background (one probe at a time, so a hung server never slows
 * the writer), and the first probe that succeeds switches back and emits `shm.recovered`.
 *
 * @module
 */
import type { EventSink } from "../events/event.ts";
import type { Snapshot } from "./snapshot.ts";
import type { NodeSharedState } from "./node_state.ts";
import { FileSharedState } from "./file_state.ts";
import { RedisSharedState } from "./redis_state.ts";
import { checkNode } from "./validate.ts";

/** Options for {@link AutoSharedState}. */
export interface AutoSharedStateOptions {
  node: string;
  redisUrl: string;
  keyPrefix?: string;
  fileDir?: string;
  emit?: EventSink;
  /** A Redis write slower than this counts as failed. Default 1000 ms. */
  writeTimeoutMs?: number;
}

/** Redis with a file fallback. `kind` is the backend in use: `redis` or `file`. */
export class AutoSharedState implements NodeSharedState {
  readonly node: string;
  readonly redis: RedisSharedState;
  readonly file: FileSharedState;
  /** Switches to the file so far. */
  fallbacks = 0;
  #using: "redis" | "file" = "redis";
  #since = 0;
  #probe: Promise<void> | null = null;
  #timeoutMs: number;
  #emit: EventSink["emit"];
  #offDown: () => void;

  /** @throws {TypeError} When `node` or the URL is invalid. */
  constructor(options: AutoSharedStateOptions) {
    this.node = checkNode(options.node, "open shared state");
    this.#emit = (t, d) => options.emit?.emit(t, d);
    this.#timeoutMs = options.writeTimeoutMs ?? 1000;
    this.file = new FileSharedState({ node: options.node, dir: options.fileDir, emit: options.emit });
    this.redis = new RedisSharedState({
      node: options.node,
      url: options.redisUrl,
      keyPrefix: options.keyPrefix,
      emit: options.emit,
    });
    this.#offDown = this.redis.conn.onDown(() => this.#fallback("connection lost"));
  }

  /** `redis` or `file`: the backend in use. */
  get kind(): string {
    return this.#using;
  }

  /**
   * Wait up to `timeoutMs` for the first Redis connection; without one, start on the file.
   *
   * @returns The backend in use afterwards.
   */
  async open(timeoutMs = 1000): Promise<string> {
    if (!(await this.redis.conn.waitReady(timeoutMs))) this.#fallback("Redis unreachable at start");
    return this.#using;
  }

  /** @throws {TypeError} When the snapshot does not match the schema. */
  async write(snapshot: Snapshot): Promise<void> {
    if (this.#using === "redis") {
      try {
        await this.#timed(this.redis.write(snapshot));
        return;
      } catch (err) {
        if (err instanceof TypeError) throw err;
        this.#fallback((err as Error).message);
      }
    }
    await this.file.write(snapshot);
    if (this.redis.ready && !this.#probe) {
      this.#probe = this.#timed(this.redis.write(snapshot))
        .then(() => this.#recover())
        .catch(() => {/* still down; the next write probes again */})
        .finally(() => this.#probe = null);
    }
  }

  /** From Redis while it is in use, otherwise from the file. */
  async read(node = this.node): Promise<Snapshot | null> {
    if (this.#using === "redis") {
      try {
        return await this.#timed(this.redis.read(node));
      } catch (err) {
        if (err instanceof TypeError) throw err;
      }
    }
    return this.file.read(node);
  }

  /** Nodes known to either backend. */
  async nodes(): Promise<string[]> {
    const fromRedis = this.redis.ready ? await this.#timed(this.redis.nodes()).catch(() => []) : [];
    return [...new Set([...fromRedis, ...await this.file.nodes()])].sort();
  }

  async close(): Promise<void> {
    this.#offDown();
    await this.#probe;
    await Promise.all([this.redis.close(), this.file.close()]);
  }

  #fallback(reason: string): void {
    if (this.#using === "file") return;
    this.#using = "file";
    this.#since = performance.now();
    this.fallbacks++;
    this.#emit("shm.fallback", { from: "redis", to: "file", dir: this.file.dir, reason });
  }

  #recover(): void {
    if (this.#using === "redis") return;
    this.#using = "redis";
    this.#emit("shm.recovered", {
      from: "file",
      to: "redis",
      downMs: Math.round(performance.now() - this.#since),
    });
  }

  async #timed<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Cannot reach Redis: no answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
      p.catch(() => {});
    }
  }
}
