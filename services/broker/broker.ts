/**
 * The broker: the one process that owns the buses. It runs the plugins through the scheduler,
 * keeps the latest readings, syncs the LED strip once per cycle, publishes the snapshot, and
 * executes commands that arrive from the hub.
 *
 * @module
 */
import type { Hal } from "../../hal/mod.ts";
import type { PluginManifest, Reading, SnapshotView } from "../../plugins/sdk/mod.ts";
import type { EventSink } from "../events/event.ts";
import type {
  Identity,
  PluginStatus,
  ReadingRecord,
  SchedulerState,
  SharedState,
  Snapshot,
} from "../shm/snapshot.ts";
import { type Command, CommandFault, type CommandRequest, type CommandResult } from "../link/command.ts";
import type { LedBuffer } from "./leds.ts";
import type { BuzzerPlayer } from "./buzzer.ts";
import type { LogRing } from "./logs.ts";
import type { Health, StorageFaults } from "../health/mod.ts";
import { reportBrokerHealth } from "./health_report.ts";

/** What the broker needs from the plugin runtime (services/plugin_host). */
export interface PluginRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
  ids(): string[];
  manifest(id: string): PluginManifest | undefined;
  status(id: string): Omit<PluginStatus, "id" | "scheduler">;
  poll(id: string): Promise<Reading[]>;
  update(id: string, snapshot: SnapshotView): Promise<void>;
  command(id: string, name: string, args: Record<string, unknown>): Promise<unknown>;
  reload(id: string): Promise<void>;
  onChange(cb: (change: { kind: string; id: string }) => void): void;
}

/** One unit of work from the scheduler. */
export interface WorkItem {
  kind: string;
  priority: number;
  payload?: unknown;
}

/** What the broker needs from the scheduler (services/scheduler). */
export interface SchedulerLike {
  add(spec: { id: string; cadenceMs: number; priority: number; dependsOn?: string[] }): void;
  remove(id: string): void;
  demand(id: string, payload?: unknown, priority?: number): void;
  produced(id: string): void;
  start(): void;
  stop(): void | Promise<void>;
  states(): Record<string, SchedulerState>;
  /** Told each cycle's duration, so an overrun slows low-priority work first. */
  reportCycle?(durationMs: number): void;
}

/** An emitter that can be told the cycle number. */
export interface CycleEmitter extends EventSink {
  setCycle?(cycle: number): void;
  /** Whether the store is reachable and what waits for it (the event sink's health). */
  stats?(): { connected: boolean; buffered: number; dropped: number };
}

/** Broker options; `main.ts` builds them from the config. */
export interface BrokerOptions {
  node: string;
  hal: Hal;
  plugins: PluginRuntime;
  createScheduler: (run: (id: string, item: WorkItem) => Promise<void>) => SchedulerLike;
  state: SharedState;
  emitter: CycleEmitter;
  leds: LedBuffer;
  buzzer: BuzzerPlayer;
  logs: LogRing;
  /** Snapshot/LED cycle period. */
  intervalMs: number;
  /** Scheduler overrides per plugin from `[plugins.<id>]`. */
  pluginSchedule?: (id: string) => { cadenceMs?: number; priority?: number };
  /** The OLED framebuffer, when the board has a readable one (sim). */
  oled?: () => Uint8Array | null;
  /** Readings older than this are dropped from the snapshot (default 10 intervals). */
  readingTtlMs?: number;
  /** Where components report (scheduler, plugins, snapshot, event sink); in the snapshot too. */
  health?: Health;
  /** Failing snapshot writes, spoken once per episode. */
  storage?: StorageFaults;
}

const b64 = (bytes: Uint8Array) => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};

/** The hardware broker. */
export class Broker {
  readonly #o: BrokerOptions;
  readonly #scheduler: SchedulerLike;
  readonly #readings = new Map<string, ReadingRecord>();
  /** Monotonic ms each reading arrived: its age for the TTL, whatever the wall clock does. */
  readonly #readingAt = new Map<string, number>();
  #cycle = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #cycleBusy = false;
  #startedAt = performance.now();

  constructor(options: BrokerOptions) {
    this.#o = options;
    this.#scheduler = options.createScheduler((id, item) => this.#run(id, item));
  }

  /** Current cycle number. */
  get cycle(): number {
    return this.#cycle;
  }

