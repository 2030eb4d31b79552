/**
 * Spoke ingest owns its data: after the schema (which strips unknown fields and bounds values),
 * every snapshot of a push is checked against the pushing spoke and the hub's own clock before it
 * enters the registry, the event stream or history.
 *
 * - a reading must be the spoke's own: `node` is the spoke, `id` is `<node>:<sensor>` and is its key;
 * - a timestamp more than `clockSkewMs` ahead of the hub is clamped to the hub's receive time (the
 *   spoke's clock is wrong, its data is not), one older than `maxAgeMs` is refused;
 * - a reading larger than `readingMaxBytes` (as JSON) is refused;
 * - every reading gets `received_at`, the hub's receive time.
 *
 * @module
 */
import type { ReadingRecord, Snapshot } from "../shm/snapshot.ts";
import { RequestError } from "./errors.ts";

/** Limits of {@link admitSnapshot}. */
export interface IngestLimits {
  /** How far ahead of the hub's clock a timestamp may be before it is clamped. Default 300 000. */
  clockSkewMs?: number;
  /** How far behind the hub's clock a timestamp may be before it is refused. Default 7 days. */
  maxAgeMs?: number;
  /** Largest reading, as JSON. Default 4096. */
  readingMaxBytes?: number;
}

/** A reading as the hub stores it: the spoke's record plus when the hub received it. */
export type ReceivedReading = ReadingRecord & { received_at: string };

/** What {@link admitSnapshot} made of one snapshot. */
export interface Admitted {
  snapshot: Snapshot;
  /** Timestamps clamped to receive time (snapshot and readings). */
  clamped: number;
}

const refuse = (field: string, problem: string) =>
  new RequestError(400, `Cannot accept body: '${field}' ${problem}`, field, problem);

/**
 * Check and rewrite snapshot `index` of a push by `node`, received at `now` (hub epoch ms).
 *
 * @returns the snapshot to store, with `received_at` on each reading and clamped timestamps
 * @throws {RequestError} 400 naming the field: a reading of another node, a timestamp too old,
 *   a reading over its byte budget
 */
export function admitSnapshot(
  s: Snapshot,
  index: number,
  node: string,
  now: number,
  limits: IngestLimits = {},
): Admitted {
  const skew = limits.clockSkewMs ?? 300_000;
  const maxAge = limits.maxAgeMs ?? 7 * 86_400_000;
  const readingMax = limits.readingMaxBytes ?? 4096;
  const receivedAt = new Date(now).toISOString();
  let clamped = 0;
  const stamp = (ts: string, field: string): string => {
    const t = Date.parse(ts);
    if (t > now + skew) {
      clamped++;
      return receivedAt;
    }
    if (t < now - maxAge) {
      throw refuse(
        field,
        `is more than ${Math.round(maxAge / 1000)} s before the hub's clock (${receivedAt})`,
      );
    }
    return ts;
  };
  const at = `snapshots.${index}`;
  const timestamp = stamp(s.timestamp, `${at}.timestamp`);
  const readings: Record<string, ReceivedReading> = {};
  for (const [key, r] of Object.entries(s.readings)) {
    const field = `${at}.readings.${key}`;
    if (r.node !== node) throw refuse(`${field}.node`, `must be "${node}", the pushing node`);
    const id = `${node}:${r.sensor}`;
    if (r.id !== id) throw refuse(`${field}.id`, `must be "${id}"`);
    if (key !== id) throw refuse(field, `must be keyed by its id "${id}"`);
    const bytes = new TextEncoder().encode(JSON.stringify(r)).length;
    if (bytes > readingMax) throw refuse(field, `is ${bytes} bytes, more than ${readingMax}`);
    readings[key] = { ...r, timestamp: stamp(r.timestamp, `${field}.timestamp`), received_at: receivedAt };
  }
  return { snapshot: { ...s, timestamp, readings }, clamped };
}
