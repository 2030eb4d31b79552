/**
 * {@link Recorder}: the hub's embedded history, SQLite through `node:sqlite` (no dependency).
 * Every numeric reading field is kept per node, sensor and field in three tiers — raw values,
 * 1-minute and 1-hour rollups (min, max, sum, count). A value costs one raw insert; when a
 * series moves into a new minute, the minutes it left are rolled up from raw (and their hours
 * from the minutes) by idempotent replace-selects, a few per batch, so the rollup tiers trail the
 * raw tier by about a minute and a restart or late data only re-runs the same statements.
 * String and boolean fields are kept as changes.
 * Retention per tier and a size ceiling prune the oldest data first, tier by tier, and say so.
 * A write that fails (full disk, read-only file) turns the recorder `degraded` ("not recording"),
 * logged once per episode; the hub goes on.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { ReadingRecord } from "../shm/snapshot.ts";

/** Retention and size limits. */
export interface RecorderLimits {
  /** Raw values kept this many days. Default 7. */
  rawDays: number;
  /** 1-minute rollups kept this many days. Default 90. */
  minuteDays: number;
  /** 1-hour rollups kept this many years. Default 5. */
  hourYears: number;
  /** Size ceiling of the database file, MB. Default 200. */
  maxMb: number;
  /**
   * Most series (node × sensor × field) kept. A source that invents field names (a hostile spoke)
   * cannot grow the tables or the writer's memory past it: new series are refused, said once.
   * Default 10 000.
   */
  maxSeries: number;
}

/** Options for {@link Recorder}. */
export interface RecorderOptions extends Partial<RecorderLimits> {
  /** Database file, or `:memory:`. */
  path: string;
  /** Wall clock in ms (data stamps and retention cut-offs only). Default `Date.now`. */
  now?: () => number;
  log?: (level: "info" | "warn" | "error", message: string) => void;
}

/** One bucket of a history answer. */
export interface Bucket {
  /** Bucket start, ms since the epoch (UTC). */
  t: number;
  min: number;
  max: number;
  mean: number;
  count: number;
}

/** The tier a query was answered from. */
export type Tier = "raw" | "1m" | "1h";

/** A history answer. */
export interface History {
  node: string;
  sensor: string;
  field: string;
  unit: string | null;
  tier: Tier;
  stepSeconds: number;
  from: string;
  to: string;
  buckets: Bucket[];
}

/** Health of the recorder, for `/health`. */
export interface RecorderStatus {
  state: "ok" | "degraded";
  reason: string | null;
  since: string;
  series: number;
  bytes: number;
  lastEventId: string | null;
}

/** A query the recorder refuses (the hub answers 400 with the message). */
export class HistoryQueryError extends Error {
  override name = "HistoryQueryError";
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Series rolled up per batch: spreads a minute boundary's work over several cycles. */
const ROLLUPS_PER_BATCH = 16;
/** Largest number of buckets one answer may hold. */
export const MAX_BUCKETS = 50_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY, node TEXT NOT NULL, sensor TEXT NOT NULL, field TEXT NOT NULL, unit TEXT,
  kind TEXT NOT NULL DEFAULT 'number', UNIQUE (node, sensor, field));
