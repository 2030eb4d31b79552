/**
 * The {@link Health} model: components (scheduler, plugins, snapshot writer, event sink, Redis,
 * hub ingest, …) report `ok | degraded | down` with a reason; the model keeps since-when, logs
 * each transition once (one line per episode, not per failure), and says whether the node can do
 * its job. Watchdogs turn silence into a fault: a component that must beat every `intervalMs`
 * is `down` after `missed` intervals without a beat (e.g. no snapshot written for 3 intervals).
 *
 * Time: transitions and watchdogs run on the monotonic clock; wall time only stamps `since`.
 *
 * @module
 */

/** A component's state. */
export type ComponentStatus = "ok" | "degraded" | "down";

/** One component as `/health` shows it. */
export interface ComponentHealth {
  status: ComponentStatus;
  /** Why it is not ok (null when ok). */
  reason: string | null;
  /** ISO 8601 UTC of the last status change. */
  since: string;
  /** Whether `down` here means the node cannot do its job (HTTP 503). */
  critical: boolean;
}

/** The whole report. */
export interface HealthReport {
  /** The worst component status. */
  status: ComponentStatus;
  /** False when a critical component is down: `/health` answers 503. */
  serving: boolean;
  components: Record<string, ComponentHealth>;
}

/** Options for {@link Health}. */
export interface HealthOptions {
  /** One line per transition (default `console.error`). */
  log?: (line: string) => void;
  /** Epoch ms for `since` stamps. Default `Date.now`. */
  wallClock?: () => number;
  /** Monotonic ms for watchdogs. Default `performance.now`. */
  clock?: () => number;
}

interface Entry {
  status: ComponentStatus;
  reason: string | null;
  since: number;
  critical: boolean;
  watch: { intervalMs: number; missed: number; last: number; what: string } | null;
}

const RANK: Record<ComponentStatus, number> = { ok: 0, degraded: 1, down: 2 };

/** What components report into; read by `/health`, `/metrics`, the snapshot and the control socket. */
export class Health {
  readonly #components = new Map<string, Entry>();
  readonly #log: (line: string) => void;
  readonly #wall: () => number;
  readonly #mono: () => number;

  constructor(options: HealthOptions = {}) {
    this.#log = options.log ?? ((l) => console.error(l));
    this.#wall = options.wallClock ?? Date.now;
    this.#mono = options.clock ?? (() => performance.now());
  }

  /**
   * Declare a component (ok until told otherwise).
   *
   * @param critical whether `down` stops the node doing its job (503)
   */
  register(component: string, critical = false): void {
    if (!this.#components.has(component)) {
      this.#components.set(component, {
        status: "ok",
        reason: null,
        since: this.#wall(),
        critical,
        watch: null,
      });
    } else this.#components.get(component)!.critical = critical;
  }

  /**
   * Report `component`'s status. A change is logged once (unless `quiet`: the reporter logs its
   * own line); repeating the same status (even with a new reason) updates the reason quietly.
   */
  set(component: string, status: ComponentStatus, reason: string | null = null, quiet = false): void {
    if (!this.#components.has(component)) this.register(component);
    const e = this.#components.get(component)!;
    // A watched component that is still silent stays down whatever else it reports, until a beat.
    if (status === "degraded" && e.watch && this.#silentIntervals(e) >= e.watch.missed) status = "down";
    // Bounded: reports travel in snapshots and pushes.
    let why = status === "ok" ? null : (reason ?? "unknown").slice(0, 300);
    if (status === "down" && e.watch && e.status === "down" && e.reason?.startsWith("no ")) {
      why = e.reason; // keep the watchdog's wording (it already names the last cause)
    }
    if (e.status === status) {
      e.reason = why;
      return;
    }
    const previous = e.status;
    e.status = status;
    e.reason = why;
    e.since = this.#wall();
    if (!quiet) {
      this.#log(
        status === "ok"
          ? `health: ${component} is ok again (was ${previous})`
          : `health: ${component} is ${status}: ${why}`,
      );
    }
  }

  /** Shorthand for `set(component, "ok")`. */
  ok(component: string): void {
    this.set(component, "ok");
  }

  /**
   * Expect `component` to {@link beat} every `intervalMs`; after `missed` intervals of silence it
   * is `down` ("no <what> for N intervals").
   */
  watch(component: string, intervalMs: number, missed = 3, what = "beat"): void {
    if (!this.#components.has(component)) this.register(component, true);
    this.#components.get(component)!.watch = { intervalMs, missed, last: this.#mono(), what };
  }

  /** A sign of life from a watched component (and ok, unless it reported otherwise since). */
  beat(component: string): void {
    const e = this.#components.get(component);
    if (!e?.watch) return this.ok(component);
    e.watch.last = this.#mono();
    if (e.status === "down" && e.reason?.startsWith("no ")) this.ok(component);
  }

  /** Evaluate watchdogs now. */
  check(): void {
    for (const [name, e] of this.#components) {
      const w = e.watch;
      if (!w || e.status === "down") continue;
      const n = this.#silentIntervals(e);
      if (n >= w.missed) {
        const last = e.reason ? ` (last: ${e.reason})` : "";
        this.set(name, "down", `no ${w.what} for ${n} intervals of ${w.intervalMs} ms${last}`);
      }
    }
  }

  /** Current status of `component`, or null when unknown. */
  status(component: string): ComponentStatus | null {
    return this.#components.get(component)?.status ?? null;
  }

  #silentIntervals(e: Entry): number {
    return e.watch ? Math.floor((this.#mono() - e.watch.last) / e.watch.intervalMs) : 0;
  }

  /** The report (watchdogs evaluated first). */
  report(): HealthReport {
    this.check();
    const components: Record<string, ComponentHealth> = {};
    let worst: ComponentStatus = "ok";
    let serving = true;
    for (const name of [...this.#components.keys()].sort()) {
      const e = this.#components.get(name)!;
      components[name] = {
        status: e.status,
        reason: e.reason,
        since: new Date(e.since).toISOString(),
        critical: e.critical,
      };
      if (RANK[e.status] > RANK[worst]) worst = e.status;
      if (e.critical && e.status === "down") serving = false;
    }
    return { status: worst, serving, components };
  }

  /** `/metrics` gauges: `harvester_component_up{component}` 1 unless down, and the status by label. */
  gauges(): Array<{ name: string; help: string; value: number; labels: Record<string, string> }> {
    const r = this.report();
    const out = [];
    for (const [component, c] of Object.entries(r.components)) {
      out.push({
        name: "harvester_component_up",
        help: "1 while the component is ok or degraded, 0 when down.",
        value: c.status === "down" ? 0 : 1,
        labels: { component },
      });
    }
    for (const [component, c] of Object.entries(r.components)) {
      out.push({
        name: "harvester_component_status",
        help: "Component status: 0 ok, 1 degraded, 2 down.",
        value: RANK[c.status],
        labels: { component },
      });
    }
    return out;
  }
}
