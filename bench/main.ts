/**
 * `deno task bench`: runs every benchmark module, prints one table, writes `bench/out/results.json`.
 * Each module exports an `async function bench*(): Promise<BenchRow[]>`; each row carries the
 * peer it is compared to. `deno task bench -- events hub` runs only the named modules.
 *
 * @module
 */
import type { BenchRow } from "./row.ts";

/** Benchmark modules in the order the table shows them. */
const MODULES = [
  "i2c_read",
  "capability_call",
  "budgets",
  "events",
  "shm",
  "scheduler",
  "hub",
  "semi_space",
  "mqtt",
  "history",
  "failover",
  "memory",
  "cycle",
];

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "";
  const a = Math.abs(n);
  return a >= 1000 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 0.1 ? n.toFixed(2) : n.toPrecision(2);
}

function table(rows: (BenchRow & { module: string })[]): string {
  const head = ["module", "measure", "value", "unit", "peer", "peer value", "ratio", "spread"];
  const body = rows.map((r) => [
    r.module,
    r.name,
    fmt(r.value),
    r.unit,
    r.peer ?? "",
    fmt(r.peerValue),
    r.ratio === undefined ? "" : `${fmt(r.ratio)}×`,
    r.spread ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

async function main(): Promise<number> {
  const only = Deno.args.filter((a) => !a.startsWith("-"));
  const rows: (BenchRow & { module: string })[] = [];
  const failures: string[] = [];
  for (const name of MODULES) {
    if (only.length && !only.includes(name)) continue;
    const url = new URL(`./${name}.ts`, import.meta.url);
    try {
      await Deno.stat(url);
    } catch {
      failures.push(`${name}: bench/${name}.ts is missing`);
      continue;
    }
    console.error(`[bench] ${name} …`);
    const t0 = performance.now();
    try {
      const mod = await import(url.href);
      const fn = Object.entries(mod).find(([k, v]) => k.startsWith("bench") && typeof v === "function");
      if (!fn) throw new Error(`bench/${name}.ts exports no bench*() function`);
      const out = await (fn[1] as () => Promise<BenchRow[]>)();
      for (const r of out) rows.push({ module: name, ...r });
      console.error(`[bench] ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message ?? e}`);
      console.error(`[bench] ${name} failed: ${(e as Error).stack ?? e}`);
    }
  }
  console.log(table(rows));
  if (failures.length) console.log(`\nnot measured:\n  ${failures.join("\n  ")}`);
  await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
  const out = new URL("./out/results.json", import.meta.url);
  await Deno.writeTextFile(
    out,
    JSON.stringify({ date: new Date().toISOString(), deno: Deno.version, rows, failures }, null, 2),
  );
  console.log(`\nwritten to ${out.pathname}`);
  return failures.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
