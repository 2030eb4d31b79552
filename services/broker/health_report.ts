/**
 * What the broker tells {@link Health} each cycle: the scheduler ran a cycle, which plugins are
 * in backoff or quarantine, and whether the event sink reaches its store.
 *
 * @module
 */
import type { Health } from "../health/mod.ts";
import type { CycleEmitter, PluginRuntime } from "./broker.ts";

/** Report scheduler, plugins and event sink into `health` (called once per cycle). */
export function reportBrokerHealth(health: Health, plugins: PluginRuntime, emitter: CycleEmitter): void {
  health.set("scheduler", "ok");
  const ids = plugins.ids();
  const troubled: string[] = [];
  let working = 0;
  for (const id of ids) {
    const s = plugins.status(id);
    if (s.status === "quarantined" || s.status === "backoff") {
      troubled.push(`${id} ${s.status}${s.lastError ? ` (${s.lastError.slice(0, 120)})` : ""}`);
    } else if (s.status !== "disabled") working++;
  }
  if (troubled.length === 0) health.set("plugins", "ok");
  else health.set("plugins", working === 0 ? "down" : "degraded", troubled.join("; "));
  const stats = emitter.stats?.();
  if (stats) {
    if (stats.connected) health.set("event sink", "ok");
    else {
      health.set(
        "event sink",
        "degraded",
        `store unreachable: ${stats.buffered} events buffered, ${stats.dropped} dropped`,
      );
    }
  }
}
