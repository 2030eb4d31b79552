/**
 * Test helpers for the hub's tests: an in-memory event log + sink, an in-memory shared state,
 * and snapshot builders. (Small and local so hub tests do not depend on other services' internals.)
 *
 * @module
 */
import type { EventEnvelope, EventLog, EventQuery, EventSink } from "../events/event.ts";
import type { SharedState, Snapshot } from "../shm/snapshot.ts";

/** Events in an array; `emit` stamps and notifies subscribers synchronously. */
export class TestEventLog implements EventLog, EventSink {
  events: EventEnvelope[] = [];
  #subs = new Set<(e: EventEnvelope) => void>();
  #seq = 0;
  constructor(readonly node = "hub", readonly now: () => number = () => Date.now()) {}

  emit(type: string, data: Record<string, unknown> = {}): void {
    const ms = this.now();
    const e: EventEnvelope = {
      id: `${ms}-${this.#seq++}`,
      type,
      ts: new Date(ms).toISOString(),
      cycle: 0,
      node: this.node,
      data,
    };
    this.events.push(e);
    for (const s of this.#subs) s(e);
  }

  latest(count: number): Promise<EventEnvelope[]> {
    return Promise.resolve(this.events.slice(-count));
  }

  query(q: EventQuery): Promise<EventEnvelope[]> {
    let out = this.events;
    if (q.type) out = out.filter((e) => e.type.startsWith(q.type!));
    if (q.since) out = out.filter((e) => e.ts > q.since!);
    return Promise.resolve(out.slice(-(q.limit ?? 100)));
  }

  subscribe(listener: (event: EventEnvelope) => void): () => void {
    this.#subs.add(listener);
    return () => this.#subs.delete(listener);
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }
}

/** Snapshots in a map. */
export class TestState implements SharedState {
  readonly kind = "memory";
  map = new Map<string, Snapshot>();
  write(s: Snapshot): Promise<void> {
    this.map.set(s.node, structuredClone(s));
    return Promise.resolve();
  }
  read(node = "hub"): Promise<Snapshot | null> {
    return Promise.resolve(this.map.get(node) ?? null);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A plausible snapshot of `node` at `ms`. */
export function makeSnapshot(node: string, ms = Date.now(), cycle = 1, temperature = 21.5): Snapshot {
  const ts = new Date(ms).toISOString();
  return {
    timestamp: ts,
    node,
    cycle,
    readings: {
      [`${node}:bme680`]: {
        id: `${node}:bme680`,
        node,
        sensor: "bme680",
        plugin: "bme680",
        values: { temperature, humidity: 40.2, iaq: 55 },
        units: { temperature: "°C", humidity: "%", iaq: "" },
        timestamp: ts,
      },
    },
    plugins: {
      bme680: {
        id: "bme680",
        version: "1.0.0",
        status: "running",
        restarts: 2,
        lastError: null,
        lastErrorAt: null,
        lastPollAt: ts,
        scheduler: {
          mood: "active",
          energy: 0.8,
          inboxDepth: 1,
          cadenceMs: 2000,
          priority: 0.5,
          lastRunAt: ts,
          runs: cycle,
          overruns: 0,
          drops: 0,
          deferred: 0,
        },
      },
    },
    leds: ["#000000", "#00ff00"],
    anima: { warmth: 0.5, clarity: 0.6, stability: 0.7, presence: 0.4 },
    identity: { creature_id: "c-1", name: "Lumen", awakenings: 2 },
    oled: null,
  };
}
