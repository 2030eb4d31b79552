/**
 * Folder-private helpers shared by the Redis and in-memory event logs: stream ids, `since`
 * parsing, query validation.
 *
 * @module
 */
import type { EventEnvelope, EventQuery } from "./event.ts";

/** Default and largest `limit` of a query. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

const STREAM_ID = /^(\d+)(?:-(\d+))?$/;

/** A parsed `since`: a stream id (exclusive) or an ISO time (events with a later `ts`). */
export type Since = { kind: "id"; id: string } | { kind: "time"; ms: number; iso: string };

/** A validated query. */
export interface CheckedQuery {
  since: Since | null;
  type: string;
  limit: number;
}

/**
 * Validate a query.
 *
 * @throws {RangeError} When `limit` is not an integer in 1..10000.
 * @throws {TypeError} When `since` is neither a stream id nor an ISO timestamp.
 */
export function checkQuery(q: EventQuery): CheckedQuery {
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new RangeError(
      `Cannot query events as 'limit' must be an integer in 1..${MAX_LIMIT}: current value is ${limit}`,
    );
  }
  return {
    since: q.since === undefined || q.since === "" ? null : parseSince(q.since),
    type: q.type ?? "",
    limit,
  };
}

/**
 * Parse `since`: `1700000000000-3`, `1700000000000` (a stream id) or an ISO 8601 time.
 *
 * @throws {TypeError} When it is neither.
 */
export function parseSince(since: string): Since {
  const m = STREAM_ID.exec(since);
  if (m) return { kind: "id", id: `${m[1]}-${m[2] ?? "0"}` };
  const ms = Date.parse(since);
  if (!/^\d{4}-\d{2}-\d{2}/.test(since) || Number.isNaN(ms)) {
    throw new TypeError(
      `Cannot query events as 'since' must be a stream id or an ISO timestamp: current value is '${since}'`,
    );
  }
  return { kind: "time", ms, iso: new Date(ms).toISOString() };
}

/** Compare two stream ids `<ms>-<seq>`: negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

/** True when `event` passes the `since` bound and the type prefix. */
export function matches(event: EventEnvelope, q: CheckedQuery): boolean {
  if (q.type && !event.type.startsWith(q.type)) return false;
  if (!q.since) return true;
  if (q.since.kind === "id") return event.id !== undefined && compareIds(event.id, q.since.id) > 0;
  return Date.parse(event.ts) > q.since.ms;
}

/**
 * Parse one stored envelope; null when it is not a valid envelope.
 *
 * @param json The stored JSON text.
 * @param id The stream id to attach.
 */
export function parseEnvelope(json: string, id?: string): EventEnvelope | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const e = v as Record<string, unknown>;
  if (typeof e.type !== "string" || typeof e.ts !== "string" || typeof e.node !== "string") return null;
  const data = typeof e.data === "object" && e.data !== null ? e.data as Record<string, unknown> : {};
  const out: EventEnvelope = {
    type: e.type,
    ts: e.ts,
    cycle: typeof e.cycle === "number" ? e.cycle : 0,
    node: e.node,
    data,
  };
  const eid = id ?? (typeof e.id === "string" ? e.id : undefined);
  return eid === undefined ? out : { id: eid, ...out };
}
