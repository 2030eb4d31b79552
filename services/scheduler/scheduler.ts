/**
 * The {@link Scheduler}: reference 003 applied to plugins. Each plugin is a citizen with a
 * bounded priority inbox fed by three triggers — its cadence (with a per-plugin offset and
 * deterministic jitter), demand (a command or event addressed to it) and dependency (a
 * plugin it depends on produced readings). Work is dispatched with at most one run in flight
 * per plugin, concurrently across plugins, up to `maxConcurrent` slots, least-served first
 * (weighted by priority) so equal priorities get equal shares.
 *
 * Guarantees:
 * - work above priority 0.8 is never deferred: it bypasses the slot limit, pressure and mood;
 * - when the CPU is warm (`softC`) or hot (`hotC`), or work waits longer than
 *   `cycleBudgetMs` (or the broker reports an over-budget cycle), work below 0.5 is deferred
 *   and low-priority cadences are stretched first; all of it recovers when pressure ends, and
 *   deferred work runs anyway after `maxDeferMs` (no starvation);
 * - a full inbox drops its lowest-priority item and emits `scheduler.drop`;
 * - mood changes emit `scheduler.mood`.
 *
 * Pure logic on an injected clock and timers: tests drive it on fake time.
 *
 * @module
 */
import type { EventSink } from "../events/event.ts";
import type { SchedulerState } from "../shm/snapshot.ts";
import type { InboxItem, InboxKind } from "./inbox.ts";
import {
  checkSpec,
  Citizen,
  hash32,
  LOW,
  type PluginSpec,
  type Pressure,
  pressureMultiplier,
  URGENT,
} from "./citizen.ts";

/** Timer functions; `@sinonjs/fake-timers`' clock satisfies this. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options for {@link Scheduler}. */
export interface SchedulerOptions {
  /** Does the work: poll/update the plugin. Rejections are counted, never thrown. */
  run: (pluginId: string, item: InboxItem) => Promise<void>;
  emit: EventSink;
  /**
   * Milliseconds on a monotonic clock; default `performance.now`, so a wall-clock step (NTP on a
   * board without an RTC) cannot stall or burst cadences.
   */
  clock?: () => number;
  /** Epoch milliseconds, used only to stamp `lastRunAt`; default `Date.now`. */
  wallClock?: () => number;
  /** Default the global `setTimeout`/`clearTimeout`. */
  timers?: Timers;
  /** CPU temperature in °C. */
  thermal?: () => number | Promise<number>;
  /** Warm threshold, °C. Default 60. */
  softC?: number;
  /** Hot threshold, °C. Default 75. */
  hotC?: number;
  /** Longest acceptable wait for a slot (and longest broker cycle), ms. Default 1000. */
  cycleBudgetMs?: number;
  /** Inbox bound per plugin. Default 32. */
  inboxMax?: number;
  /** Runs in flight across plugins (urgent work may exceed it). Default 4. */
  maxConcurrent?: number;
  /** Period of thermal polling, energy recovery and mood updates, ms. Default 1000. */
  housekeepingMs?: number;
  /** Cadence jitter as a fraction of the period (non-urgent plugins). Default 0.05. */
  jitter?: number;
  /** Deferred work runs anyway after waiting this long, ms. Default 30 000. */
  maxDeferMs?: number;
}

/** Scheduler-wide figures. */
export interface SchedulerStats {
  pressure: Pressure;
  temperatureC: number | null;
  overBudget: boolean;
  inflight: number;
  plugins: number;
}

/** RTOS-like plugin scheduler. */
export class Scheduler {
  #o: Required<Omit<SchedulerOptions, "thermal">> & Pick<SchedulerOptions, "thermal">;
  #citizens = new Map<string, Citizen>();
  #running = false;
  #inflight = 0;
  #runs = new Set<Promise<void>>();
  #housekeeping: unknown = null;
  #temperature: number | null = null;
  #thermalLevel: Pressure = 0;
  #thermalBusy = false;
  #cycleOver = false;
  #late = false;
  #pressure: Pressure = 0;