CREATE TABLE IF NOT EXISTS raw (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
  PRIMARY KEY (series, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS m1 (series INTEGER NOT NULL, bucket INTEGER NOT NULL, min REAL, max REAL, sum REAL,
  count INTEGER, PRIMARY KEY (series, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS h1 (series INTEGER NOT NULL, bucket INTEGER NOT NULL, min REAL, max REAL, sum REAL,
  count INTEGER, PRIMARY KEY (series, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS states (series INTEGER NOT NULL, ts INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (series, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
`;

/** The embedded recorder. */
export class Recorder {
  readonly limits: RecorderLimits;
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #log: NonNullable<RecorderOptions["log"]>;
  readonly #path: string;
  readonly #ids = new Map<string, number>();
  readonly #lastState = new Map<number, { ts: number; value: string }>();
  #stmt!: Record<
    "series" | "seriesId" | "raw" | "m1" | "h1" | "lastM1" | "state" | "lastState" | "meta" | "getMeta",
    StatementSync
  >;
  #state: RecorderStatus["state"] = "ok";
  #reason: string | null = null;
  #since = new Date().toISOString();
  #lastEventId: string | null = null;
  #lastPrune = 0;
  #seriesCount: number | undefined;
  /** New series refused at the {@link RecorderLimits.maxSeries} cap. */
  refusedSeries = 0;
  /** The minute each series is filling now (not rolled up yet). */
  readonly #open = new Map<number, number>();
  /** Minute ranges [from, to) waiting to be rolled up, oldest first, one entry per series. */
  readonly #pending = new Map<number, { from: number; to: number }>();

  /** @throws {Error} `Cannot open history database '…': …` when the file cannot be opened at all */
  constructor(options: RecorderOptions) {
    this.limits = {
      rawDays: options.rawDays ?? 7,
      minuteDays: options.minuteDays ?? 90,
      hourYears: options.hourYears ?? 5,
      maxMb: options.maxMb ?? 200,
      maxSeries: options.maxSeries ?? 10_000,
    };
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#path = options.path;
    try {
      this.#db = new DatabaseSync(options.path);
      this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000;");
      this.#db.exec(SCHEMA);
    } catch (e) {
      throw new Error(`Cannot open history database '${options.path}': ${(e as Error).message}`, {
        cause: e,
      });
    }
    const db = this.#db;
    this.#stmt = {
      series: db.prepare(
        "INSERT OR IGNORE INTO series (node, sensor, field, unit, kind) VALUES (?, ?, ?, ?, ?)",
      ),
      seriesId: db.prepare("SELECT id, unit FROM series WHERE node = ? AND sensor = ? AND field = ?"),
      raw: db.prepare("INSERT OR IGNORE INTO raw (series, ts, value) VALUES (?, ?, ?)"),
      // Minutes [from, to) of one series from raw; then the hours those minutes touch, from m1.
      m1: db.prepare(`INSERT OR REPLACE INTO m1 (series, bucket, min, max, sum, count)
        SELECT series, ts - ts % ${MINUTE}, min(value), max(value), sum(value), count(*) FROM raw
        WHERE series = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY ts - ts % ${MINUTE}`),
      h1: db.prepare(`INSERT OR REPLACE INTO h1 (series, bucket, min, max, sum, count)
        SELECT series, bucket - bucket % ${HOUR}, min(min), max(max), sum(sum), sum(count) FROM m1
        WHERE series = ?1 AND bucket >= ?2 AND bucket < ?3 GROUP BY bucket - bucket % ${HOUR}`),
      lastM1: db.prepare("SELECT max(bucket) AS b FROM m1 WHERE series = ?"),
      state: db.prepare("INSERT OR IGNORE INTO states (series, ts, value) VALUES (?, ?, ?)"),
      lastState: db.prepare(
        "SELECT ts, value FROM states WHERE series = ? AND ts <= ? ORDER BY ts DESC LIMIT 1",
      ),
      meta: db.prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      getMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
    };
    this.#lastEventId = (this.#stmt.getMeta.get("last_event_id") as { value?: string } | undefined)?.value ??
      null;
  }

  /** The stream id of the newest event recorded (where a restart resumes). */
  get lastEventId(): string | null {
    return this.#lastEventId;
  }

  #series(
    node: string,
    sensor: string,
    field: string,
    unit: string | null,
    kind: "number" | "state",
  ): number | null {
    const key = `${node}\u0000${sensor}\u0000${field}`;
    const known = this.#ids.get(key);
    if (known !== undefined) return known;
    let row = this.#stmt.seriesId.get(node, sensor, field) as { id: number } | undefined;
    if (!row) {
      this.#seriesCount ??= (this.#db.prepare("SELECT count(*) AS n FROM series").get() as { n: number }).n;
      if (this.#seriesCount >= this.limits.maxSeries) {
        this.refusedSeries++;
        if (this.refusedSeries === 1) {
          this.#log(
            "warn",
            `history: ${this.limits.maxSeries} series recorded; new ones (first: ${node}:${sensor} ${field}) are not`,
          );
        }
        return null;
      }
      this.#stmt.series.run(node, sensor, field, unit, kind);
      this.#seriesCount++;
      row = this.#stmt.seriesId.get(node, sensor, field) as { id: number };
    }
    this.#ids.set(key, row.id);
    return row.id;
  }

  /**
   * Record a batch of readings in one transaction. A reading seen twice (same series and
   * timestamp) counts once, so re-observed snapshots never skew a rollup.
   *
   * @param readings the batch
   * @param lastEventId stream id of the newest event in the batch, stored with it
   * @returns values newly stored (0 when degraded)
   */
  record(readings: readonly ReadingRecord[], lastEventId?: string): number {
    if (readings.length === 0 && lastEventId === undefined) return 0;
    let stored = 0;
    try {
      this.#db.exec("BEGIN");
      try {
        for (const r of readings) stored += this.#one(r);
        this.#rollup(ROLLUPS_PER_BATCH);
        if (lastEventId !== undefined) this.#stmt.meta.run("last_event_id", lastEventId);
        this.#db.exec("COMMIT");
      } catch (e) {
        // SQLite may have rolled back already (SQLITE_FULL does): the first error is the one to keep.
        try {
          this.#db.exec("ROLLBACK");
        } catch { /* no transaction left */ }
        throw e;
      }
      if (lastEventId !== undefined) this.#lastEventId = lastEventId;
      this.#ok();
    } catch (e) {
      this.#fail(e as Error);
      return 0;
    }
    if (this.#now() - this.#lastPrune > MINUTE) this.prune();
    return stored;
  }

  #one(r: ReadingRecord): number {
    const ts = Date.parse(r.timestamp);
    if (!Number.isFinite(ts)) return 0;
    let stored = 0;
    for (const [field, value] of Object.entries(r.values)) {
      const unit = r.units?.[field] ?? null;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) continue;
        const id = this.#series(r.node, r.sensor, field, unit, "number");
        if (id === null) continue;
        if (Number(this.#stmt.raw.run(id, ts, value).changes) === 0) continue;
        this.#minuteOf(id, ts - (ts % MINUTE));
        stored++;
      } else if (typeof value === "string" || typeof value === "boolean") {
        const text = String(value).slice(0, 256);
        const id = this.#series(r.node, r.sensor, field, null, "state");
        if (id === null) continue;
        // The state in force at `ts` (newest cached, else looked up): only a change is stored.
        const cached = this.#lastState.get(id);
        const before = cached && cached.ts <= ts
          ? cached.value
          : (this.#stmt.lastState.get(id, ts) as { value?: string } | undefined)?.value;
        if (before === text) continue;
        if (Number(this.#stmt.state.run(id, ts, text).changes) === 0) continue;
        if (!cached || cached.ts <= ts) this.#lastState.set(id, { ts, value: text });
        stored++;
      }
    }
    return stored;
  }

  /** Note that series `id` got a value in `minute`; queue the minutes it left (or a late one) for rollup. */
  #minuteOf(id: number, minute: number): void {
    let open = this.#open.get(id);
    if (open === undefined) {
      // First value this process sees: whatever raw holds after the last rolled-up minute is due.
      const last = (this.#stmt.lastM1.get(id) as { b: number | null }).b;
      open = minute;
      if (last !== null && last < minute) this.#due(id, last, minute);
      this.#open.set(id, open);
    }
    if (minute > open) {
      this.#due(id, open, minute);
      this.#open.set(id, minute);
    } else if (minute < open) this.#due(id, minute, minute + MINUTE);
  }

  #due(id: number, from: number, to: number): void {
    const p = this.#pending.get(id);
    this.#pending.set(id, p ? { from: Math.min(p.from, from), to: Math.max(p.to, to) } : { from, to });
  }

  /** Roll up at most `max` queued ranges (all with Infinity). */
  #rollup(max: number): void {
    let n = 0;
    for (const [id, r] of this.#pending) {
      if (n++ >= max) break;
      this.#stmt.m1.run(id, r.from, r.to);
      this.#stmt.h1.run(id, r.from - (r.from % HOUR), r.to - (r.to % HOUR) + HOUR);
      this.#pending.delete(id);
    }
  }

  /**
   * Roll up everything queued and every open minute (shutdown, tests): afterwards the 1-minute
   * and 1-hour tiers hold all raw data.
   */
  settle(): void {
    for (const [id, minute] of this.#open) this.#due(id, minute, minute + MINUTE);
    try {
      this.#db.exec("BEGIN");
      this.#rollup(Infinity);
      this.#db.exec("COMMIT");
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* none left */ }
      this.#fail(e as Error);
    }
  }

  #ok(): void {
    if (this.#state === "ok") return;
    this.#log("info", `history: recording again to ${this.#path} (was: ${this.#reason})`);
    this.#state = "ok";
    this.#reason = null;
    this.#since = new Date().toISOString();
  }

  #fail(e: Error): void {
    const reason = `not recording: ${e.message}`;
    if (this.#state === "degraded") return;
    this.#state = "degraded";
    this.#reason = reason;
    this.#since = new Date().toISOString();
    this.#log(
      "error",
      `history: Cannot write ${this.#path}: ${e.message}; readings are not recorded until it works`,
    );
  }

  /** Bytes the database uses (pages × page size). */
  bytes(): number {
    const pages = (this.#db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
    const size = (this.#db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
    const free =
      (this.#db.prepare("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
    return (pages - free) * size;
  }

  /**
   * Drop what retention allows, then, over the size ceiling, the oldest day of the finest tier
   * that still has data, until the database fits. Says what it dropped.
   *
   * @returns rows deleted
   */
  prune(): number {
    this.#lastPrune = this.#now();
    const now = this.#now();
    const l = this.limits;
    let deleted = 0;
    try {
      deleted += this.#delete("raw", "ts", now - l.rawDays * DAY);
      deleted += this.#delete("states", "ts", now - l.minuteDays * DAY);
      deleted += this.#delete("m1", "bucket", now - l.minuteDays * DAY);
      deleted += this.#delete("h1", "bucket", now - l.hourYears * 365 * DAY);
      const ceiling = l.maxMb * 1024 * 1024;
      for (const table of ["raw", "m1", "h1"] as const) {
        const col = table === "raw" ? "ts" : "bucket";
        while (this.bytes() > ceiling) {
          const oldest =
            (this.#db.prepare(`SELECT min(${col}) AS t FROM ${table}`).get() as { t: number | null }).t;
          if (oldest === null) break;
          const cut = oldest - (oldest % DAY) + DAY;
          const n = this.#delete(table, col, cut);
          deleted += n;
          this.#log(
            "warn",
            `history: over the ${l.maxMb} MB ceiling, dropped ${n} ${table} rows before ${
              new Date(cut).toISOString()
            }`,
          );
        }
      }
    } catch (e) {
      this.#fail(e as Error);
    }
    return deleted;
  }

  #delete(table: string, col: string, before: number): number {
    return Number(this.#db.prepare(`DELETE FROM ${table} WHERE ${col} < ?`).run(before).changes);
  }

  /**
   * Buckets of one field between `from` and `to` (ms), `step` seconds wide, from the finest tier
   * that holds the range at that step.
   *
   * @throws {HistoryQueryError} for an unknown series, a bad range or too many buckets
   */
  query(
    node: string,
    sensor: string,
    field: string,
    fromMs: number,
    toMs: number,
    stepSeconds: number,
  ): History {
    if (!(toMs > fromMs)) throw new HistoryQueryError("'to' must be after 'from'");
    if (!(stepSeconds > 0)) throw new HistoryQueryError("'step' must be positive");
    const step = Math.max(1, Math.round(stepSeconds)) * 1000;
    const n = Math.ceil((toMs - fromMs) / step);
    if (n > MAX_BUCKETS) {
      throw new HistoryQueryError(
        `range / step gives ${n} buckets, more than ${MAX_BUCKETS}: choose a larger step (at least ${
          Math.ceil((toMs - fromMs) / MAX_BUCKETS / 1000)
        } s)`,
      );
    }
    const row = this.#stmt.seriesId.get(node, sensor, field) as
      | { id: number; unit: string | null }
      | undefined;
    if (!row) throw new HistoryQueryError(`no recorded field '${field}' for sensor '${node}:${sensor}'`);
    const now = this.#now();
    const rawFrom = now - this.limits.rawDays * DAY;
    const tier: Tier = step < MINUTE && fromMs >= rawFrom
      ? "raw"
      : step < HOUR && fromMs >= now - this.limits.minuteDays * DAY
      ? "1m"
      : "1h";
    // Buckets align to the step from the epoch, so the same query always gives the same buckets.
    const native = tier === "1m" ? MINUTE : tier === "1h" ? HOUR : 0;
    const table = tier === "1m" ? "m1" : "h1";
    const sql = tier !== "raw" && step <= native
      // The tier's own buckets: a range scan of the primary key, nothing to group.
      ? `SELECT bucket AS t, min, max, sum / count AS mean, count FROM ${table}
         WHERE series = ?2 AND bucket >= ?3 AND bucket < ?4 AND ?1 > 0 ORDER BY bucket`
      : tier === "raw"
      ? `SELECT CAST(ts / ?1 AS INTEGER) * ?1 AS t, min(value) AS min, max(value) AS max, avg(value) AS mean, count(*) AS count
         FROM raw WHERE series = ?2 AND ts >= ?3 AND ts < ?4 GROUP BY t ORDER BY t`
      : `SELECT CAST(bucket / ?1 AS INTEGER) * ?1 AS t, min(min) AS min, max(max) AS max, sum(sum) / sum(count) AS mean,
         sum(count) AS count FROM ${tier === "1m" ? "m1" : "h1"}
         WHERE series = ?2 AND bucket >= ?3 AND bucket < ?4 GROUP BY t ORDER BY t`;
    const effective = tier === "raw" ? step : Math.max(step, tier === "1m" ? MINUTE : HOUR);
    let rows = this.#db.prepare(sql).all(effective, row.id, fromMs, toMs) as unknown as Bucket[];
    if (tier !== "raw") {
      // The rollups trail raw by about a minute: the tail after the last rolled-up minute comes
      // from raw, bucketed the same way, so the newest bucket is never missing or short.
      const last = (this.#stmt.lastM1.get(row.id) as { b: number | null }).b;
      const rolledEnd = last === null ? -Infinity : last + MINUTE;
      const tailStart = Math.max(
        fromMs,
        rolledEnd === -Infinity ? fromMs : rolledEnd - (rolledEnd % effective),
      );
      if (toMs > tailStart) {
        rows = rows.filter((r) => r.t < tailStart);
        const tail = this.#db.prepare(
          `SELECT CAST(ts / ?1 AS INTEGER) * ?1 AS t, min(value) AS min, max(value) AS max, avg(value) AS mean,
           count(*) AS count FROM raw WHERE series = ?2 AND ts >= ?3 AND ts < ?4 GROUP BY t ORDER BY t`,
        ).all(effective, row.id, tailStart, toMs) as unknown as Bucket[];
        rows.push(...tail);
      }
    }
    return {
      node,
      sensor,
      field,
      unit: row.unit,
      tier,
      stepSeconds: effective / 1000,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      buckets: rows,
    };
  }

  /** min / max / mean / count of one field over a range (from the finest tier covering it). */
  statistics(
    node: string,
    sensor: string,
    field: string,
    fromMs: number,
    toMs: number,
  ): Omit<History, "buckets" | "stepSeconds"> & {
    min: number | null;
    max: number | null;
    mean: number | null;
    count: number;
  } {
    const h = this.query(
      node,
      sensor,
      field,
      fromMs,
      toMs,
      Math.max(1, Math.ceil((toMs - fromMs) / MAX_BUCKETS / 1000)),
    );
    const count = h.buckets.reduce((a, b) => a + b.count, 0);
    const { buckets, stepSeconds: _, ...rest } = h;
    return {
      ...rest,
      min: buckets.length ? Math.min(...buckets.map((b) => b.min)) : null,
      max: buckets.length ? Math.max(...buckets.map((b) => b.max)) : null,
      mean: count ? buckets.reduce((a, b) => a + b.mean * b.count, 0) / count : null,
      count,
    };
  }

  /** Recorded fields, for discovery by the dashboard and MCP. */
  series(): { node: string; sensor: string; field: string; unit: string | null; kind: "number" | "state" }[] {
    return this.#db.prepare("SELECT node, sensor, field, unit, kind FROM series ORDER BY node, sensor, field")
      .all() as never;
  }

  /** Health and size. */
  status(): RecorderStatus {
    let bytes = 0;
    try {
      bytes = this.bytes();
    } catch { /* a broken file: state says so */ }
    return {
      state: this.#state,
      reason: this.#reason,
      since: this.#since,
      series: this.#ids.size,
      bytes,
      lastEventId: this.#lastEventId,
    };
  }

  close(): void {
    this.settle();
    try {
      this.#db.close();
    } catch { /* already closed */ }
  }
}
