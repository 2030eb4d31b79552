/**
 * Shared state: the latest snapshot of each node, in Redis (`<prefix>:snapshot:<node>`,
 * node set `<prefix>:nodes`), a file (`<dir>/<node>.json`, atomic rename, dir `/dev/shm`
 * or `/tmp`), memory, or `auto` — Redis with a live fallback to the file.
 *
 * @example
 * ```ts
 * import { createSharedState } from "./mod.ts";
 * const state = await createSharedState({ backend: "memory", node: "pi-1" });
 * console.log(await state.read()); // null until the first write
 * await state.close();
 * ```
 *
 * @module
 */
import type { EventSink } from "../events/event.ts";
import type { NodeSharedState } from "./node_state.ts";
import { AutoSharedState } from "./auto_state.ts";
import { FileSharedState } from "./file_state.ts";
import { MemorySharedState } from "./memory_state.ts";
import { RedisSharedState } from "./redis_state.ts";

export type * from "./snapshot.ts";
export type { NodeSharedState } from "./node_state.ts";
export { AutoSharedState, type AutoSharedStateOptions } from "./auto_state.ts";
export { defaultShmDir, ensureOwnedDir, FileSharedState, type FileSharedStateOptions } from "./file_state.ts";
export { MemorySharedState } from "./memory_state.ts";
export { RedisSharedState, type RedisSharedStateOptions, shmKeys } from "./redis_state.ts";
export {
  checkNode,
  parseSnapshot,
  schedulerStateSchema,
  serializeSnapshot,
  snapshotSchema,
} from "./validate.ts";

/** Backend names. */
export type SharedStateBackend = "auto" | "redis" | "file" | "memory";

/** Options for {@link createSharedState}. */
export interface SharedStateOptions {
  backend: SharedStateBackend;
  node: string;
  /** Required for `redis`; optional for `auto` (without it, `auto` is the file backend). */
  redisUrl?: string;
  /** File backend directory; default `/dev/shm`, `/tmp` where that is missing. */
  fileDir?: string;
  /** Default `harvester`. */
  keyPrefix?: string;
  /** Receives `shm.fallback`, `shm.recovered` and `error` (corrupt snapshot) events. */
  emit?: EventSink;
  /** How long to wait for Redis at start. Default 1000 ms. */
  connectTimeoutMs?: number;
}

/**
 * Open the shared state.
 *
 * @returns The backend, connected when it is Redis.
 * @throws {TypeError} For an unknown backend, a bad node id, or `redis` without `redisUrl`.
 * @throws {Error} When the `redis` backend cannot reach Redis within `connectTimeoutMs`.
 */
export async function createSharedState(options: SharedStateOptions): Promise<NodeSharedState> {
  const { node, emit } = options;
  const wait = options.connectTimeoutMs ?? 1000;
  switch (options.backend) {
    case "memory":
      return new MemorySharedState({ node, emit });
    case "file":
      return new FileSharedState({ node, dir: options.fileDir, emit });
    case "redis": {
      if (!options.redisUrl) {
        throw new TypeError(
          "Cannot open shared state as backend 'redis' needs 'redisUrl': current value is undefined",
        );
      }
      const s = new RedisSharedState({ node, url: options.redisUrl, keyPrefix: options.keyPrefix, emit });
      if (!(await s.conn.waitReady(wait))) {
        const why = s.conn.lastError ?? "no answer";
        await s.close();
        throw new Error(`Cannot open shared state: Redis at ${options.redisUrl} is unreachable (${why})`);
      }
      return s;
    }
    case "auto": {
      if (!options.redisUrl) return new FileSharedState({ node, dir: options.fileDir, emit });
      const s = new AutoSharedState({ ...options, redisUrl: options.redisUrl });
      await s.open(wait);
      return s;
    }
    default:
      throw new TypeError(
        `Cannot open shared state as 'backend' must be auto, redis, file or memory: current value is '${
          String((options as { backend: unknown }).backend)
        }'`,
      );
  }
}
