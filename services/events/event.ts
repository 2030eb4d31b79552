/**
 * The event envelope and the two interfaces every event backend implements: a sink that
 * `emit()`s without ever throwing or blocking, and a log that can be read back and followed.
 *
 * @module
 */

/** One event: `{ type, ts, cycle, node, data }`; `id` is the stream id once stored. */
export interface EventEnvelope {
  /** Stream id (Redis `XADD` id, or `<ms>-<seq>` for the in-memory ring). */
  id?: string;
  /** Dotted lowercase type: `daemon.start`, `reading`, `plugin.denied`, … */
  type: string;
  /** ISO 8601 UTC. */
  ts: string;
  cycle: number;
  node: string;
  data: Record<string, unknown>;
}

/** Where events go. `emit` enqueues and returns at once; it never throws. */
export interface EventSink {
  emit(type: string, data?: Record<string, unknown>): void;
}

/** Query for {@link EventLog.query}. */
export interface EventQuery {
  /** Only events after this ISO timestamp or stream id. */
  since?: string;
  /** Type prefix filter (`plugin.` matches `plugin.denied`). */
  type?: string;
  /** At most this many, newest last. Default 100. */
  limit?: number;
}

/** Reading side of the event store. */
export interface EventLog {
  /** The newest `count` events, oldest first. */
  latest(count: number): Promise<EventEnvelope[]>;
  query(q: EventQuery): Promise<EventEnvelope[]>;
  /** Follow new events; returns an unsubscribe function. */
  subscribe(listener: (event: EventEnvelope) => void): () => void;
}

/** Counters every emitter keeps (exported to `/metrics` and the snapshot). */
export interface EmitterStats {
  emitted: number;
  written: number;
  /** Lost to overflow of the bounded buffer while the store was away. */
  dropped: number;
  buffered: number;
  connected: boolean;
}
