/**
 * What the hostile-plugin budgets cost on the hot paths (issue 11):
 * - checking one poll result at the boundary (namespace, flat bounded values, timestamp clamp,
 *   fresh copy) vs the `JSON.stringify` the readings go through anyway;
 * - one plugin log line through the budget (escape, cut, token bucket) vs handing it on as is.
 * End-to-end capability call p50/p99 is in `capability_call`.
 *
 * @module
 */
import { checkReadings } from "../services/plugin_host/readings.ts";
import { CapabilityBroker } from "../services/plugin_host/capabilities.ts";
import { effectiveGrant, emptyGrant } from "../services/plugin_host/grant.ts";
import { percentile, spread } from "./row.ts";
import type { BenchRow } from "./row.ts";

const N = 20_000;
const REPEATS = 5;

/** A bme680-sized poll result. */
const POLL = [{
  sensor: "bme680",
  values: {
    temperature: 22.51,
    humidity: 41.2,
    pressure: 1013.2,
    gas: 51234,
    iaq: 42,
    accuracy: 3,
    stale: false,
  },
  units: { temperature: "°C", humidity: "%", pressure: "hPa", gas: "Ω" },
  timestamp: Date.now(),
}];

/** µs per operation, median of `REPEATS` runs of `N`. */
function perOp(fn: (i: number) => void): number[] {
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) fn(i);
    runs.push((performance.now() - t0) * 1000 / N);
  }
  return runs;
}

/**
 * Measure the budgets' cost per poll and per log line.
 *
 * @returns bench rows (µs)
 */
export async function benchBudgets(): Promise<BenchRow[]> {
  const plugins = ["bme680", "dht22", "system-monitor", "oled", "anima"];
  const sensors = new Set<string>();
  const check = perOp(() => checkReadings(POLL, { plugin: "bme680", plugins, sensors, now: Date.now() }));
  const stringify = perOp(() => JSON.stringify(POLL));
  let sink = 0;
  const caps = new CapabilityBroker({
    services: {
      hal: {} as never,
      leds: { count: 0, set: () => {} },
      buzzer: { play: () => Promise.resolve() },
      log: (_p, _l, m) => void (sink += m.length),
    },
    emit: { emit: () => {} },
    now: () => performance.now(),
    logBudget: { perSecond: 1e9, burst: 1e9 },
  });
  const target = { id: "bme680", grant: effectiveGrant(["log"], emptyGrant()), settings: {} };
  const line = "BME680 burn-in 42% (gas 51234 Ω), next reading in 5 s";
  const budgeted = perOp(() => void caps.handle(target, "log", ["info", line], false));
  const raw = perOp(() => void (sink += String(line).slice(0, 2000).length));
  await Promise.resolve();
  if (sink === 0) throw new Error("Cannot benchmark budgets: nothing was logged");
  const row = (name: string, xs: number[], peer: string, ys: number[]): BenchRow => {
    const v = percentile(xs, 50);
    const p = percentile(ys, 50);
    return { name, value: v, unit: "µs", peer, peerValue: p, ratio: v / p, spread: spread(xs) };
  };
  return [
    row("reading boundary check per poll (bme680-sized)", check, "JSON.stringify of the same", stringify),
    row("plugin log line through the budget (escape, cut, bucket)", budgeted, "cut and handed on as is", raw),
  ];
}

if (import.meta.main) {
  for (const r of await benchBudgets()) {
    console.log(
      `${r.name}: ${r.value.toFixed(2)} ${r.unit} | ${r.peer}: ${r.peerValue?.toFixed(2)} | ratio ${
        r.ratio?.toFixed(2)
      }`,
    );
  }
}
