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
import { closest } from "./_hint.ts";

/** Where to look and what overrides apply. */
export interface LoadConfigOptions {
  /** `--config PATH` from the command line ({@link parseCli}). */
  configPath?: string;
  /** `--port N` from the command line, as typed. */
  port?: string;
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
 * const { config, source } = await loadConfig({ configPath: "config/host.toml" });
 * console.log(`config from ${source}, hub on port ${config.hub.port}`);
 * ```
 * @throws {ConfigError} one line naming file, key and problem (or argument / variable)
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const args = { config: options.configPath, port: options.port };
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

/**
 * Refuse `[plugins.<id>]` tables for plugins that do not exist, with a did-you-mean hint:
 * `config/host.toml: plugins.anmia: no plugin 'anmia' under plugins/ (did you mean 'anima'?)`.
 *
 * @param config the loaded configuration
 * @param source the file it came from, as named in messages
 * @param available plugin ids found in the plugin tree
 * @param where how the plugin tree is named in the message (`plugins/`)
 * @throws {ConfigError} naming the first unknown id
 */
export function checkPluginIds(
  config: Config,
  source: string,
  available: readonly string[],
  where = "plugins/",
): void {
  for (const id of Object.keys(config.plugins)) {
    if (available.includes(id)) continue;
    const near = closest(id, available);
    throw new ConfigError(
      `${source}: plugins.${id}: no plugin '${id}' under ${where}${near ? ` (did you mean '${near}'?)` : ""}`,
      { file: source, keyPath: `plugins.${id}` },
    );
  }
}
