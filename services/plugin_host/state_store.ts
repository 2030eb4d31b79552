/**
 * The `state` capability's store: one small JSON key/value file per plugin,
 * `<stateDir>/<plugin>.json`, written atomically (temp file + rename) and bounded in size.
 *
 * @module
 */
import { join } from "node:path";

/** Largest serialised store per plugin. */
export const MAX_STATE_BYTES = 256 * 1024;

/**
 * A plugin's persisted key/value store.
 *
 * @example
 * ```ts ignore
 * const s = new StateStore("/var/lib/harvester/state", "bme680");
 * await s.load();
 * s.set("baseline", 51234);
 * await s.flush();
 * ```
 */
export class StateStore {
  readonly plugin: string;
  readonly path: string;
  #data: Record<string, unknown> = {};
  #dirty = false;

  /**
   * @param dir state folder
   * @param plugin plugin id (the file name)
   */
  constructor(dir: string, plugin: string) {
    this.plugin = plugin;
    this.path = join(dir, `${plugin}.json`);
  }

  /** Restore from disk; a missing file is an empty store, a corrupt one too (and says so). */
  async load(): Promise<{ restored: number; error?: string }> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { restored: 0 };
      throw e;
    }
    try {
      const data = JSON.parse(text);
      if (typeof data !== "object" || data === null || Array.isArray(data)) {
        throw new TypeError("not an object");
      }
      this.#data = data;
      return { restored: Object.keys(data).length };
    } catch (e) {
      this.#data = {};
      return {
        restored: 0,
        error: `Cannot restore state of plugin "${this.plugin}": ${this.path} is not a JSON object (${
          (e as Error).message
        })`,
      };
    }
  }

  /** The value under `key`, or undefined. */
  get(key: string): unknown {
    return Object.hasOwn(this.#data, key) ? this.#data[key] : undefined;
  }

  /**
   * Store a JSON value (undefined deletes the key).
   *
   * @throws {TypeError} when the value is not JSON-serialisable
   * @throws {RangeError} when the store would grow past {@link MAX_STATE_BYTES}
   */
  set(key: string, value: unknown): void {
    const next = { ...this.#data };
    if (value === undefined) delete next[key];
    else next[key] = JSON.parse(JSON.stringify(value));
    const size = JSON.stringify(next).length;
    if (size > MAX_STATE_BYTES) {
      throw new RangeError(
        `Cannot store state key "${key}" for plugin "${this.plugin}": the store would be ${size} bytes, over ${MAX_STATE_BYTES}`,
      );
    }
    this.#data = next;
    this.#dirty = true;
  }

  /** Whether there are changes not yet on disk. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Write to disk if changed: temp file in the same folder, then rename over the old file. */
  async flush(): Promise<boolean> {
    if (!this.#dirty) return false;
    const tmp = `${this.path}.${crypto.randomUUID()}.tmp`;
    // Cleared first: a set() during the write marks the store dirty again.
    this.#dirty = false;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(this.#data));
      await Deno.rename(tmp, this.path);
    } catch (e) {
      this.#dirty = true;
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    return true;
  }
}
