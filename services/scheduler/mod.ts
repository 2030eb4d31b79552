/**
 * The RTOS-like plugin scheduler (SPEC §6, reference 003): bounded priority inboxes, cadence /
 * demand / dependency triggers, energy and mood, fair shares, thermal and budget back-pressure.
 *
 * @example
 * ```ts
 * import { Scheduler } from "./mod.ts";
 * const s = new Scheduler({ emit: { emit() {} }, run: async (_id, _item) => {} });
 * s.add({ id: "bme680", cadenceMs: 2000, priority: 0.5 });
 * s.start();
 * await s.stop();
 * ```
 *
 * @module
 */
export { Scheduler, type SchedulerOptions, type SchedulerStats, type Timers } from "./scheduler.ts";
export { Inbox, type InboxItem, type InboxKind } from "./inbox.ts";
export {
  LOW,
  MOOD_MULTIPLIER,
  type PluginSpec,
  type Pressure,
  pressureMultiplier,
  URGENT,
} from "./citizen.ts";
export type { SchedulerMood, SchedulerState } from "../shm/snapshot.ts";

/**
 * Jain's fairness index of per-party shares: 1 when equal, 1/n when one party gets all.
 *
 * @param shares Non-negative amounts of service.
 * @returns (Σx)² / (n·Σx²); 1 for an empty or all-zero list.
 */
export function jainIndex(shares: number[]): number {
  const sum = shares.reduce((a, b) => a + b, 0);
  const sq = shares.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 1 : (sum * sum) / (shares.length * sq);
}
