/**
 * Events: `emit(type, data)` from anywhere, stored in Redis (PUBLISH on `<prefix>:events`
 * plus XADD to the capped stream `<prefix>:stream`) or, without Redis, in an in-memory ring
 * with the same reading API. See README.md for keys and guarantees.
 *
 * @example
 * ```ts
 * import { createEvents } from "./mod.ts";
 * const events = createEvents({ node: "pi-1" });
 * events.emitter.emit("daemon.start", { mode: "sim" });
 * await events.close();
 * ```
 *
 * @module
 */
import type { EventLog } from "./event.ts";
import { Emitter } from "./emitter.ts";
import { MemoryEventStore } from "./memory_store.ts";
import { RedisEventLog } from "./redis_log.ts";
import { RedisEventWriter } from "./redis_writer.ts";

export type { EmitterStats, EventEnvelope, EventLog, EventQuery, EventSink } from "./event.ts";
export { Emitter, type EmitterCounters, type EmitterOptions, type EventWriter } from "./emitter.ts";
export { MemoryEventStore, type MemoryEventStoreOptions } from "./memory_store.ts";
export { RedisEventLog, type RedisEventLogOptions } from "./redis_log.ts";
export { eventKeys, RedisEventWriter, type RedisEventWriterOptions } from "./redis_writer.ts";
export {
  maskTarget,
  parseRedisTarget,
  type RedisTarget,
  resolveRedis,
  SentinelError,
  sentinelUrl,
} from "./redis_target.ts";
export { RedisConnection, type RedisConnectionOptions } from "./redis_connection.ts";
export {
  explain as explainRedisError,
  maskUrl,
  redisStatus,
  type RedisStatusBoard,
  type RedisUrlStatus,
} from "./redis_status.ts";

/** Options for {@link createEvents}. */
export interface EventsOptions {
  /** Redis URL; absent → the in-memory ring. */
  redisUrl?: string;
  /** Node id stamped on every event. */
  node: string;
  /** Key prefix. Default `harvester`. */
  keyPrefix?: string;
  /** Approximate stream cap (`XADD MAXLEN ~`). Default 10 000. */
  streamMaxLen?: number;
  /** Events held while Redis is away. Default 10 000. */
  bufferMax?: number;
  /** Events per round trip. Default 500. */
  batchMax?: number;
  /** Capacity of the in-memory ring. Default 10 000. */
  ringSize?: number;
  /** Bytes of the in-memory ring. Default 16 MiB. */
  ringBytes?: number;
  /** Largest event, JSON bytes. Default 16 KiB. */
  eventMaxBytes?: number;
  /** Bytes held while Redis is away. Default 8 MiB. */
  bufferMaxBytes?: number;
  /** Approximate byte cap of the Redis stream. Default 64 MiB. */
  streamMaxBytes?: number;
  /** Longest wait for the final flush in close(), ms. Default 2000. */
  closeTimeoutMs?: number;
}

/** An emitter, the log that reads what it wrote, and one close for both. */
export interface Events {
  emitter: Emitter;
  log: EventLog;
  /** `redis` or `memory`. */
  kind: "redis" | "memory";
  /** Flush (bounded) and close every connection. */
  close(): Promise<void>;
}

/**
 * Build the event pipeline for one node.
 *
 * @param options Redis URL (optional), node id and bounds.
 * @returns The emitter, its log and a close function.
 * @throws {TypeError} When `node` is empty or `redisUrl` is not a Redis URL.
 * @throws {RangeError} When a bound is not a positive integer.
 */
export function createEvents(options: EventsOptions): Events {
  if (typeof options.node !== "string" || options.node === "") {
    throw new TypeError(
      `Cannot create events as 'node' must be a non-empty string: current value is '${options.node}'`,
    );
  }
  const bounds = {
    node: options.node,
    bufferMax: options.bufferMax,
    batchMax: options.batchMax,
    eventMaxBytes: options.eventMaxBytes,
    bufferMaxBytes: options.bufferMaxBytes,
  };
  if (!options.redisUrl) {
    const store = new MemoryEventStore({ capacity: options.ringSize, capacityBytes: options.ringBytes });
    const emitter = new Emitter({ ...bounds, writer: store });
    return { emitter, log: store, kind: "memory", close: () => emitter.close(options.closeTimeoutMs) };
  }
  const writer = new RedisEventWriter({
    url: options.redisUrl,
    keyPrefix: options.keyPrefix,
    streamMaxLen: options.streamMaxLen,
    streamMaxBytes: options.streamMaxBytes,
  });
  const emitter = new Emitter({ ...bounds, writer });
  const log = new RedisEventLog({ url: options.redisUrl, keyPrefix: options.keyPrefix });
  return {
    emitter,
    log,
    kind: "redis",
    close: async () => {
      await emitter.close(options.closeTimeoutMs);
      await log.close();
    },
  };
}
