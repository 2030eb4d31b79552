/**
 * Test helper: a valid snapshot of a given size.
 *
 * @module
 */
import type { Snapshot } from "./snapshot.ts";

/** A schema-valid snapshot for `node` at `cycle` with `readings` readings. */
export function makeSnapshot(node: string, cycle: number, readings = 3): Snapshot {
  const ts = new Date(Date.UTC(2026, 0, 1) + cycle * 1000).toISOString();
  const out: Snapshot = {
    timestamp: ts,
    node,
    cycle,
    readings: {},
    plugins: {
      bme680: {
        id: "bme680",
        version: "1.0.0",
        status: "running",
        restarts: 0,
        lastError: null,
        lastErrorAt: null,
        lastPollAt: ts,
        scheduler: {
          mood: "active",
          energy: 0.9,
          inboxDepth: 0,
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
    leds: ["#000000", "#00ff00", "#ff0000"],
    anima: { warmth: 0.5, clarity: 0.6, stability: 0.7, presence: 0.8 },
    identity: { creature_id: "c-1", name: "Kai", awakenings: 3 },
    oled: null,
  };
  for (let i = 0; i < readings; i++) {
    const sensor = `sensor-${i}`;
    out.readings[`${node}:${sensor}`] = {
      id: `${node}:${sensor}`,
      node,
      sensor,
      plugin: "bme680",
      values: { temperature: 20 + (cycle % 10), humidity: 40.5, label: "x".repeat(32), ok: true },
      units: { temperature: "°C", humidity: "%" },
      timestamp: ts,
    };
  }
  return out;
}
