/**
 * The boundary every plugin reading crosses into the broker: a plugin publishes only under its
 * own namespace, values are flat primitives of bounded size, timestamps are clamped to the
 * broker's clock, and the host keeps a fresh copy (never the plugin's object or a slice of a
 * larger string). A reading that breaks a rule is refused with an error naming the field.
 *
 * @module
 */
import type { Reading, ReadingValue } from "../../plugins/sdk/mod.ts";
import { PluginError } from "./errors.ts";

/** Bounds of what one plugin can make the broker hold. */
export interface ReadingLimits {
  /** Readings in one poll result. */
  perPoll: number;
  /** Distinct sensor ids one plugin may publish (until it is reloaded). */
  sensorsPerPlugin: number;
  /** Keys in `values` (and in `units`). */
  valuesPerReading: number;
  /** Characters of a string value. */
  stringChars: number;
  /** Characters of a key or a unit. */
  keyChars: number;
  /** JSON bytes of one reading. */
  readingBytes: number;
  /** How far a plugin timestamp may lie in the future (ms). */
  futureSkewMs: number;
  /** How far a plugin timestamp may lie in the past (ms). */
  pastSkewMs: number;
}

/** Defaults: an order of magnitude above what the first-party plugins send. */
export const DEFAULT_READING_LIMITS: ReadingLimits = {
  perPoll: 32,
  sensorsPerPlugin: 32,
  valuesPerReading: 32,
  stringChars: 256,
  keyChars: 64,
  readingBytes: 4096,
  futureSkewMs: 2000,
  pastSkewMs: 10_000,
};

/**
 * Sensor ids reserved for a first-party plugin whether or not it is installed: the node's
 * identity comes from `anima`, and `system-monitor` publishes `system`.
 */
export const SENSOR_ALIASES: Readonly<Record<string, readonly string[]>> = {
  anima: ["anima"],
  bme680: ["bme680"],
  dht22: ["dht22"],
  oled: ["oled"],
  "system-monitor": ["system", "system-monitor"],
};

/** A sensor id: letters, digits, `_`, `-` and `.`, at most 64 characters. */
export const SENSOR_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The plugin a sensor id belongs to: an alias's owner, the plugin of that exact id, or the
 * plugin with the longest id `p` such that the sensor is `p-…` or `p.…`.
 *
 * @param sensor local sensor id
 * @param plugins ids of every known plugin
 * @returns the owning plugin id, or undefined when none owns it
 * @example
 * ```ts
 * import { sensorOwner } from "./readings.ts";
 * console.assert(sensorOwner("bme680-i2c", ["bme680", "anima"]) === "bme680");
 * console.assert(sensorOwner("system", ["evil"]) === "system-monitor");
 * ```
 */
export function sensorOwner(sensor: string, plugins: Iterable<string>): string | undefined {
  for (const [owner, aliases] of Object.entries(SENSOR_ALIASES)) if (aliases.includes(sensor)) return owner;
  let best: string | undefined;
  for (const p of plugins) {
    if (sensor === p) return p;
    if ((sensor.startsWith(p + "-") || sensor.startsWith(p + ".")) && (!best || p.length > best.length)) {
      best = p;
    }
  }
  return best;
}

/** Validation context of one poll. */
export interface ReadingCheck {
  plugin: string;
  /** Every known plugin id (for namespaces). */
  plugins: Iterable<string>;
  /** Sensor ids this plugin has published so far; new ones are added. */
  sensors: Set<string>;
  /** Broker wall clock (epoch ms). */
  now: number;
  limits?: Partial<ReadingLimits>;
}

/**
 * Check one poll result and return fresh copies of its readings, timestamps clamped.
 *
 * @param value what `poll()` returned (already a JSON value)
 * @param c the plugin, the namespaces and the limits
 * @returns validated readings, each with a timestamp
 * @throws {PluginError} naming the reading and the field that breaks a rule
 */
