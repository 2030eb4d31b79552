/**
 * Snapshot validation (zod): what a reader accepts from a file or a Redis key, and what a
 * writer may publish. Unknown keys are kept, so a newer writer does not break older readers.
 *
 * @module
 */
import { z } from "zod";
import type { Snapshot } from "./snapshot.ts";

const readingValue = z.union([z.number(), z.string(), z.boolean(), z.null()]);

const readingRecord = z.looseObject({
  id: z.string(),
  node: z.string(),
  sensor: z.string(),
  plugin: z.string(),
  values: z.record(z.string(), readingValue),
  units: z.record(z.string(), z.string()),
  timestamp: z.string(),
});

/** A plugin's scheduler state (shared with the hub's push validation). */
export const schedulerStateSchema = z.looseObject({
  mood: z.enum(["idle", "active", "tired", "overwhelmed"]),
  energy: z.number(),
  inboxDepth: z.number(),
  cadenceMs: z.number(),
  priority: z.number(),
  lastRunAt: z.string().nullable(),
  runs: z.number(),
  overruns: z.number(),
  drops: z.number(),
  deferred: z.number(),
});

const pluginStatus = z.looseObject({
  id: z.string(),
  version: z.string(),
  status: z.enum(["starting", "running", "backoff", "quarantined", "stopped", "disabled"]),
  restarts: z.number(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  lastPollAt: z.string().nullable(),
  scheduler: schedulerStateSchema.nullable(),
});

/** The zod schema of {@link Snapshot}. */
export const snapshotSchema = z.looseObject({
  timestamp: z.string(),
  node: z.string(),
  cycle: z.number(),
  readings: z.record(z.string(), readingRecord),
  plugins: z.record(z.string(), pluginStatus),
  leds: z.array(z.string()),
  anima: z.looseObject({
    warmth: z.number(),
    clarity: z.number(),
    stability: z.number(),
    presence: z.number(),
  })
    .nullable(),
  identity: z.looseObject({ creature_id: z.string(), name: z.string(), awakenings: z.number() }).nullable(),
  oled: z.string().nullable(),
});

/** Node names double as file names: letters, digits, `_`, `-`, `.`; 1..64 characters; not `.`/`..`. */
const NODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Check a node id before it becomes a key or a file name.
 *
 * @throws {TypeError} When it is not a safe node id.
 */
export function checkNode(node: unknown, action = "use node"): string {
  if (typeof node !== "string" || !NODE.test(node) || node === "." || node === "..") {
    throw new TypeError(
      `Cannot ${action} as the node id must match ${NODE.source} and not be '.' or '..': current value is '${
        String(node)
      }'`,
    );
  }
  return node;
}

/** Outcome of {@link parseSnapshot}. */
export type ParsedSnapshot = { ok: true; snapshot: Snapshot } | { ok: false; error: string };

/** Parse and validate stored JSON; never throws. */
export function parseSnapshot(json: string): ParsedSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message})` };
  }
  const r = snapshotSchema.safeParse(value);
  if (!r.success) return { ok: false, error: describe(r.error) };
  return { ok: true, snapshot: r.data as unknown as Snapshot };
}

/**
 * Validate and serialize a snapshot for writing.
 *
 * @throws {TypeError} Naming the first bad field, e.g. `Cannot write snapshot: 'cycle' expected number`.
 */
export function serializeSnapshot(snapshot: Snapshot): string {
  const r = snapshotSchema.safeParse(snapshot);
  if (!r.success) throw new TypeError(`Cannot write snapshot: ${describe(r.error)}`);
  checkNode(snapshot.node, "write snapshot");
  return JSON.stringify(snapshot);
}

function describe(error: z.ZodError): string {
  const i = error.issues[0];
  return `'${i.path.join(".") || "(root)"}' ${i.message}`;
}
