/**
 * The hub's node registry: every node it knows (its own and local brokers read from shared
 * state, spokes from `/push`), with liveness derived from when each was last seen.
 *
 * @module
 */
import type { EventSink } from "../events/event.ts";
import type { PluginStatus, ReadingRecord, Snapshot } from "../shm/snapshot.ts";
import { type Clock, monotonicOf, systemClock } from "./clock.ts";

export type NodeStatus = "online" | "stale" | "offline";
export type NodeRole = "hub" | "spoke" | "standalone" | "local";

/** One node as `/api/nodes` shows it. */
export interface NodeView {
  id: string;
  role: NodeRole;
  status: NodeStatus;
  /** ISO 8601 UTC, or null when never seen. */
  lastSeen: string | null;
  cycle: number;
  leds: string[];
  oled: string | null;
  anima: Snapshot["anima"];
  identity: Snapshot["identity"];
}

/** Options for {@link NodeRegistry}. */
export interface NodeRegistryOptions {
  /** Expected time between two snapshots of a node (the push interval). */
  intervalMs: number;
  /** Missed intervals before `stale`. Default 3. */
  staleAfter?: number;
  /** Missed intervals before `offline`. Default 6. */
  offlineAfter?: number;
  emit: EventSink;
  clock?: Clock;
}

interface Entry {
  id: string;
  role: NodeRole;
  source: "local" | "push";
  snapshot: Snapshot | null;
  /** Monotonic ms when last seen (liveness). */
  lastSeen: number | null;
  /** Epoch ms when last seen (display only). */
  lastSeenWall: number | null;
  status: NodeStatus;
  pushes: number;
}

/**
 * Tracks nodes and their latest snapshot. A node that misses `staleAfter` intervals is `stale`
 * (`node.stale`), after `offlineAfter` it is `offline` (`node.offline`); a snapshot brings it
 * back (`node.online`). Transitions are evaluated by {@link NodeRegistry.check}.
 */
export class NodeRegistry {
  #nodes = new Map<string, Entry>();
  #version = 0;
  #readingsCache: { key: string; json: string; bytes: Uint8Array | null } | null = null;
  #opts: Required<Omit<NodeRegistryOptions, "clock">> & { clock: Clock };
  #mono: () => number;

