/**
 * The per-plugin "citizen" of the scheduler (reference 003): its inbox, energy, mood and
 * counters, and the pure rules that turn them into a cadence. No timers here.
 *
 * @module
 */
import type { SchedulerMood, SchedulerState } from "../shm/snapshot.ts";
import { Inbox } from "./inbox.ts";

/** What a plugin registers with. */
export interface PluginSpec {
  id: string;
  /** Base period of the cadence trigger, ms. */
  cadenceMs: number;
  /** 0..1; above 0.8 is never deferred. */
  priority: number;
  /** Plugins whose readings trigger this one. */
  dependsOn?: string[];
}

/** Priority above which work is never deferred, stretched or delayed by mood. */
export const URGENT = 0.8;
/** Below this priority work is deferred first under pressure. */
export const LOW = 0.5;

/** Energy lost per ms of work (a full tank lasts 10 s of continuous work). */
export const DRAIN_PER_MS = 1 / 10_000;
/** Energy regained per ms of rest (20 s from empty to full). */
export const RECOVER_PER_MS = 1 / 20_000;

/** Cadence multiplier per mood: tired and overwhelmed citizens slow down. */
export const MOOD_MULTIPLIER: Record<SchedulerMood, number> = {
  idle: 1,
  active: 1,
  tired: 1.5,
  overwhelmed: 2,
};

/** Pressure level: 0 normal, 1 warm or over budget, 2 hot. */
export type Pressure = 0 | 1 | 2;

/**
 * Cadence multiplier from pressure: low priority slows first.
 *
 * @param priority Plugin priority 0..1.
 * @param pressure Current level.
 */
export function pressureMultiplier(priority: number, pressure: Pressure): number {
  if (priority > URGENT || pressure === 0) return 1;
  if (priority < LOW) return pressure === 2 ? 4 : 2;
  return pressure === 2 ? 2 : 1;
}

/** FNV-1a 32-bit hash: a stable per-plugin seed. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Mulberry32: a small deterministic PRNG in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Validate a spec.
 *
 * @throws {TypeError} For an empty id or a non-array `dependsOn`.
 * @throws {RangeError} For a cadence that is not a positive finite number or a priority outside 0..1.
 */
export function checkSpec(spec: PluginSpec): PluginSpec {
  if (typeof spec?.id !== "string" || spec.id === "") {
    throw new TypeError(
      `Cannot schedule plugin as 'id' must be a non-empty string: current value is '${spec?.id}'`,
    );
  }
  if (!Number.isFinite(spec.cadenceMs) || spec.cadenceMs <= 0) {
    throw new RangeError(
      `Cannot schedule plugin "${spec.id}" as 'cadenceMs' must be a positive number: current value is ${spec.cadenceMs}`,
    );
  }
  if (!(spec.priority >= 0 && spec.priority <= 1)) {
    throw new RangeError(
      `Cannot schedule plugin "${spec.id}" as 'priority' must be in 0..1: current value is ${spec.priority}`,
    );
  }
  if (
    spec.dependsOn !== undefined &&
    !(Array.isArray(spec.dependsOn) && spec.dependsOn.every((d) => typeof d === "string"))
  ) {
    throw new TypeError(`Cannot schedule plugin "${spec.id}" as 'dependsOn' must be an array of plugin ids`);
  }
  return { ...spec, dependsOn: [...(spec.dependsOn ?? [])] };
}

/** One plugin's scheduling state. */
export class Citizen {
  spec: PluginSpec;
  readonly inbox: Inbox;
  readonly rng: () => number;
  energy = 1;
  mood: SchedulerMood = "idle";
  /** Weighted service received (fair-share key). */
  vruntime: number;
  inflight = false;
  lastRunAt: number | null = null;
  /** When energy was last brought up to date. */
  energyAt: number;
  /** Due time of the next cadence tick. */
  nextDue = 0;
  timer: unknown = null;
  runs = 0;
  overruns = 0;
  drops = 0;
  deferred = 0;
  failures = 0;
  /** Items already counted as deferred. */
  readonly deferredItems = new WeakSet<object>();

  constructor(spec: PluginSpec, inboxMax: number, now: number, vruntime: number) {
    this.spec = spec;
    this.inbox = new Inbox(inboxMax);
    this.rng = prng(hash32(spec.id));
    this.energyAt = now;
    this.vruntime = vruntime;
  }

  get urgent(): boolean {
    return this.spec.priority > URGENT;
  }

  /** Bring energy up to `now`: it recovers while the plugin is not working. */
  rest(now: number): void {
    if (!this.inflight) this.energy = Math.min(1, this.energy + (now - this.energyAt) * RECOVER_PER_MS);
    this.energyAt = now;
  }

  /** Account a finished run of `ms`. */
  worked(ms: number, now: number): void {
    this.energy = Math.max(0, this.energy - ms * DRAIN_PER_MS);
    this.energyAt = now;
  }

  /** Mood from inbox load and energy. */
  computeMood(now: number): SchedulerMood {
    if (this.inbox.size >= Math.max(2, this.inbox.max / 2)) return "overwhelmed";
    if (this.energy < 0.3) return "tired";
    const recent = this.lastRunAt !== null && now - this.lastRunAt < 2 * this.spec.cadenceMs;
    return this.inflight || recent ? "active" : "idle";
  }

  /** The current cadence period without jitter. */
  period(pressure: Pressure): number {
    if (this.urgent) return this.spec.cadenceMs;
    return this.spec.cadenceMs * MOOD_MULTIPLIER[this.mood] *
      pressureMultiplier(this.spec.priority, pressure);
  }

  /**
   * The snapshot view.
   *
   * @param stamp turns a scheduler-clock time into epoch ms (wall time only stamps data)
   */
  state(pressure: Pressure, stamp: (t: number) => number = (t) => t): SchedulerState {
    return {
      mood: this.mood,
      energy: Math.round(this.energy * 1000) / 1000,
      inboxDepth: this.inbox.size,
      cadenceMs: Math.round(this.period(pressure)),
      priority: this.spec.priority,
      lastRunAt: this.lastRunAt === null ? null : new Date(stamp(this.lastRunAt)).toISOString(),
      runs: this.runs,
      overruns: this.overruns,
      drops: this.drops,
      deferred: this.deferred,
    };
  }
}