export function checkReadings(value: unknown, c: ReadingCheck): Reading[] {
  const L = { ...DEFAULT_READING_LIMITS, ...c.limits };
  const id = c.plugin;
  const refuse = (what: string) => new PluginError(id, `Cannot poll plugin "${id}": ${what}`);
  if (!Array.isArray(value)) throw refuse("poll() returned no array");
  if (value.length > L.perPoll) {
    throw refuse(`poll() returned ${value.length} readings, more than ${L.perPoll}`);
  }
  const plugins = [...c.plugins];
  const fresh = new Set<string>();
  const out: Reading[] = [];
  value.forEach((r: unknown, i: number) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw refuse(`reading ${i} is not an object`);
    }
    const rec = r as Record<string, unknown>;
    if (typeof rec.sensor !== "string" || rec.sensor === "") {
      throw refuse(`reading ${i} has no "sensor" string`);
    }
    if (!SENSOR_ID.test(rec.sensor)) {
      throw refuse(
        `reading ${i}: sensor: must be 1..64 letters, digits, "_", "-" or ".", got ${quote(rec.sensor, 40)}`,
      );
    }
    const sensor = copy(rec.sensor);
    const at = `reading ${i} ("${sensor}")`;
    const owner = sensorOwner(sensor, plugins.includes(id) ? plugins : [...plugins, id]);
    if (owner !== id) {
      throw refuse(
        `${at}: sensor: belongs to ${
          owner ? `plugin "${owner}"` : "no plugin"
        }; a plugin publishes only "${id}", "${id}-…" or "${id}.…"`,
      );
    }
    const values = flatRecord(rec.values, `${at}: values`, L, false, refuse);
    const units = rec.units === undefined
      ? undefined
      : flatRecord(rec.units, `${at}: units`, L, true, refuse) as Record<string, string>;
    let ts = c.now;
    if (rec.timestamp !== undefined) {
      if (typeof rec.timestamp !== "number" || !Number.isFinite(rec.timestamp)) {
        throw refuse(`${at}: timestamp: must be epoch milliseconds, got ${quote(rec.timestamp, 40)}`);
      }
      ts = Math.min(c.now + L.futureSkewMs, Math.max(c.now - L.pastSkewMs, Math.round(rec.timestamp)));
    }
    const reading: Reading = { sensor, values, ...(units ? { units } : {}), timestamp: ts };
    const bytes = JSON.stringify(reading).length;
    if (bytes > L.readingBytes) throw refuse(`${at}: is ${bytes} bytes as JSON, more than ${L.readingBytes}`);
    if (!c.sensors.has(sensor)) fresh.add(sensor);
    out.push(reading);
  });
  if (c.sensors.size + fresh.size > L.sensorsPerPlugin) {
    throw refuse(
      `sensor: would publish ${
        c.sensors.size + fresh.size
      } distinct sensors, more than ${L.sensorsPerPlugin}`,
    );
  }
  for (const s of fresh) c.sensors.add(s);
  return out;
}

function flatRecord(
  v: unknown,
  at: string,
  L: ReadingLimits,
  stringsOnly: boolean,
  refuse: (what: string) => Error,
): Record<string, ReadingValue> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw refuse(`${at}: must be an object`);
  const keys = Object.keys(v);
  if (keys.length > L.valuesPerReading) {
    throw refuse(`${at}: has ${keys.length} keys, more than ${L.valuesPerReading}`);
  }
  const out: Record<string, ReadingValue> = Object.create(null);
  for (const k of keys) {
    if (k.length === 0 || k.length > L.keyChars || k === "__proto__") {
      throw refuse(`${at}: key ${quote(k, 40)} must be 1..${L.keyChars} characters`);
    }
    const x = (v as Record<string, unknown>)[k];
    const field = `${at}.${k.length > 40 ? k.slice(0, 40) + "…" : k}`;
    if (typeof x === "string") {
      const max = stringsOnly ? L.keyChars : L.stringChars;
      if (x.length > max) throw refuse(`${field}: string of ${x.length} characters, more than ${max}`);
      out[copy(k)] = copy(x);
    } else if (stringsOnly) {
      throw refuse(`${field}: must be a string, got ${typeName(x)}`);
    } else if (x === null || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x))) {
      out[copy(k)] = x as ReadingValue;
    } else {
      throw refuse(`${field}: must be a number, string, boolean or null, got ${typeName(x)}`);
    }
  }
  return { ...out };
}

/** A string the host owns (not a view into a larger one from the plugin's message). */
function copy(s: string): string {
  return (" " + s).slice(1);
}

function typeName(x: unknown): string {
  return Array.isArray(x) ? "an array" : x === null ? "null" : typeof x === "object" ? "an object" : typeof x;
}

function quote(x: unknown, max: number): string {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > max ? s.slice(0, max) + "…" : s;
}
