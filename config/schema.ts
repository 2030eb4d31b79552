/**
 * The whole `host.toml`, as a zod schema: every section, every default, strict keys.
 * Parse with {@link parseConfig} to get one-line errors naming file, key and problem.
 *
 * @module
 */
import { z } from "zod";
import {
  bool,
  i2cAddress,
  keyedTable,
  list,
  num,
  oneOf,
  PLUGIN_ID,
  PLUGIN_ID_RULE,
  SLUG,
  slug,
  str,
  table,
  validate,
} from "./_validate.ts";

/** `[polling]`: the broker's base cycle. */
export const pollingSchema = table({
  interval_seconds: num({ min: 0.1 }).default(2),
});

/** `[hal]`: which backend and which device nodes. */
export const halSchema = table({
  backend: oneOf(["linux", "sim"]).default("sim"),
  i2c_buses: list(num({ min: 0, max: 255, int: true })).default([1]),
  gpio_chip: num({ min: 0, max: 255, int: true }).default(0),
  /** Use `I2C_SLAVE_FORCE` (talk to an address a kernel driver has claimed). */
  i2c_force: bool().default(false),
  spi_bus: num({ min: 0, max: 255, int: true }).default(0),
  uart_path: str().default("/dev/serial0"),
  /** Read the DHT22 through the kernel's `dht11` IIO driver at this sysfs path instead of bit timing. */
  dht22_iio_path: str().optional(),
});

/** `[leds]`: the WS2812B strip. */
export const ledsSchema = table({
  count: num({ min: 0, max: 1024, int: true }).default(11),
  pin: num({ min: 0, max: 255, int: true }).default(18),
  brightness: num({ min: 0, max: 1 }).default(0.3),
});

/** `[buzzer]`: the relay-driven buzzer. */
export const buzzerSchema = table({
  pin: num({ min: 0, max: 255, int: true }).default(17),
  active_low: bool().default(true),
  /** Shortest gap between two patterns (rate limit). */
  min_interval_ms: num({ min: 0, int: true }).default(1000),
});

/** `[logging]`. */
export const loggingSchema = table({
  level: oneOf(["debug", "info", "warn", "error"]).default("info"),
  show_sensor_data: bool().default(false),
});

/** `[cluster]`: standalone, or hub and spokes. */
export const clusterSchema = table({
  role: oneOf(["hub", "spoke", "standalone"]).default("standalone"),
  node_id: slug().default("local"),
  /** Spoke: where to push (`http://hub:3000` or its `/push` URL). Empty means none. */
  hub_url: z.union([z.literal(""), z.url({ protocol: /^https?$/, error: "must be an http(s) URL" })], {
    error: "must be an http(s) URL",
  }).optional(),
  /** Spoke: the bearer token it presents to the hub. */
  token: str().optional(),
  /** Hub: node id → the token that spoke must present. */
  spoke_tokens: keyedTable(SLUG, "node id", str()),
  push_interval_seconds: num({ min: 0.1 }).default(5),
  /** Spoke: pushes kept while the hub is away, oldest dropped first. */
  buffer_max: num({ min: 1, int: true }).default(1000),
}).check((ctx) => {
  const c = ctx.value;
  if (c.role !== "spoke") return;
  if (!c.hub_url) {
    ctx.issues.push({
      code: "custom",
      message: 'required when cluster.role is "spoke" (e.g. hub_url = "http://hub.local:3000")',
      path: ["hub_url"],
      input: c.hub_url,
    });
  } else if (!c.token) {
    ctx.issues.push({
      code: "custom",
      message: 'required when cluster.role is "spoke" (the hub\'s cluster.spoke_tokens entry for this node)',
      path: ["token"],
      input: c.token,
    });
  }
});

/** `[shm]`: where the latest snapshot lives. */
export const shmSchema = table({
  backend: oneOf(["auto", "redis", "file", "memory"]).default("auto"),
  redis_url: z.string({ error: "must be a redis:// or rediss:// URL" })
    .regex(/^rediss?:\/\/\S+$/, { error: "must be a redis:// or rediss:// URL" }).optional(),
  file_dir: str().default("/dev/shm"),
  key_prefix: str().default("harvester"),
});

/** `[events]`: the Redis stream and the buffers in front of it. */
export const eventsSchema = table({
  stream_maxlen: num({ min: 1, int: true }).default(10000),
  /** Events held while Redis is down; overflow is counted. */
  buffer_max: num({ min: 1, int: true }).default(10000),
  /** Events per pipelined write. */
  batch_max: num({ min: 1, int: true }).default(100),
});

