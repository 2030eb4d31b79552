/** Folder-private: zod helpers shared by the config and permissions schemas, and one-line error formatting. @module */
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { unknownKeyMessage } from "./_hint.ts";

/** A plain TOML table. */
export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * A strict TOML table: unknown keys fail with a "did you mean" hint, a missing table takes
 * every default.
 */
export function table<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape);
  return z.preprocess((value, ctx) => {
    if (value === undefined) return {};
    if (isTable(value)) {
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) {
          ctx.addIssue({ code: "custom", message: unknownKeyMessage(key, known), path: [key], input: value });
        }
      }
    }
    return value;
  }, z.object(shape, { error: "must be a table" }));
}

/** A number with an inclusive range, one message for every way it can be wrong. */
export function num(opts: { min?: number; max?: number; int?: boolean } = {}) {
  const kind = opts.int ? "an integer" : "a number";
  const range = opts.min !== undefined && opts.max !== undefined
    ? ` ${opts.min}..${opts.max}`
    : opts.min !== undefined
    ? ` ≥ ${opts.min}`
    : opts.max !== undefined
    ? ` ≤ ${opts.max}`
    : "";
  const error = `must be ${kind}${range}`;
  let s = z.number({ error });
  if (opts.int) s = s.int({ error });
  if (opts.min !== undefined) s = s.min(opts.min, { error });
  if (opts.max !== undefined) s = s.max(opts.max, { error });
  return s;
}

/** A boolean. */
export function bool() {
  return z.boolean({ error: "must be true or false" });
}

/** Longest string any key takes: paths, URLs, tokens and names all fit; a megabyte does not. */
export const MAX_STRING = 4096;

/** A string, non-empty unless `allowEmpty`, at most {@link MAX_STRING} characters. */
export function str(allowEmpty = false) {
  const s = z.string({ error: "must be a string" }).max(MAX_STRING, {
    error: (i) => `must be at most ${MAX_STRING} characters, got ${String(i.input).length}`,
  });
  return allowEmpty ? s : s.min(1, { error: "must be a non-empty string" });
}

/** The longest delay a timer can hold (2^31 − 1 ms, 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;
/** {@link MAX_TIMER_MS} in whole seconds. */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** A host name or IP address to listen on (`0.0.0.0`, `::`, `127.0.0.1`, `pi.local`). */
export function listenHost() {
  const error = 'must be an IP address or host name (e.g. "127.0.0.1", "0.0.0.0", "::")';
  return z.string({ error }).max(253, { error }).check((ctx) => {
    const v = ctx.value;
    const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(v);
    const ipv6 = v.includes(":") && /^[0-9a-fA-F:.]+$/.test(v) && !/:::/.test(v);
    const name =
      /^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/
        .test(v) && !/^[\d.]+$/.test(v);
    if (!ipv4 && !ipv6 && !name) {
      ctx.issues.push({ code: "custom", message: `${error}, got ${showValue(v)}`, input: v });
    }
  });
}

/** One of a few strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.map((v) => `"${v}"`).join(", ")}` });
}

/** A list of items. */
export function list<T extends z.ZodType>(item: T) {
  return z.array(item, { error: "must be a list" });
}

/** Lowercase letters, digits and "-", starting with a letter or digit (a DNS label). */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Plugin ids: the SDK's one grammar (manifest, config, permissions, tokens). */
export { PLUGIN_ID, PLUGIN_ID_RULE } from "../plugins/sdk/mod.ts";

/**
 * A table whose keys are checked against a pattern (plugin ids, node ids) and whose values
 * all follow `value`. A missing table is empty.
 */
export function keyedTable<T extends z.ZodType>(pattern: RegExp, what: string, value: T, rule = SLUG_RULE) {
  return z.preprocess((input, ctx) => {
    if (input === undefined) return {};
    if (isTable(input)) {
      for (const key of Object.keys(input)) {
        if (!pattern.test(key)) {
          ctx.addIssue({
            code: "custom",
            message: `invalid ${what} "${key}" (${rule})`,
            path: [key],
            input,
          });
        }
      }
    }
    return input;
  }, z.record(z.string(), value, { error: "must be a table" }));
}

const SLUG_RULE = 'lowercase letters, digits and "-"';

/** A node id: a slug. */
export function slug() {
  const error = 'must be a slug of lowercase letters, digits and "-" (e.g. "pi-kitchen")';
  return z.string({ error }).regex(SLUG, { error });
}

/** A 7-bit I2C address as datasheets write it. */
export function i2cAddress() {
  return z.number({ error: "must be an I2C address 0x03..0x77" }).check((ctx) => {
    const v = ctx.value;
    if (!Number.isInteger(v) || v < 0x03 || v > 0x77) {
      const shown = Number.isInteger(v) && v >= 0 ? `${v} (0x${v.toString(16)})` : String(v);
      ctx.issues.push({
        code: "custom",
        message: `must be an I2C address 0x03..0x77, got ${shown}`,
        input: v,
      });
    }
  });
}

/** Render an offending value for a message: strings quoted, tables and lists as short JSON. */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof Date) return value.toISOString();
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function at(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** `polling.interval_seconds` / `hal.i2c_buses[1]` */
export function keyPath(path: readonly PropertyKey[]): string {
  return path.map((seg, i) =>
    typeof seg === "number"
      ? `[${seg}]`
      : `${i ? "." : ""}${/^[A-Za-z0-9_-]+$/.test(String(seg)) ? String(seg) : JSON.stringify(String(seg))}`
  ).join("");
}

/**
 * Parse `data` with `schema`, or throw a {@link ConfigError} whose message is one line:
 * `<file>: <key path>: <problem>, got <value>`.
 */
export function validate<T extends z.ZodType>(schema: T, data: unknown, file: string): z.output<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = keyPath(issue.path);
  const problem = issue.code === "custom" || issue.message.includes(", got ")
    ? issue.message
    : `${issue.message}, got ${showValue(at(data, issue.path))}`;
  throw new ConfigError(`${file}: ${path ? `${path}: ` : ""}${problem}`, { file, keyPath: path });
}