  /** Start plugins, scheduler and the cycle loop; emits `daemon.start`. */
  async start(): Promise<void> {
    const o = this.#o;
    this.#startedAt = performance.now();
    o.emitter.emit("daemon.start", { node: o.node, backend: o.hal.backend, interval_ms: o.intervalMs });
    o.logs.log("info", "broker", `starting on ${o.hal.backend} HAL, cycle ${o.intervalMs} ms`);
    await o.plugins.start();
    for (const id of o.plugins.ids()) this.#schedule(id);
    o.plugins.onChange(({ kind, id }) => {
      if (kind === "removed") {
        this.#scheduler.remove(id);
        for (const [key, r] of this.#readings) {
          if (r.plugin === id) {
            this.#readings.delete(key);
            this.#readingAt.delete(key);
          }
        }
      } else {
        this.#scheduler.remove(id);
        this.#schedule(id);
      }
    });
    this.#scheduler.start();
    this.#running = true;
    o.health?.register("scheduler", true);
    // Every plugin quarantined or backing off: no readings, the node cannot do its job.
    o.health?.register("plugins", true);
    o.health?.watch("snapshot", o.intervalMs, 3, "snapshot written");
    await this.tick();
    this.#timer = setInterval(() => void this.tick(), o.intervalMs);
  }

  /** Stop everything: `daemon.stop`, plugin state persisted, LEDs and buzzer left off. */
  async stop(reason = "shutdown"): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#timer);
    const o = this.#o;
    await this.#scheduler.stop();
    await o.plugins.stop();
    o.buzzer.off();
    await o.leds.off();
    o.emitter.emit("daemon.stop", { reason, cycles: this.#cycle });
    o.logs.log("info", "broker", `stopped (${reason}) after ${this.#cycle} cycles`);
    o.health?.set("scheduler", "down", `stopped (${reason})`);
    await this.#writeSnapshot();
  }

  /** Write the snapshot; a failure is spoken (storage faults, health) and never thrown. */
  async #writeSnapshot(): Promise<void> {
    const o = this.#o;
    try {
      await o.state.write(this.snapshot());
      o.storage?.succeed("snapshot");
      o.health?.beat("snapshot");
    } catch (e) {
      const message = String((e as Error)?.message ?? e);
      if (o.storage) o.storage.fail("snapshot", message);
      o.emitter.emit("error", { source: "shm", message });
    }
  }

