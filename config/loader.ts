/**
 * Find, read and validate the configuration: `--config PATH`, `config/host.toml`,
 * `../config/host.toml`, then built-in defaults; `PORT`/`REDIS_URL` and `--port` on top.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { type Config, defaultConfig, hubSchema, parseConfig, shmSchema } from "./schema.ts";
import { readToml } from "./_toml.ts";
import { showValue } from "./_validate.ts";

/** Where to look and what overrides apply. */
export interface LoadConfigOptions {
  /** Command-line arguments (`--config PATH`, `--port N`); default none. */
  args?: string[];
  /** Directory the search starts from; default `Deno.cwd()`. */
  cwd?: string;
  /** Environment (`PORT`, `REDIS_URL`); default `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
}

/** A loaded configuration and where it came from. */
export interface LoadedConfig {
  config: Config;
  /** The file used, as named in messages (`config/host.toml`), or `built-in defaults`. */
  source: string;
}

/** Files tried, in order, after `--config`. */
export const SEARCH_PATHS: readonly string[] = ["config/host.toml", "../config/host.toml"];

/**
 * Load the configuration.
 *
 * @example
 * ```ts ignore
 * const { config, source } = await loadConfig({ args: Deno.args });
 * console.log(`config from ${source}, hub on port ${config.hub.port}`);
 * ```
 * @throws {ConfigError} one line naming file, key and problem (or argument / variable)
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const args = parseArgs(options.args ?? []);
  const cwd = options.cwd ?? Deno.cwd();
  const env = options.env ?? Deno.env.toObject();
  const { config, source } = await find(args.config, cwd);
  const port = args.port ?? nonEmpty(env.PORT);
  if (port !== undefined) {
    const name = args.port !== undefined ? "--port" : "PORT";
    config.hub.port = override(hubSchema, "port", portNumber(port), name, port);
  }
  const redisUrl = nonEmpty(env.REDIS_URL);
  if (redisUrl !== undefined) {
    config.shm.redis_url = override(shmSchema, "redis_url", redisUrl, "REDIS_URL", redisUrl);
  }
  return { config, source };
}

async function find(explicit: string | undefined, cwd: string): Promise<LoadedConfig> {
  if (explicit !== undefined) {
    if (!await exists(resolve(cwd, explicit))) {
      throw new ConfigError(`Cannot load configuration ${explicit} (from --config): file not found`, {
        file: explicit,
      });
    }
    return {
      config: parseConfig(await readToml(resolve(cwd, explicit), explicit), explicit),
      source: explicit,
    };
  }
  for (const candidate of SEARCH_PATHS) {
    const path = resolve(cwd, candidate);
    if (await exists(path)) {
      return { config: parseConfig(await readToml(path, candidate), candidate), source: candidate };
    }
  }
  return { config: defaultConfig(), source: "built-in defaults" };
}

function parseArgs(args: string[]): { config?: string; port?: string } {
  const out: { config?: string; port?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--(config|port)(?:=(.*))?$/.exec(args[i]);
    if (!m) continue;
    const value = m[2] ?? args[++i];
    if (value === undefined || value === "" || (m[2] === undefined && value.startsWith("--"))) {
      throw new ConfigError(`--${m[1]}: missing value`, { file: "command line" });
    }
    out[m[1] as "config" | "port"] = value;
  }
  return out;
}

/** Validate one overridden key with the section's own schema, naming the variable or flag in errors. */
function override<K extends string>(
  section: {
    safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { message: string }[] } };
  },
  key: K,
  value: unknown,
  name: string,
  raw: string,
) {
  const result = section.safeParse({ [key]: value });
  if (!result.success) {
    const message = result.error!.issues[0].message;
    throw new ConfigError(`${name}: ${message}, got ${showValue(raw)}`, { file: name, keyPath: key });
  }
  return (result.data as Record<K, never>)[key];
}

function portNumber(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function resolve(cwd: string, path: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
