/**
 * History recorder: the cost of recording one cycle (5 nodes × 20 fields) on the hub's event
 * loop, range queries against a database filled by a generator to a year of 20 fields at the
 * default tiers (raw 7 d at a 5 s cadence, 1-minute 90 d, 1-hour 1 y), and the disk that costs
 * per field-year.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { Recorder, RecorderWriter } from "../services/recorder/mod.ts";
import type { ReadingRecord } from "../services/shm/snapshot.ts";
import { type BenchRow, median, percentile, spread } from "./row.ts";

const DAY = 86_400_000;
const FIELDS = 20;

function cycleBatch(ts: number, cycle: number): ReadingRecord[] {
  const out: ReadingRecord[] = [];
  for (let n = 0; n < 5; n++) {
    for (let s = 0; s < 4; s++) {
      const values: Record<string, number> = {};
      for (let f = 0; f < 5; f++) values[`f${f}`] = 20 + Math.sin(cycle / 10 + f) * 2;
      out.push({
        id: `n${n}:s${s}`,
        node: `n${n}`,
        sensor: `s${s}`,
        plugin: `s${s}`,
        values,
        units: {},
        timestamp: new Date(ts).toISOString(),
      });
    }
  }
  return out;
}

/** Fill a year of 20 fields straight into the tiers (what a year of recording leaves). */
function generate(path: string, now: number): void {
  const rec = new Recorder({ path, now: () => now });
  // Register the series through the recorder so the schema is its own.
  const seed: ReadingRecord[] = [];
  for (let f = 0; f < FIELDS; f++) {
    seed.push({
      id: "gen:s",
      node: "gen",
      sensor: "s",
      plugin: "s",
      values: { [`f${f}`]: 0 },
      units: { [`f${f}`]: "°C" },
      timestamp: new Date(now - 400 * DAY).toISOString(),
    });
  }
  rec.record(seed);
  rec.close();
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;");
  const ids = (db.prepare("SELECT id FROM series WHERE node = 'gen'").all() as { id: number }[]).map((r) =>
    r.id
  );
  db.exec("DELETE FROM raw; DELETE FROM m1; DELETE FROM h1;");
  const raw = db.prepare("INSERT INTO raw VALUES (?, ?, ?)");
  const m1 = db.prepare("INSERT INTO m1 VALUES (?, ?, ?, ?, ?, ?)");
  const h1 = db.prepare("INSERT INTO h1 VALUES (?, ?, ?, ?, ?, ?)");
  db.exec("BEGIN");
  for (const id of ids) {
    for (let t = now - 7 * DAY; t < now; t += 5000) raw.run(id, t, 20 + Math.sin(t / 3.6e6));
    for (let t = now - 90 * DAY; t < now; t += 60_000) {
      const v = 20 + Math.sin(t / 3.6e6);
      m1.run(id, t, v - 0.1, v + 0.1, v * 12, 12);
    }
    for (let t = now - 365 * DAY; t < now; t += 3_600_000) {
      const v = 20 + Math.sin(t / 3.6e7);
      h1.run(id, t, v - 1, v + 1, v * 720, 720);
    }
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}

function timeQuery(rec: Recorder, from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const h = rec.query("gen", "s", `f${i % FIELDS}`, from, to, step);
    out.push(performance.now() - t0);
    if (h.buckets.length === 0) throw new Error("generated database answered nothing");
  }
  return out;
}

/** Run the history benchmark. */
export async function benchHistory(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-bench-hist-" });
  const now = Date.now();
  try {
    // Recording: 600 cycles of 100 field values each, into a file database.
    const rec = new Recorder({ path: `${dir}/live.db`, now: () => now });
    const cycles: number[] = [];
    for (let c = 0; c < 600; c++) {
      const batch = cycleBatch(now - (600 - c) * 2000, c);
      const t0 = performance.now();
      rec.record(batch);
      cycles.push((performance.now() - t0) * 1000);
    }
    rec.close();
    // What the hub does: hand each cycle to the writer worker; its event loop pays the hand-over.
    const writer = new RecorderWriter({ path: `${dir}/worker.db` });
    const handed: number[] = [];
    const w0 = performance.now();
    for (let c = 0; c < 600; c++) {
      const batch = cycleBatch(now - (600 - c) * 2000, c);
      const t = performance.now();
      writer.record(batch);
      handed.push((performance.now() - t) * 1000);
      if (c % 20 === 0) await new Promise((r) => setTimeout(r, 0)); // let the loop breathe, as a hub's does
    }
    await writer.close(60_000);
    const writerMs = performance.now() - w0;
    const t0 = performance.now();
    generate(`${dir}/year.db`, now);
    const genS = (performance.now() - t0) / 1000;
    const year = new Recorder({ path: `${dir}/year.db`, now: () => now });
    const month = timeQuery(year, now - 30 * DAY, now, 60);
    const annual = timeQuery(year, now - 365 * DAY, now, 3600);
    const week = timeQuery(year, now - 7 * DAY, now, 300);
    const bytes = year.bytes();
    year.close();
    return [
      {
        name: "recording one cycle, 5 nodes × 20 fields, on the hub's event loop (writer worker), p99",
        value: percentile(handed, 99),
        unit: "µs",
        peer: "goal",
        peerValue: 500,
        ratio: percentile(handed, 99) / 500,
        spread: `p50 ${median(handed).toFixed(0)}; 600 cycles written in ${writerMs.toFixed(0)} ms`,
      },
      {
        name: "the same cycle written on the calling thread (what the worker spends), p99",
        value: percentile(cycles, 99),
        unit: "µs",
        spread: `p50 ${median(cycles).toFixed(0)}`,
      },
      {
        name: "query 30 d at 1 min, one field (43 200 buckets)",
        value: median(month),
        unit: "ms",
        peer: "goal",
        peerValue: 50,
        ratio: median(month) / 50,
        spread: spread(month),
      },
      {
        name: "query 1 y at 1 h, one field (8 760 buckets)",
        value: median(annual),
        unit: "ms",
        peer: "goal",
        peerValue: 50,
        ratio: median(annual) / 50,
        spread: spread(annual),
      },
      {
        name: "query 7 d at 5 min from raw, one field",
        value: median(week),
        unit: "ms",
        spread: spread(week),
      },
      {
        name: `disk per field at default tiers (7 d raw @5 s, 90 d 1-min, 1 y 1-h; generated in ${
          genS.toFixed(0)
        } s)`,
        value: bytes / FIELDS / 1024 / 1024,
        unit: "MB",
      },
    ];
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