  constructor(options: NodeRegistryOptions) {
    if (!(options.intervalMs > 0)) {
      throw new RangeError(
        `Cannot create node registry: 'intervalMs' must be positive: current value is ${options.intervalMs}`,
      );
    }
    this.#opts = {
      ...options,
      staleAfter: options.staleAfter ?? 3,
      offlineAfter: options.offlineAfter ?? 6,
      clock: options.clock ?? systemClock,
    };
    this.#mono = monotonicOf(this.#opts.clock);
  }

  /** Declare a node before it is seen (its own node, configured local nodes). */
  declare(id: string, role: NodeRole, source: "local" | "push" = "local"): void {
    this.#entry(id, role, source);
  }

  /**
   * Record a snapshot pushed by a spoke: seen now. A snapshot older than the one held (by both
   * cycle and timestamp: a replay) updates liveness but not the data; either being newer is
   * enough, so a spoke whose wall clock stepped back keeps its data current.
   */
  ingest(snapshot: Snapshot, role: NodeRole = "spoke"): void {
    const e = this.#entry(snapshot.node, role, "push");
    e.role = role;
    // Seen through shared state before, pushing here now: its pushes are the truth from now on.
    e.source = "push";
    e.pushes++;
    const held = e.snapshot;
    if (
      !held || snapshot.cycle > held.cycle || Date.parse(snapshot.timestamp) >= Date.parse(held.timestamp)
    ) {
      e.snapshot = snapshot;
      this.#version++;
    }
    this.#seen(e);
    this.#transition(e);
  }

  /**
   * Record a snapshot read from shared state. A snapshot that changed (cycle or timestamp) was
   * written just now; the first one seen is aged by its timestamp (clamped at zero), so a dead
   * broker's last snapshot does not look fresh, and later wall-clock steps cannot matter.
   */
  observe(snapshot: Snapshot, role: NodeRole = "local"): void {
    const e = this.#entry(snapshot.node, role, "local");
    const changed = e.snapshot?.timestamp !== snapshot.timestamp || e.snapshot?.cycle !== snapshot.cycle;
    if (changed) this.#version++;
    const first = e.snapshot === null;
    e.snapshot = snapshot;
    if (first) {
      const written = Date.parse(snapshot.timestamp);
      const age = Number.isFinite(written) ? Math.max(0, this.#opts.clock.now() - written) : 0;
      e.lastSeen = this.#mono() - age;
      e.lastSeenWall = this.#opts.clock.now() - age;
    } else if (changed) {
      this.#seen(e);
    }
    this.#transition(e);
  }

  #seen(e: Entry): void {
    e.lastSeen = this.#mono();
    e.lastSeenWall = this.#opts.clock.now();
  }

  #entry(id: string, role: NodeRole, source: "local" | "push"): Entry {
    let e = this.#nodes.get(id);
    if (!e) {
      e = {
        id,
        role,
        source,
        snapshot: null,
        lastSeen: null,
        lastSeenWall: null,
        status: "offline",
        pushes: 0,
      };
      this.#nodes.set(id, e);
    }
    return e;
  }

  /** Status `id` would have now, from its last-seen time. */
  #statusNow(e: Entry): NodeStatus {
    if (e.lastSeen === null) return "offline";
    const missed = (this.#mono() - e.lastSeen) / this.#opts.intervalMs;
    if (missed >= this.#opts.offlineAfter) return "offline";
    if (missed >= this.#opts.staleAfter) return "stale";
    return "online";
  }

  #transition(e: Entry): void {
    const next = this.#statusNow(e);
    if (next === e.status) return;
    const prev = e.status;
    e.status = next;
    const lastSeen = e.lastSeenWall === null ? null : new Date(e.lastSeenWall).toISOString();
    this.#opts.emit.emit(`node.${next}`, { node: e.id, previous: prev, lastSeen });
  }

  /** Re-evaluate every node; emits `node.stale` / `node.offline` / `node.online` on changes. */
  check(): void {
    for (const e of this.#nodes.values()) this.#transition(e);
  }

  /** Whether `id` is a node that reaches the hub by pushing (a spoke). */
  isPushed(id: string): boolean {
    return this.#nodes.get(id)?.source === "push";
  }

  has(id: string): boolean {
    return this.#nodes.has(id);
  }

  /** Node ids, sorted. */
  ids(): string[] {
    return [...this.#nodes.keys()].sort();
  }

  status(id: string): NodeStatus | null {
    const e = this.#nodes.get(id);
    return e ? this.#statusNow(e) : null;
  }

  snapshot(id: string): Snapshot | null {
    return this.#nodes.get(id)?.snapshot ?? null;
  }

  /** Pushes received from `id`. */
  pushes(id: string): number {
    return this.#nodes.get(id)?.pushes ?? 0;
  }

  /** All nodes as `/api/nodes` shows them. */
  list(): NodeView[] {
    return this.ids().map((id) => {
      const e = this.#nodes.get(id)!;
      const s = e.snapshot;
      return {
        id,
        role: e.role,
        status: this.#statusNow(e),
        lastSeen: e.lastSeenWall === null ? null : new Date(e.lastSeenWall).toISOString(),
        cycle: s?.cycle ?? 0,
        leds: s?.leds ?? [],
        oled: s?.oled ?? null,
        anima: s?.anima ?? null,
        identity: s?.identity ?? null,
      };
    });
  }

  /** Readings of every node; `stale` is true unless the node is online. */
  readings(): Array<ReadingRecord & { stale: boolean }> {
    const out: Array<ReadingRecord & { stale: boolean }> = [];
    for (const id of this.ids()) {
      const e = this.#nodes.get(id)!;
      const stale = this.#statusNow(e) !== "online";
      for (const r of Object.values(e.snapshot?.readings ?? {})) out.push({ ...r, stale });
    }
    return out;
  }

  /**
   * `readings()` as JSON, cached until a snapshot or a node status changes (the hot path of
   * dashboards polling `/api/readings`).
   */
  readingsJson(): string {
    const key = `${this.#version}|${this.ids().map((id) => this.#statusNow(this.#nodes.get(id)!)).join(",")}`;
    if (this.#readingsCache?.key !== key) {
      this.#readingsCache = { key, json: JSON.stringify(this.readings()), bytes: null };
    }
    return this.#readingsCache.json;
  }

  /**
   * {@link readingsJson} as UTF-8, encoded once per change: the same array object is returned
   * until the readings change, so callers may cache what they build from it by identity.
   */
  readingsBytes(): Uint8Array {
    this.readingsJson();
    const c = this.#readingsCache!;
    return c.bytes ??= new TextEncoder().encode(c.json);
  }

  /** Plugins of every node. */
  plugins(): Array<PluginStatus & { node: string }> {
    const out: Array<PluginStatus & { node: string }> = [];
    for (const id of this.ids()) {
      for (const p of Object.values(this.#nodes.get(id)!.snapshot?.plugins ?? {})) {
        out.push({ node: id, ...p });
      }
    }
    return out;
  }
}