  /** One cycle: LED sync, snapshot write, cycle events. Skipped if the previous one still runs. */
  async tick(): Promise<void> {
    if (this.#cycleBusy || !this.#running) return;
    this.#cycleBusy = true;
    const o = this.#o;
    const t0 = performance.now();
    try {
      this.#cycle++;
      o.emitter.setCycle?.(this.#cycle);
      o.emitter.emit("cycle.start", { cycle: this.#cycle });
      try {
        await o.leds.sync();
      } catch (e) {
        o.emitter.emit("error", { source: "leds", message: String((e as Error)?.message ?? e) });
      }
      if (o.health) reportBrokerHealth(o.health, o.plugins, o.emitter);
      await this.#writeSnapshot();
      const duration = performance.now() - t0;
      this.#scheduler.reportCycle?.(duration);
      o.emitter.emit("cycle.end", { duration_ms: Math.round(duration * 1000) / 1000 });
      if (duration > o.intervalMs) {
        o.emitter.emit("cycle.overrun", { duration_ms: duration, budget_ms: o.intervalMs });
      }
    } finally {
      this.#cycleBusy = false;
    }
  }

  /** The snapshot as of now (SPEC §7). */
  snapshot(): Snapshot {
    const o = this.#o;
    const now = Date.now();
    const ttl = o.readingTtlMs ?? o.intervalMs * 10 + 60_000;
    const readings: Record<string, ReadingRecord> = {};
    const mono = performance.now();
    for (const [id, r] of this.#readings) {
      if (mono - (this.#readingAt.get(id) ?? mono) <= ttl) readings[id] = r;
    }
    const states = this.#scheduler.states();
    const plugins: Record<string, PluginStatus> = {};
    for (const id of o.plugins.ids()) {
      plugins[id] = { id, ...o.plugins.status(id), scheduler: states[id] ?? null };
    }
    // Identity comes only from the plugin that owns it, never from a reading another plugin named "anima".
    const own = readings[`${o.node}:anima`];
    const anima = own?.plugin === "anima" ? own.values : undefined;
    const fb = o.oled?.() ?? null;
    return {
      timestamp: new Date(now).toISOString(),
      node: o.node,
      cycle: this.#cycle,
      readings,
      plugins,
      leds: o.leds.hex(),
      anima: anima
        ? {
          warmth: Number(anima.warmth ?? 0),
          clarity: Number(anima.clarity ?? 0),
          stability: Number(anima.stability ?? 0),
          presence: Number(anima.presence ?? 0),
        }
        : null,
      identity: identityFrom(anima),
      oled: fb ? b64(fb) : null,
      ...(o.health ? { health: o.health.report() } : {}),
    };
  }

  /** Execute a command from the hub (never throws: the result says what happened). */
  async handle(req: CommandRequest): Promise<CommandResult> {
    try {
      const data = await this.#execute(req.command);
      return { id: req.id, ok: true, data };
    } catch (e) {
      const message = String((e as Error)?.message ?? e);
      if (e instanceof CommandFault) {
        // Refusals the caller caused (rate limit, unknown plugin) are answered, not logged as faults.
        this.#o.logs.log("debug", "broker", `command ${req.command.type} refused: ${message}`);
        return { id: req.id, ok: false, code: e.code, error: message, retryAfterMs: e.retryAfterMs };
      }
      this.#o.logs.log("warn", "broker", `command ${req.command.type} failed: ${message}`);
      return { id: req.id, ok: false, code: "failed", error: message };
    }
  }

  /** Broker uptime in seconds. */
  uptimeSeconds(): number {
    return (performance.now() - this.#startedAt) / 1000;
  }

  async #execute(cmd: Command): Promise<unknown> {
    const o = this.#o;
    switch (cmd.type) {
      case "buzzer": {
        const result = await o.buzzer.play(cmd.pattern, "hub");
        if (!result.played) {
          throw new CommandFault(
            "rate_limited",
            `Cannot play buzzer pattern "${cmd.pattern}": ${result.reason}`,
            result.retryAfterMs,
          );
        }
        return result;
      }
      case "led":
        o.leds.set(cmd.index, { r: cmd.r, g: cmd.g, b: cmd.b });
        await o.leds.sync();
        return { index: cmd.index, leds: o.leds.hex() };
      case "plugin.reload":
        if (!o.plugins.ids().includes(cmd.plugin)) {
          throw new CommandFault(
            "not_found",
            `Cannot reload plugin "${cmd.plugin}": no such plugin on node ${o.node}`,
          );
        }
        await o.plugins.reload(cmd.plugin);
        return { plugin: cmd.plugin };
      case "set_name": {
        if (!o.plugins.ids().includes("anima")) {
          throw new CommandFault(
            "not_found",
            `Cannot set name: the anima plugin is not running on node ${o.node}`,
          );
        }
        const data = await o.plugins.command("anima", "set_name", { name: cmd.name });
        // The snapshot's identity comes from anima's reading: poll it now so the new name shows.
        this.#scheduler.demand("anima", { command: "set_name" }, 0.9);
        return data;
      }
      case "health":
        if (!o.health) throw new Error(`Cannot report health: node ${o.node} keeps none`);
        return o.health.report();
      default:
        throw new Error(`Cannot execute command: unknown type "${(cmd as { type: string }).type}"`);
    }
  }

  #schedule(id: string): void {
    const m = this.#o.plugins.manifest(id);
    if (!m) return;
    const over = this.#o.pluginSchedule?.(id) ?? {};
    this.#scheduler.add({
      id,
      cadenceMs: over.cadenceMs ?? m.cadence_seconds * 1000,
      priority: over.priority ?? m.priority,
      dependsOn: m.depends_on ?? [],
    });
  }

  #view(): SnapshotView {
    const s = this.snapshot();
    const readings: SnapshotView["readings"] = {};
    for (const [id, r] of Object.entries(s.readings)) {
      readings[id] = { values: r.values, units: r.units, timestamp: r.timestamp };
    }
    return {
      timestamp: s.timestamp,
      node: s.node,
      readings,
      anima: s.anima as Record<string, unknown> | null,
      identity: s.identity as Record<string, unknown> | null,
    };
  }

  async #run(id: string, _item: WorkItem): Promise<void> {
    const o = this.#o;
    const m = o.plugins.manifest(id);
    if (!m) return;
    try {
      if (m.world.exports.includes("update")) await o.plugins.update(id, this.#view());
      if (!m.world.exports.includes("poll")) return;
      const readings = await o.plugins.poll(id);
      const now = Date.now();
      for (const r of readings) {
        const record: ReadingRecord = {
          id: `${o.node}:${r.sensor}`,
          node: o.node,
          sensor: r.sensor,
          plugin: id,
          values: r.values,
          units: r.units ?? {},
          timestamp: new Date(r.timestamp ?? now).toISOString(),
        };
        this.#readings.set(record.id, record);
        this.#readingAt.set(record.id, performance.now());
        o.emitter.emit("reading", record as unknown as Record<string, unknown>);
      }
      if (readings.length > 0) this.#scheduler.produced(id);
    } catch (e) {
      // The plugin host has already evented and scheduled a restart; the broker keeps going.
      o.logs.log("warn", id, String((e as Error)?.message ?? e));
    }
  }
}

function identityFrom(values: Record<string, unknown> | undefined): Identity | null {
  if (!values || typeof values.name !== "string") return null;
  return {
    creature_id: typeof values.creature_id === "string" ? values.creature_id : "",
    name: values.name,
    awakenings: Number(values.awakenings ?? 0),
  };
}
