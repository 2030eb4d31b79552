/**
 * History over HTTP: `GET /api/history?sensor=<node:sensor>&field=&from=&to=&step=` (ISO 8601 or
 * relative times like `-24h`), `GET /api/history/export.csv` (same query) and
 * `GET /api/history/series`. Answers are bounded in buckets and bytes; a bad range is a 400 that
 * names the parameter. Backed by the recorder (services/recorder).
 *
 * @module
 */
import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { History, Recorder } from "../recorder/mod.ts";
import { HistoryQueryError, MAX_BUCKETS } from "../recorder/mod.ts";
import { RequestError, validate } from "./errors.ts";

/** What the hub needs of a recorder. */
export type HistoryStore = Pick<Recorder, "query" | "statistics" | "series" | "status">;

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/**
 * `now`, `-24h` / `-7d` / `-90s` (relative to now), or an ISO 8601 date-time with a zone.
 *
 * @returns ms since the epoch, or null when `text` is neither
 */
export function parseTime(text: string, now: number): number | null {
  if (text === "now") return now;
  const rel = /^-(\d{1,6})([smhdwy])$/.exec(text);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  if (!/^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d))?$/.test(text)) return null;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : null;
}

/** `300`, `5m`, `1h` → seconds, or null. */
export function parseStep(text: string): number | null {
  const m = /^(\d{1,9})([smhdw]?)$/.exec(text);
  if (!m) return null;
  const s = Number(m[1]) * (m[2] ? UNIT_MS[m[2]] / 1000 : 1);
  return s > 0 ? s : null;
}

const STEPS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800];

/** The smallest round step that gives at most `buckets` buckets over `rangeMs`. */
export function niceStep(rangeMs: number, buckets = 300): number {
  const want = rangeMs / 1000 / buckets;
  return STEPS.find((s) => s >= want) ?? Math.ceil(want);
}

const historyQuery = z.object({
  sensor: z.string().regex(
    /^[a-z0-9][a-z0-9-]{0,62}:[A-Za-z0-9_.-]{1,64}$/,
    "must be node:sensor, e.g. pi4:bme680",
  ),
  field: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be a field name, e.g. temperature").optional(),
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  step: z.string().max(16).optional(),
});

/** Parsed and checked query. */
interface Parsed {
  node: string;
  sensor: string;
  field?: string;
  from: number;
  to: number;
  step?: number;
}

function parse(query: Record<string, string>, now: number): Parsed {
  const q = validate(historyQuery, query, "query");
  const [node, sensor] = q.sensor.split(":");
  const from = parseTime(q.from ?? "-24h", now);
  if (from === null) {
    throw new RequestError(
      400,
      "Cannot read history: 'from' must be ISO 8601 (2026-11-30T20:00:00Z) or relative (-24h)",
      "from",
      "is not a time",
    );
  }
  const to = parseTime(q.to ?? "now", now);
  if (to === null) {
    throw new RequestError(
      400,
      "Cannot read history: 'to' must be ISO 8601 or relative (-1h) or now",
      "to",
      "is not a time",
    );
  }
  if (to <= from) {
    throw new RequestError(400, "Cannot read history: 'to' must be after 'from'", "to", "is not after from");
  }
  let step: number | undefined;
  if (q.step !== undefined) {
    const s = parseStep(q.step);
    if (s === null) {
      throw new RequestError(
        400,
        "Cannot read history: 'step' must be seconds or 30s, 5m, 1h, 1d",
        "step",
        "is not a step",
      );
    }
    step = s;
  }
  return { node, sensor, field: q.field, from, to, step };
}

function run<T>(fn: () => T, param: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HistoryQueryError) {
      throw new RequestError(400, `Cannot read history: ${e.message}`, param, e.message);
    }
    throw e;
  }
}

/** Histories of one sensor's fields (all numeric fields when none is named, at most 20). */
export function readHistory(store: HistoryStore, query: Record<string, string>, now = Date.now()): History[] {
  const q = parse(query, now);
  const fields = q.field ? [q.field] : store.series()
    .filter((s) => s.node === q.node && s.sensor === q.sensor && s.kind === "number")
    .map((s) => s.field).slice(0, 20);
  // Nothing recorded yet for this sensor (a young node): an empty answer, not an error.
  if (fields.length === 0) return [];
  const per = Math.max(50, Math.floor(MAX_BUCKETS / fields.length));
  const step = q.step ?? niceStep(q.to - q.from, Math.min(300, per));
  const out: History[] = [];
  for (const f of fields) {
    out.push(run(() => store.query(q.node, q.sensor, f, q.from, q.to, step), q.step ? "step" : "field"));
  }
  return out;
}

/** Register the history routes behind `guard`; without a store they answer 503 saying why. */
export function registerHistory(app: Hono, store: HistoryStore | undefined, guard: MiddlewareHandler): void {
  const need = (): HistoryStore => {
    if (!store) {
      throw new RequestError(503, "Cannot read history: this hub records none ([history] enabled = false)");
    }
    return store;
  };
  app.get("/api/history/series", guard, (c) => c.json({ series: need().series(), status: need().status() }));
  app.get("/api/history/export.csv", guard, (c) => {
    const q = c.req.query();
    if (!q.field) {
      throw new RequestError(400, "Cannot export history: 'field' is required", "field", "is required");
    }
    const [h] = readHistory(need(), q);
    const lines = [
      "t,min,max,mean,count",
      ...h.buckets.map((b) => `${new Date(b.t).toISOString()},${b.min},${b.max},${b.mean},${b.count}`),
    ];
    c.header("content-type", "text/csv; charset=utf-8");
    c.header("content-disposition", `attachment; filename="${h.node}-${h.sensor}-${h.field}.csv"`);
    return c.body(lines.join("\n") + "\n");
  });
  app.get("/api/history", guard, (c) => {
    const histories = readHistory(need(), c.req.query());
    return c.json(c.req.query("field") ? histories[0] : { sensor: c.req.query("sensor"), fields: histories });
  });
}
