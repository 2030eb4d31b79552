/**
 * Prometheus text exposition (format 0.0.4) of the hub: readings, plugin restarts and states,
 * scheduler gauges, node status, events emitted/dropped, live-feed clients, HTTP latency.
 *
 * @module
 */
import type { EmitterStats } from "../events/event.ts";
import type { NodeRegistry } from "./registry.ts";
import { readingMetric } from "./metric_names.ts";

/** One extra gauge sample supplied by the composition root. */
export interface GaugeSample {
  name: string;
  help?: string;
  labels?: Record<string, string>;
  value: number;
}

/** What `options.metrics()` may return. */
export interface ExtraMetrics {
  emitter?: EmitterStats;
  gauges?: GaugeSample[];
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function safeName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, "_");
}

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Collects HTTP timings and counters, renders everything on demand. */
export class Metrics {
  #http = new Map<string, { labels: Record<string, string>; h: Histogram }>();
  #counters = new Map<
    string,
    { help: string; values: Map<string, { labels: Record<string, string>; value: number }> }
  >();

  /** Record one request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requestObserver(method, route, status)(seconds);
  }

  /**
   * The recorder of one (method, route, status) series, for a hot path that records the same
   * series every time (the label lookup done once).
   */
  requestObserver(method: string, route: string, status: number): (seconds: number) => void {
    const l = { method, route, status: String(status) };
    const key = JSON.stringify(l);
    let e = this.#http.get(key);
    if (!e) {
      e = { labels: l, h: { counts: BUCKETS.map(() => 0), sum: 0, count: 0 } };
      this.#http.set(key, e);
    }
    const h = e.h;
    return (seconds) => {
      for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) h.counts[i]++;
      h.sum += seconds;
      h.count++;
    };
  }

  /** Add to a counter (created on first use). */
  inc(name: string, help: string, l: Record<string, string> = {}, by = 1): void {
    let c = this.#counters.get(name);
    if (!c) {
      c = { help, values: new Map() };
      this.#counters.set(name, c);
    }
    const key = JSON.stringify(l);
    const v = c.values.get(key) ?? { labels: l, value: 0 };
    v.value += by;
    c.values.set(key, v);
  }

  /**
   * Render the exposition text.
   *
   * @param registry nodes, readings, plugins
   * @param liveClients connected live-feed clients
   * @param extra emitter stats and gauges from the composition root
   */
  render(registry: NodeRegistry, liveClients: number, extra: ExtraMetrics = {}): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    // One family per quantity, in its base unit (harvester_temperature_celsius{node,sensor}).
    const quantities = new Map<string, { help: string; lines: string[] }>();
    for (const r of registry.readings()) {
      for (const [field, value] of Object.entries(r.values)) {
        const m = readingMetric(field, r.units[field], value);
        if (!m) continue;
        const unit = r.units[field] ? ` (converted from ${r.units[field]})` : "";
        const q = quantities.get(m.name) ?? { help: `Latest ${field} reading${unit}.`, lines: [] };
        q.lines.push(`${m.name}${labels({ node: r.node, sensor: r.sensor })} ${m.value}`);
        quantities.set(m.name, q);
      }
    }
    for (const [name, q] of quantities) {
      family(name, "gauge", q.help);
      out.push(...q.lines);
    }
    const plugins = registry.plugins();
    family("harvester_plugin_restarts_total", "counter", "Restarts of each plugin sandbox.");
    for (const p of plugins) {
      out.push(`harvester_plugin_restarts_total${labels({ node: p.node, plugin: p.id })} ${p.restarts}`);
    }
    family("harvester_plugin_status", "gauge", "1 for the current run status of each plugin.");
    for (const p of plugins) {
      out.push(`harvester_plugin_status${labels({ node: p.node, plugin: p.id, status: p.status })} 1`);
    }
    family("harvester_scheduler_energy", "gauge", "Scheduler energy (0..1) of each plugin.");
    for (const p of plugins) {
      if (p.scheduler) {
        out.push(`harvester_scheduler_energy${labels({ node: p.node, plugin: p.id })} ${p.scheduler.energy}`);
      }
    }
    family("harvester_scheduler_inbox_depth", "gauge", "Work items waiting in each plugin's inbox.");
    for (const p of plugins) {
      if (p.scheduler) {
        out.push(
          `harvester_scheduler_inbox_depth${
            labels({ node: p.node, plugin: p.id })
          } ${p.scheduler.inboxDepth}`,
        );
      }
    }
    family("harvester_scheduler_mood", "gauge", "1 for the current mood of each plugin.");
    for (const p of plugins) {
      if (p.scheduler) {
        out.push(
          `harvester_scheduler_mood${labels({ node: p.node, plugin: p.id, mood: p.scheduler.mood })} 1`,
        );
      }
    }
    family("harvester_scheduler_drops_total", "counter", "Work dropped from full inboxes.");
    for (const p of plugins) {
      if (p.scheduler) {
        out.push(
          `harvester_scheduler_drops_total${labels({ node: p.node, plugin: p.id })} ${p.scheduler.drops}`,
        );
      }
    }
    family("harvester_node_up", "gauge", "1 when the node is online, 0 when stale or offline.");
    for (const n of registry.list()) {
      out.push(`harvester_node_up${labels({ node: n.id })} ${n.status === "online" ? 1 : 0}`);
    }
    family("harvester_node_status", "gauge", "1 for the node's current status (online, stale, offline).");
    for (const n of registry.list()) {
      for (const status of ["online", "stale", "offline"]) {
        out.push(`harvester_node_status${labels({ node: n.id, status })} ${n.status === status ? 1 : 0}`);
      }
    }
    family("harvester_live_clients", "gauge", "Connected live-feed (socket.io) clients.");
    out.push(`harvester_live_clients ${liveClients}`);
    if (extra.emitter) {
      const e = extra.emitter;
      family("harvester_events_emitted_total", "counter", "Events emitted.");
      out.push(`harvester_events_emitted_total ${e.emitted}`);
      family("harvester_events_written_total", "counter", "Events written to the store.");
      out.push(`harvester_events_written_total ${e.written}`);
      family(
        "harvester_events_dropped_total",
        "counter",
        "Events lost to buffer overflow while the store was away.",
      );
      out.push(`harvester_events_dropped_total ${e.dropped}`);
      family("harvester_events_buffered", "gauge", "Events waiting for the store.");
      out.push(`harvester_events_buffered ${e.buffered}`);
    }
    for (const [name, c] of this.#counters) {
      family(name, "counter", c.help);
      for (const v of c.values.values()) out.push(`${name}${labels(v.labels)} ${v.value}`);
    }
    const byName = new Map<string, GaugeSample[]>();
    for (const g of extra.gauges ?? []) {
      const n = safeName(g.name);
      byName.set(n, [...(byName.get(n) ?? []), g]);
    }
    for (const [name, samples] of byName) {
      family(name, "gauge", samples[0].help ?? name);
      for (const g of samples) out.push(`${name}${labels(g.labels ?? {})} ${g.value}`);
    }
    family(
      "harvester_http_request_duration_seconds",
      "histogram",
      "HTTP request duration by method, route and status.",
    );
    for (const { labels: l, h } of this.#http.values()) {
      BUCKETS.forEach((b, i) =>
        out.push(
          `harvester_http_request_duration_seconds_bucket${labels({ ...l, le: String(b) })} ${h.counts[i]}`,
        )
      );
      out.push(`harvester_http_request_duration_seconds_bucket${labels({ ...l, le: "+Inf" })} ${h.count}`);
      out.push(`harvester_http_request_duration_seconds_sum${labels(l)} ${h.sum}`);
      out.push(`harvester_http_request_duration_seconds_count${labels(l)} ${h.count}`);
    }
    return out.join("\n") + "\n";
  }
}