  /**
   * @throws {RangeError} When a numeric option is out of range.
   */
  constructor(options: SchedulerOptions) {
    const o = {
      clock: () => performance.now(),
      wallClock: Date.now,
      timers: {
        setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
        clearTimeout: (h: unknown) => clearTimeout(h as number),
      },
      softC: 60,
      hotC: 75,
      cycleBudgetMs: 1000,
      inboxMax: 32,
      maxConcurrent: 4,
      housekeepingMs: 1000,
      jitter: 0.05,
      maxDeferMs: 30_000,
      ...options,
    };
    for (const k of ["cycleBudgetMs", "inboxMax", "maxConcurrent", "housekeepingMs", "maxDeferMs"] as const) {
      if (!(o[k] > 0)) {
        throw new RangeError(`Cannot create scheduler as '${k}' must be positive: current value is ${o[k]}`);
      }
    }
    if (!(o.jitter >= 0 && o.jitter < 1)) {
      throw new RangeError(
        `Cannot create scheduler as 'jitter' must be in [0, 1): current value is ${o.jitter}`,
      );
    }
    if (!(o.softC < o.hotC)) {
      throw new RangeError(
        `Cannot create scheduler as 'softC' must be below 'hotC': current values are ${o.softC} and ${o.hotC}`,
      );
    }
    this.#o = o;
  }

