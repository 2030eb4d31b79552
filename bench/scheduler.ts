/**
 * Scheduler under 10× overload, on fake time (deterministic; repeats vary the plugin ids and
 * so their offsets and jitter): high-priority latency p99 (due → dispatched) vs the same
 * plugin at an ordinary priority competing for the slots, Jain's fairness index of
 * equal-priority plugins, and the real CPU cost of one scheduling decision.
 *
 * `deno run -A bench/scheduler.ts`
 *
 * @module
 */
import FakeTimers from "@sinonjs/fake-timers";
import { jainIndex, Scheduler } from "../services/scheduler/mod.ts";
import { type BenchRow, median, percentile, spread } from "./row.ts";

const REPEATS = 5;
const SIM_MS = 120_000;
const PLUGINS = 20;

interface Outcome {
  p99: number;
  jain: number;
  dispatches: number;
  wallMs: number;
}

/**
 * 20 equal plugins (priority 0.5, 100 ms cadence, 100 ms of work) on 2 slots: 10× more work
 * than capacity; plus one 1 Hz plugin at `watchedPriority` doing 50 ms of work.
 */
async function overload(repeat: number, watchedPriority: number): Promise<Outcome> {
  const clock = FakeTimers.createClock(0);
  const latencies: number[] = [];
  const service = new Map<string, number>();
  let dispatches = 0;
  const s = new Scheduler({
    clock: () => clock.now,
    timers: {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as never),
    },
    emit: { emit() {} },
    maxConcurrent: 2,
    run: (id, item) => {
      dispatches++;
      const watched = id === `r${repeat}-watched`;
      if (watched) latencies.push(clock.now - item.enqueuedAt);
      else service.set(id, (service.get(id) ?? 0) + 1);
      return new Promise<void>((r) => void clock.setTimeout(() => r(), watched ? 50 : 100));
    },
  });
  for (let i = 0; i < PLUGINS; i++) s.add({ id: `r${repeat}-p${i}`, cadenceMs: 100, priority: 0.5 });
  s.add({ id: `r${repeat}-watched`, cadenceMs: 1000, priority: watchedPriority });
  const t0 = performance.now();
  s.start();
  await clock.tickAsync(SIM_MS);
  const wallMs = performance.now() - t0;
  const stopping = s.stop();
  await clock.runAllAsync();
  await stopping;
  return { p99: percentile(latencies, 99), jain: jainIndex([...service.values()]), dispatches, wallMs };
}

/** Run the scheduler benchmark. */
export async function benchScheduler(): Promise<BenchRow[]> {
  const urgent: Outcome[] = [];
  const plain: Outcome[] = [];
  for (let r = 0; r < REPEATS; r++) {
    urgent.push(await overload(r, 0.9));
    plain.push(await overload(r, 0.5));
  }
  const p99 = median(urgent.map((o) => o.p99));
  const plainP99 = median(plain.map((o) => o.p99));
  const decisionUs = urgent.map((o) => (o.wallMs * 1000) / o.dispatches);
  return [
    {
      name: "high-priority latency p99 under 10× overload",
      value: p99,
      unit: "ms (fake time)",
      peer: "same plugin at priority 0.5",
      peerValue: plainP99,
      spread: spread(urgent.map((o) => o.p99), 0),
    },
    {
      name: "Jain's index, 20 equal plugins, 10× overload",
      value: median(urgent.map((o) => o.jain)),
      unit: "index (1 = fair)",
      spread: spread(urgent.map((o) => o.jain), 4),
    },
    {
      name: "scheduler CPU per dispatch (incl. fake timers)",
      value: median(decisionUs),
      unit: "µs",
      spread: spread(decisionUs),
    },
  ];
}

if (import.meta.main) {
  console.table(await benchScheduler());
}
