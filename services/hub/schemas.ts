/**
 * Zod schemas of every body and query the hub accepts.
 *
 * @module
 */
import { z } from "zod";
import { schedulerStateSchema } from "../shm/mod.ts";

const nodeId = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  "must be 1-64 letters, digits, '.', '_' or '-'",
);
/** ISO 8601 in UTC, as `Date.prototype.toISOString` writes it (a zone offset is refused, not guessed). */
const iso = z.string().max(40).regex(
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/,
  "must be an ISO 8601 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.sss]Z)",
).refine((s) => Number.isFinite(Date.parse(s)), "must be an ISO 8601 UTC timestamp");
const byte = z.number().int("must be an integer").min(0, "must be 0..255").max(255, "must be 0..255");

export const buzzerBody = z.strictObject({
  pattern: z.enum(["single", "triple", "long"]),
  node: nodeId.optional(),
});

export const buzzerTestBody = z.strictObject({ node: nodeId.optional() });

export const ledBody = z.strictObject({
  index: z.number().int("must be an integer").min(0, "must be 0..255").max(255, "must be 0..255"),
  r: byte,
  g: byte,
  b: byte,
  node: nodeId.optional(),
});

export const reloadBody = z.strictObject({ node: nodeId.optional() });
export const pluginIdParam = z.string().regex(
  /^[a-z0-9][a-z0-9_-]{0,63}$/,
  "must be a plugin id (a-z, 0-9, '-', '_')",
);

export const nameBody = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(64, "must be at most 64 characters"),
  node: nodeId.optional(),
});

export const eventsQuery = z.object({
  since: z.string().max(64).optional(),
  type: z.string().max(64).optional(),
  limit: z.coerce.number().int("must be an integer").min(1, "must be 1..1000").max(1000, "must be 1..1000")
    .optional(),
});

export const logsQuery = z.object({ node: nodeId.optional() });

/** Largest magnitude a reading value may have: beyond any sensor (and epoch ms), below 2^53. */
export const READING_VALUE_MAX = 1e15;

const readingValue = z.union([
  z.number().refine(Number.isFinite, "must be a finite number").min(
    -READING_VALUE_MAX,
    `must be within ±${READING_VALUE_MAX}`,
  ).max(READING_VALUE_MAX, `must be within ±${READING_VALUE_MAX}`),
  z.string().max(1024),
  z.boolean(),
  z.null(),
]);

/** A record of at most `max` entries. */
const bounded = <T extends z.ZodType>(value: T, max: number, keyMax = 64) =>
  z.record(z.string().max(keyMax), value).refine(
    (r) => Object.keys(r).length <= max,
    `must hold at most ${max} entries`,
  );

// Pushed objects are rebuilt from known fields only (z.object strips the rest): a spoke cannot
// park unknown data, of any depth, in the hub's memory, history or answers.
const readingRecord = z.object({
  id: z.string().max(160),
  node: nodeId,
  sensor: z.string().min(1).max(96),
  plugin: z.string().max(64),
  values: bounded(readingValue, 64),
  units: bounded(z.string().max(32), 64),
  timestamp: iso,
});

const pluginStatus = z.object({
  id: z.string().max(64),
  version: z.string().max(32),
  status: z.enum(["starting", "running", "backoff", "quarantined", "stopped", "disabled"]),
  restarts: z.number().int().min(0),
  lastError: z.string().max(2000).nullable(),
  lastErrorAt: z.string().max(40).nullable(),
  lastPollAt: z.string().max(40).nullable(),
  scheduler: z.object(schedulerStateSchema.shape).nullable(),
});

const unit = z.number().refine(Number.isFinite, "must be a finite number");
const componentStatus = z.enum(["ok", "degraded", "down"]);

/** A node's snapshot as a spoke pushes it (SPEC §7): bounded, unknown fields stripped. */
export const snapshotSchema = z.object({
  timestamp: iso,
  node: nodeId,
  cycle: z.number().int().min(0),
  readings: bounded(readingRecord, 256, 160),
  plugins: bounded(pluginStatus, 64),
  leds: z.array(z.string().regex(/^#[0-9a-fA-F]{6}$/, "must be #rrggbb")).max(256),
  anima: z.object({ warmth: unit, clarity: unit, stability: unit, presence: unit }).nullable(),
  identity: z.object({
    creature_id: z.string().max(64),
    name: z.string().max(64),
    awakenings: z.number().int().min(0),
  })
    .nullable(),
  oled: z.string().max(4096).nullable(),
  /** The spoke's own health report (services/health), bounded. */
  health: z.object({
    status: componentStatus,
    serving: z.boolean(),
    components: bounded(
      z.object({
        status: componentStatus,
        reason: z.string().max(500).nullable(),
        since: z.string().max(40),
        critical: z.boolean(),
      }),
      32,
    ),
  }).nullable().optional(),
});

export const commandResultSchema = z.object({
  id: z.string().min(1).max(64),
  ok: z.boolean(),
  error: z.string().max(2000).optional(),
  code: z.enum(["timeout", "unreachable", "rejected", "failed"]).optional(),
  data: z.unknown().optional(),
});

/** `/push`: a batch of snapshots of one node (oldest first) plus results of earlier commands. */
export const pushBody = z.object({
  node: nodeId,
  snapshots: z.array(snapshotSchema).min(1, "must hold at least one snapshot").max(
    500,
    "must hold at most 500 snapshots",
  ),
  results: z.array(commandResultSchema).max(64).optional(),
  /** The spoke's host and plugin log lines since its previous accepted push. */
  logs: z.array(z.object({
    ts: iso,
    level: z.enum(["debug", "info", "warn", "error"]),
    source: z.string().max(64),
    message: z.string().max(2000),
  })).max(200, "must hold at most 200 lines").optional(),
});

export const pushResultsBody = z.object({
  node: nodeId,
  results: z.array(commandResultSchema).min(1).max(64),
});

export type PushBody = z.infer<typeof pushBody>;
