/**
 * Storage faults spoken: a failing write (snapshot, plugin state) is logged once per episode with
 * its path and cause, raises a `storage.error` event and marks the component degraded in
 * {@link Health}; the first success after it logs once more, raises `storage.recovered` and clears
 * it. {@link probeWritable} checks a directory at start so start-up can refuse naming the key.
 *
 * @module
 */
import type { EventSink } from "../events/mod.ts";
import type { Health } from "./health.ts";

/** Options for {@link StorageFaults}. */
export interface StorageFaultsOptions {
  health: Health;
  emit: EventSink;
  /** One line per episode start and end (default `console.error`). */
  log?: (line: string) => void;
  /** Monotonic ms. Default `performance.now`. */
  clock?: () => number;
}

interface Episode {
  failures: number;
  started: number;
  last: number;
}

/** Tracks failing writes per component (`snapshot`, `plugin state`). */
export class StorageFaults {
  readonly #o: Required<StorageFaultsOptions>;
  readonly #episodes = new Map<string, Episode>();

  constructor(options: StorageFaultsOptions) {
    this.#o = { log: (l) => console.error(l), clock: () => performance.now(), ...options };
  }

  /** Whether `component` (or `key` within it) is in a failure episode. */
  failing(component: string, key = ""): boolean {
    return this.#episodes.has(`${component}\u0000${key}`);
  }

  /**
   * A write of `component` failed. The first failure of an episode is logged and evented;
   * repeats only count.
   *
   * @param message the error, worded `Cannot write … '<path>': <cause>`
   * @param key what failed within the component (a plugin id): each has its own episode
   */
  fail(component: string, message: string, key = ""): void {
    const now = this.#o.clock();
    const id = `${component}\u0000${key}`;
    const ep = this.#episodes.get(id);
    if (ep) {
      ep.failures++;
      ep.last = now;
      this.#o.health.set(component, "degraded", `${message} (${ep.failures} failures)`, true);
      return;
    }
    this.#episodes.set(id, { failures: 1, started: now, last: now });
    this.#o.log(`storage: ${component}: ${message}`);
    this.#o.emit.emit("storage.error", { component, key: key || null, message, path: pathIn(message) });
    this.#o.health.set(component, "degraded", message, true);
  }

  /** A write of `component` (`key` within it) succeeded: ends its episode (logged once). */
  succeed(component: string, key = ""): void {
    const id = `${component}\u0000${key}`;
    const ep = this.#episodes.get(id);
    if (!ep) return;
    this.#episodes.delete(id);
    const ms = Math.round(this.#o.clock() - ep.started);
    const what = key ? `${component} (${key})` : component;
    this.#o.log(`storage: ${what}: writes work again after ${ep.failures} failures in ${ms} ms`);
    this.#o.emit.emit("storage.recovered", { component, key: key || null, failures: ep.failures, ms });
    const others = [...this.#episodes.keys()].some((k) => k.startsWith(`${component}\u0000`));
    if (!others) this.#o.health.set(component, "ok", null, true);
  }

  /**
   * An event sink in front of `inner` that recognizes the plugin host's persist failures
   * (`error` events from `plugin_host`, "Cannot persist state: …") as `plugin state` faults.
   */
  watchPluginState(inner: EventSink): EventSink {
    return {
      emit: (type: string, data: Record<string, unknown> = {}) => {
        inner.emit(type, data);
        const message = typeof data.message === "string" ? data.message : "";
        if (type === "error" && data.source === "plugin_host" && message.startsWith("Cannot persist state")) {
          const plugin = typeof data.plugin === "string" ? ` of plugin "${data.plugin}"` : "";
          this.fail(
            "plugin state",
            message.replace("Cannot persist state", `Cannot persist state${plugin}`),
            typeof data.plugin === "string" ? data.plugin : "",
          );
        }
      },
    } as EventSink;
  }
}

/** The first quoted or absolute path in `message`, for the event. */
function pathIn(message: string): string | null {
  return message.match(/'(\/[^']+)'/)?.[1] ?? message.match(/(\/[^\s:'"),]+)/)?.[1] ?? null;
}

/**
 * Whether `dir` can take a file: creates it if needed, writes and removes a probe file.
 *
 * @returns null when writable, else the cause (e.g. `Read-only file system (os error 30)`)
 */
export async function probeWritable(dir: string): Promise<string | null> {
  const probe = `${dir}/.harvester-probe-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(probe, "probe");
    await Deno.remove(probe);
    return null;
  } catch (e) {
    await Deno.remove(probe).catch(() => {});
    return (e as Error).message ?? String(e);
  }
}
