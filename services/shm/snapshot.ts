/**
 * The snapshot schema (SPEC §7): what the broker publishes each cycle and every reader gets.
 *
 * @module
 */
import type { ReadingValue } from "../../plugins/sdk/mod.ts";
import type { HealthReport } from "../health/mod.ts";

/** One reading as stored: id `node:sensor`. */
export interface ReadingRecord {
  id: string;
  node: string;
  sensor: string;
  plugin: string;
  values: Record<string, ReadingValue>;
  units: Record<string, string>;
  /** ISO 8601 UTC. */
  timestamp: string;
}

export type SchedulerMood = "idle" | "active" | "tired" | "overwhelmed";

/** Scheduler state of one plugin. */
export interface SchedulerState {
  mood: SchedulerMood;
  energy: number;
  inboxDepth: number;
  cadenceMs: number;
  priority: number;
  lastRunAt: string | null;
  runs: number;
  overruns: number;
  drops: number;
  deferred: number;
}

export type PluginRunStatus = "starting" | "running" | "backoff" | "quarantined" | "stopped" | "disabled";

/** One plugin as the snapshot shows it. */
export interface PluginStatus {
  id: string;
  version: string;
  status: PluginRunStatus;
  restarts: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastPollAt: string | null;
  scheduler: SchedulerState | null;
}

export interface AnimaState {
  warmth: number;
  clarity: number;
  stability: number;
  presence: number;
}

export interface Identity {
  creature_id: string;
  name: string;
  awakenings: number;
}

/** The whole snapshot of one node. */
export interface Snapshot {
  /** ISO 8601 UTC of the write. */
  timestamp: string;
  node: string;
  cycle: number;
  readings: Record<string, ReadingRecord>;
  plugins: Record<string, PluginStatus>;
  /** LED strip as `#rrggbb`, index 0 first. */
  leds: string[];
  anima: AnimaState | null;
  identity: Identity | null;
  /** SSD1306 framebuffer (1024 bytes, page-major) as base64, when an OLED is attached. */
  oled: string | null;
  /** The writer's health (components ok | degraded | down), when it reports one. */
  health?: HealthReport | null;
}

/** Where the latest snapshot lives. */
export interface SharedState {
  /** `redis`, `file`, `memory`; `auto` reports the one in use. */
  readonly kind: string;
  write(snapshot: Snapshot): Promise<void>;
  /** The latest snapshot of `node` (default: this node), or null. */
  read(node?: string): Promise<Snapshot | null>;
  close(): Promise<void>;
}