/** `[hub]`: the HTTP API, live feed and dashboard. */
export const hubSchema = table({
  /** 0 picks a free port (tests). */
  port: num({ min: 0, max: 65535, int: true }).default(3000),
  /** Loopback by default; another address needs a user or token (the hub refuses to start otherwise). */
  host: str().default("127.0.0.1"),
  cors_origins: list(str()).default([]),
  body_limit_bytes: num({ min: 1, int: true }).default(1_048_576),
  /** Bearer token with scopes read + act (scripts); prefer `main.ts token create`. */
  token: str().optional(),
  // --- access (services/hub/auth)
  /** Readings (`/`, `/api/readings`, `/api/nodes`, reading events) without a login. */
  public_read: bool().default(false),
  /** Host names besides localhost and this machine's names/addresses (DNS-rebinding allowlist); "*" = off. */
  allowed_hosts: list(str()).default([]),
  /** PEM files: serve HTTPS (session cookies become `Secure`). */
  tls_cert: str().optional(),
  tls_key: str().optional(),
  /** Bearer token accepted for `/metrics` only (Prometheus `bearer_token`). */
  metrics_token: str().optional(),
  session_hours: num({ min: 0.01, max: 24 * 30 }).default(12),
  header_timeout_ms: num({ min: 100, int: true }).default(10_000),
  request_timeout_ms: num({ min: 100, int: true }).default(60_000),
  idle_timeout_ms: num({ min: 100, int: true }).default(30_000),
  max_connections_per_client: num({ min: 1, int: true }).default(32),
}).check((ctx) => {
  if (!ctx.value.tls_cert !== !ctx.value.tls_key) {
    const key = ctx.value.tls_cert ? "tls_key" : "tls_cert";
    ctx.issues.push({
      code: "custom",
      message: "required when the other of tls_cert/tls_key is set",
      path: [key],
      input: undefined,
    });
  }
});

/** `[scheduler]`: thermal back-pressure and budgets. */
export const schedulerSchema = table({
  hot_celsius: num({ min: 0, max: 120 }).default(75),
  soft_celsius: num({ min: 0, max: 120 }).default(60),
  cycle_budget_ms: num({ min: 1, int: true }).default(1000),
  inbox_max: num({ min: 1, int: true }).default(32),
}).check((ctx) => {
  if (ctx.value.soft_celsius >= ctx.value.hot_celsius) {
    ctx.issues.push({
      code: "custom",
      message:
        `must be below scheduler.hot_celsius (${ctx.value.hot_celsius}), got ${ctx.value.soft_celsius}`,
      path: ["soft_celsius"],
      input: ctx.value.soft_celsius,
    });
  }
});

/** `[sensors]`: where the first-party sensors are wired. */
export const sensorsSchema = table({
  dht22_pin: num({ min: 0, max: 255, int: true }).default(4),
  bme680_address: i2cAddress().default(0x77),
  oled_address: i2cAddress().default(0x3c),
});

/** `[plugins.<id>]`: scheduling and sandbox knobs; plugin-specific keys go in `[plugins.<id>.settings]`. */
export const pluginSchema = table({
  enabled: bool().default(true),
  /** Overrides the manifest's cadence. */
  cadence_seconds: num({ min: 0.1 }).optional(),
  /** Overrides the manifest's priority; above 0.8 is never deferred. */
  priority: num({ min: 0, max: 1 }).optional(),
  isolation: oneOf(["shared", "process"]).default("shared"),
  deadline_ms: num({ min: 1, int: true }).optional(),
  memory_mb: num({ min: 8, int: true }).optional(),
  settings: z.record(z.string(), z.unknown(), { error: "must be a table" }).default({}),
});

/** `[plugins]`: one table per plugin id. */
export const pluginsSchema = keyedTable(PLUGIN_ID, "plugin id", pluginSchema, PLUGIN_ID_RULE);

/** `[state]`: where plugin state is persisted. */
export const stateSchema = table({
  dir: str().default("state"),
});

/** The whole configuration file. */
export const configSchema = table({
  polling: pollingSchema,
  hal: halSchema,
  leds: ledsSchema,
  buzzer: buzzerSchema,
  logging: loggingSchema,
  cluster: clusterSchema,
  shm: shmSchema,
  events: eventsSchema,
  hub: hubSchema,
  scheduler: schedulerSchema,
  sensors: sensorsSchema,
  plugins: pluginsSchema,
  state: stateSchema,
});

/** The validated configuration, defaults filled in. */
export type Config = z.output<typeof configSchema>;
/** One `[plugins.<id>]` table after validation. */
export type PluginConfig = z.output<typeof pluginSchema>;

/**
 * Validate a parsed TOML document.
 *
 * @param data the parsed TOML (a plain object)
 * @param file the name to put in error messages
 * @returns the configuration with defaults
 * @throws {ConfigError} naming file, key path and problem on one line
 */
export function parseConfig(data: unknown, file: string): Config {
  return validate(configSchema, data, file);
}

/**
 * The built-in defaults: simulated hardware, standalone, no plugins configured.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./schema.ts";
 * console.assert(defaultConfig().hub.port === 3000);
 * ```
 */
export function defaultConfig(): Config {
  return parseConfig({}, "built-in defaults");
}

/**
 * The `[plugins.<id>]` table for `id`, or the defaults (enabled, shared isolation) when absent.
 *
 * @example
 * ```ts
 * import { defaultConfig, pluginConfig } from "./schema.ts";
 * console.assert(pluginConfig(defaultConfig(), "bme680").enabled);
 * ```
 */
export function pluginConfig(config: Config, id: string): PluginConfig {
  return Object.hasOwn(config.plugins, id)
    ? config.plugins[id]
    : validate(pluginSchema, {}, "built-in defaults");
}