  /**
   * Register a plugin (or update an existing one's cadence, priority and dependencies).
   *
   * @throws {TypeError} For a bad id or dependsOn. @throws {RangeError} For a bad cadence or priority.
   */
  add(spec: PluginSpec): void {
    const checked = checkSpec(spec);
    const existing = this.#citizens.get(checked.id);
    if (existing) {
      existing.spec = checked;
      if (this.#running) this.#arm(existing, this.#now() + this.#offset(existing));
      return;
    }
    const vr = Math.min(Infinity, ...[...this.#citizens.values()].map((c) => c.vruntime));
    const c = new Citizen(checked, this.#o.inboxMax, this.#now(), Number.isFinite(vr) ? vr : 0);
    this.#citizens.set(checked.id, c);
    if (this.#running) this.#arm(c, this.#now() + this.#offset(c));
  }

  /** Unregister a plugin; its queued work is discarded, a run in flight finishes unobserved. */
  remove(id: string): void {
    const c = this.#citizens.get(id);
    if (!c) return;
    this.#disarm(c);
    c.inbox.clear();
    this.#citizens.delete(id);
  }

  /**
   * Queue work addressed to a plugin (a command or an event).
   *
   * @param priority Default: the plugin's priority.
   * @returns False when no such plugin is registered.
   * @throws {RangeError} When `priority` is outside 0..1.
   */
  demand(id: string, payload?: unknown, priority?: number): boolean {
    if (priority !== undefined && !(priority >= 0 && priority <= 1)) {
      throw new RangeError(
        `Cannot demand work from "${id}" as 'priority' must be in 0..1: current value is ${priority}`,
      );
    }
    const c = this.#citizens.get(id);
    if (!c) return false;
    this.#enqueue(c, "demand", priority ?? c.spec.priority, payload);
    this.#pump();
    return true;
  }

  /** Plugin `id` produced readings: trigger every plugin that depends on it (one pending trigger per source). */
  produced(id: string): void {
    for (const c of this.#citizens.values()) {
      if (!c.spec.dependsOn?.includes(id)) continue;
      const pending = c.inbox.some((x) =>
        x.kind === "dependency" && (x.payload as { from?: string })?.from === id
      );
      if (!pending) this.#enqueue(c, "dependency", c.spec.priority, { from: id });
    }
    this.#pump();
  }

  /** The broker reports how long its cycle took; over `cycleBudgetMs` raises pressure until a cycle fits. */
  reportCycle(durationMs: number): void {
    this.#cycleOver = durationMs > this.#o.cycleBudgetMs;
    this.#updatePressure();
    this.#pump();
  }

  /** Start the cadence timers and housekeeping. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const now = this.#now();
    for (const c of this.#citizens.values()) this.#arm(c, now + this.#offset(c));
    this.#housekeeping = this.#o.timers.setTimeout(() => this.#housekeep(), this.#o.housekeepingMs);
    void this.#pollThermal();
  }

  /**
   * Stop all timers and dispatching; resolves when the runs in flight have settled, or after
   * `timeoutMs` (on the injected timers) when one never does.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#running = false;
    for (const c of this.#citizens.values()) this.#disarm(c);
    if (this.#housekeeping !== null) this.#o.timers.clearTimeout(this.#housekeeping);
    this.#housekeeping = null;
    if (this.#runs.size === 0) return;
    let timer: unknown = null;
    await Promise.race([
      Promise.all([...this.#runs]),
      new Promise<void>((resolve) => timer = this.#o.timers.setTimeout(resolve, timeoutMs)),
    ]);
    if (timer !== null) this.#o.timers.clearTimeout(timer);
  }

  /** Scheduler state of one plugin, or null. */
  state(id: string): SchedulerState | null {
    return this.#citizens.get(id)?.state(this.#pressure, this.#stamp) ?? null;
  }

  /** Scheduler state of every plugin. */
  states(): Record<string, SchedulerState> {
    const out: Record<string, SchedulerState> = {};
    for (const [id, c] of this.#citizens) out[id] = c.state(this.#pressure, this.#stamp);
    return out;
  }

  /** Scheduler-wide figures. */
  stats(): SchedulerStats {
    return {
      pressure: this.#pressure,
      temperatureC: this.#temperature,
      overBudget: this.#cycleOver || this.#late,
      inflight: this.#inflight,
      plugins: this.#citizens.size,
    };
  }

  /** Scheduler-clock time → epoch ms, for stamping data only. */
  #stamp = (t: number): number => this.#o.wallClock() - (this.#o.clock() - t);

  #now(): number {
    return this.#o.clock();
  }

  /** Deterministic start offset within the first period (at most 1 s), so plugins do not fire together. */
  #offset(c: Citizen): number {
    return hash32(`offset:${c.spec.id}`) % Math.max(1, Math.min(c.spec.cadenceMs, 1000));
  }

  #arm(c: Citizen, due: number): void {
    this.#disarm(c);
    c.nextDue = due;
    c.timer = this.#o.timers.setTimeout(() => this.#tick(c), Math.max(0, due - this.#now()));
  }

  #disarm(c: Citizen): void {
    if (c.timer !== null) this.#o.timers.clearTimeout(c.timer);
    c.timer = null;
  }

  /** The period until the next tick: mood and pressure stretch non-urgent plugins; jitter spreads them. */
  #nextPeriod(c: Citizen): number {
    const base = c.period(this.#pressure);
    if (pressureMultiplier(c.spec.priority, this.#pressure) > 1) c.deferred++; // stretched by pressure
    if (c.urgent || this.#o.jitter === 0) return base;
    return base * (1 + this.#o.jitter * (2 * c.rng() - 1));
  }

  #tick(c: Citizen): void {
    c.timer = null;
    if (!this.#running || this.#citizens.get(c.spec.id) !== c) return;
    const now = this.#now();
    if (c.inbox.some((x) => x.kind === "cadence")) c.overruns++; // the previous period's work has not even started
    else this.#enqueue(c, "cadence", c.spec.priority, { due: c.nextDue });
    let due = c.nextDue + this.#nextPeriod(c);
    if (due <= now) due = now + c.spec.cadenceMs;
    this.#arm(c, due);
    this.#pump();
  }

  #enqueue(c: Citizen, kind: InboxKind, priority: number, payload: unknown): void {
    const item: InboxItem = { kind, priority, payload, enqueuedAt: this.#now() };
    const dropped = c.inbox.push(item);
    if (dropped) {
      c.drops++;
      this.#o.emit.emit("scheduler.drop", {
        plugin: c.spec.id,
        priority: dropped.priority,
        kind: dropped.kind,
      });
    }
    this.#updateMood(c, this.#now());
  }

  /** Should the head item wait? Counts each deferred item once. */
  #defer(c: Citizen, item: InboxItem, now: number): boolean {
    if (item.priority > URGENT || item.priority >= LOW || this.#pressure === 0) return false;
    if (now - item.enqueuedAt >= this.#o.maxDeferMs) return false;
    if (!c.deferredItems.has(item)) {
      c.deferredItems.add(item);
      c.deferred++;
    }
    return true;
  }

  #pump(): void {
    if (!this.#running) return;
    const now = this.#now();
    // Urgent work first and regardless of slots, pressure or mood.
    for (const c of this.#citizens.values()) {
      const head = c.inbox.peek();
      if (!c.inflight && head && head.priority > URGENT) this.#dispatch(c, now);
    }
    while (this.#inflight < this.#o.maxConcurrent) {
      let best: Citizen | null = null;
      for (const c of this.#citizens.values()) {
        const head = c.inbox.peek();
        if (c.inflight || !head || this.#defer(c, head, now)) continue;
        if (!best || c.vruntime < best.vruntime) best = c;
      }
      if (!best) break;
      this.#dispatch(best, now);
    }
    // Work still waiting for a slot longer than the budget means the board is over budget.
    let waited = 0;
    for (const c of this.#citizens.values()) {
      const head = c.inbox.peek();
      if (!c.inflight && head && !(this.#pressure > 0 && head.priority < LOW)) {
        waited = Math.max(waited, now - head.enqueuedAt);
      }
    }
    // Hysteresis: over budget above the budget, back within it below half of it.
    const late = this.#late ? waited > this.#o.cycleBudgetMs / 2 : waited > this.#o.cycleBudgetMs;
    if (late !== this.#late) {
      this.#late = late;
      this.#updatePressure();
    }
  }

  #dispatch(c: Citizen, now: number): void {
    const item = c.inbox.shift()!;
    c.rest(now);
    c.inflight = true;
    c.lastRunAt = now;
    this.#inflight++;
    this.#updateMood(c, now);
    let p: Promise<void>;
    try {
      p = Promise.resolve(this.#o.run(c.spec.id, item));
    } catch (err) {
      p = Promise.reject(err);
    }
    const settled: Promise<void> = p.catch(() => {
      c.failures++;
    }).finally(() => {
      this.#runs.delete(settled);
      this.#finish(c, item, now);
    });
    this.#runs.add(settled);
  }

  #finish(c: Citizen, item: InboxItem, started: number): void {
    const now = this.#now();
    const ms = now - started;
    c.inflight = false;
    this.#inflight--;
    c.runs++;
    c.worked(ms, now);
    c.vruntime += Math.max(ms, 1) / (0.25 + item.priority);
    this.#updateMood(c, now);
    this.#pump();
  }

  #updateMood(c: Citizen, now: number): void {
    const mood = c.computeMood(now);
    if (mood === c.mood) return;
    const old = c.mood;
    c.mood = mood;
    this.#o.emit.emit("scheduler.mood", { plugin: c.spec.id, old, new: mood });
  }

  #housekeep(): void {
    this.#housekeeping = null;
    if (!this.#running) return;
    const now = this.#now();
    for (const c of this.#citizens.values()) {
      c.rest(now);
      this.#updateMood(c, now);
    }
    void this.#pollThermal();
    this.#pump();
    this.#housekeeping = this.#o.timers.setTimeout(() => this.#housekeep(), this.#o.housekeepingMs);
  }

  async #pollThermal(): Promise<void> {
    if (!this.#o.thermal || this.#thermalBusy) return;
    this.#thermalBusy = true;
    try {
      const t = await this.#o.thermal();
      if (Number.isFinite(t)) {
        this.#temperature = t;
        const { softC, hotC } = this.#o;
        // 2 °C hysteresis so the level does not flap around a threshold.
        const lvl = this.#thermalLevel;
        this.#thermalLevel = t >= hotC || (lvl === 2 && t > hotC - 2)
          ? 2
          : t >= softC || (lvl >= 1 && t > softC - 2)
          ? 1
          : 0;
        this.#updatePressure();
      }
    } catch {
      // A failing sensor must not stop scheduling; keep the last level.
    } finally {
      this.#thermalBusy = false;
    }
    this.#pump();
  }

  #updatePressure(): void {
    const over = this.#cycleOver || this.#late ? 1 : 0;
    const next = Math.max(this.#thermalLevel, over) as Pressure;
    if (next === this.#pressure) return;
    const old = this.#pressure;
    this.#pressure = next;
    this.#o.emit.emit("scheduler.pressure", { old, new: next, temperatureC: this.#temperature });
    if (!this.#running) return;
    if (next < old) {
      // Cooling down: pull stretched cadences back in now rather than after the long wait.
      const now = this.#now();
      for (const c of this.#citizens.values()) {
        const sooner = Math.max(now, c.nextDue - c.period(old) + c.period(next));
        if (c.timer !== null && sooner < c.nextDue) this.#arm(c, sooner);
      }
    }
  }
}
