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
  listenHost,
  MAX_TIMER_MS,
  MAX_TIMER_SECONDS,
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
  interval_seconds: num({ min: 0.1, max: MAX_TIMER_SECONDS }).default(2),
});

/** `[hal]`: which backend and which device nodes. */
export const halSchema = table({
  backend: oneOf(["linux", "sim"]).default("sim"),
  i2c_buses: list(num({ min: 0, max: 255, int: true })).min(1, {
    error: "must name at least one bus (e.g. [1] for /dev/i2c-1)",
  }).default([1]),
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
  min_interval_ms: num({ min: 0, max: MAX_TIMER_MS, int: true }).default(1000),
});

/** `[logging]`. */
export const loggingSchema = table({
  level: oneOf(["debug", "info", "warn", "error"]).default("info"),
  show_sensor_data: bool().default(false),
  /** `text` (one line per record) or `json` (one object per line); `<N>` priorities under journald. */
  format: oneOf(["text", "json"]).default("text"),
});

/** `[cluster]`: standalone, or hub and spokes. */
export const clusterSchema = table({
  role: oneOf(["hub", "spoke", "standalone"]).default("standalone"),
  /** Default: this machine's host name as a slug (`raspberrypi`), so two boards never share an id. */
  node_id: slug().default(() => hostNodeId()),
  /** Spoke: where to push (`http://hub:3000` or its `/push` URL). Empty means none. */
  hub_url: z.union([z.literal(""), z.url({ protocol: /^https?$/, error: "must be an http(s) URL" })], {
    error: "must be an http(s) URL",
  }).optional(),
  /** Spoke: the bearer token it presents to the hub. */
  token: str().optional(),
  /** Hub: node id → the token that spoke must present. */
  spoke_tokens: keyedTable(SLUG, "node id", str()),
  push_interval_seconds: num({ min: 0.1, max: MAX_TIMER_SECONDS }).default(5),
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
  redis_url: z.string({ error: "must be a redis://, rediss:// or redis+sentinel:// URL" })
    .regex(/^(rediss?|redis\+sentinel):\/\/\S+$/, {
      error: "must be a redis://, rediss:// or redis+sentinel:// URL",
    }).optional(),
  /** Sentinels (`host:port`) to ask for the master: brokers, hubs and events follow a failover. */
  sentinels: z.array(
    z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: "must be host:port" }),
  ).min(1, { error: "must name at least one sentinel" }).max(16, { error: "must name at most 16 sentinels" })
    .optional(),
  /** The master's name in the sentinels' `monitor` line. */
  master_name: str().optional(),
  /** Password of the master and replicas (Sentinel mode; a redis_url carries its own). */
  redis_password: str().optional(),
  /** Password of the sentinels themselves, when they have `requirepass`. */
  sentinel_password: str().optional(),
  /**
   * Where the file backend keeps `<node>.json`: a directory this service owns (never a world-writable
   * one such as `/dev/shm` itself). Default: `$RUNTIME_DIRECTORY` under systemd, else
   * `/dev/shm/harvester-<uid>`, else `/tmp/harvester-<uid>` where `/dev/shm` is missing.
   */
  file_dir: str().optional(),
  key_prefix: str().default("harvester"),
}).check((ctx) => {
  const c = ctx.value;
  if (c.sentinels && !c.master_name) {
    ctx.issues.push({
      code: "custom",
      message: 'required with shm.sentinels (the name in the sentinels\' "sentinel monitor <name> …" line)',
      path: ["master_name"],
      input: c.master_name,
    });
  }
  if (c.master_name && !c.sentinels) {
    ctx.issues.push({
      code: "custom",
      message: 'needs shm.sentinels (e.g. sentinels = ["10.0.0.5:26379", "10.0.0.6:26379"])',
      path: ["master_name"],
      input: c.master_name,
    });
  }
  if (c.sentinels && c.redis_url) {
    ctx.issues.push({
      code: "custom",
      message: "set either shm.redis_url or shm.sentinels, not both",
      path: ["sentinels"],
      input: c.sentinels,
    });
  }
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
  host: listenHost().default("127.0.0.1"),
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

/** `[mqtt]`: the MQTT bridge and Home Assistant discovery; off without a `url`. */
export const mqttSchema = table({
  url: z.string({ error: "must be an mqtt://, mqtts://, ws:// or wss:// URL" })
    .regex(/^(mqtts?|wss?):\/\/[^\s/]+\S*$/, { error: "must be an mqtt://, mqtts://, ws:// or wss:// URL" })
    .optional(),
  username: str().optional(),
  password: str().optional(),
  client_id: str().optional(),
  /** The hub API token the bridge acts with (needs `act`); without it, commands from MQTT are refused. */
  token: str().optional(),
  base_topic: z.string({ error: 'must be a topic without wildcards (e.g. "harvester")' })
    .regex(/^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$/, {
      error: 'must be a topic without wildcards (e.g. "harvester")',
    })
    .default("harvester"),
  qos: num({ min: 0, max: 2, int: true }).default(1),
  retain: bool().default(true),
  homeassistant: bool().default(false),
  discovery_prefix: str().default("homeassistant"),
  events: bool().default(false),
  commands: bool().default(true),
  buffer_max: num({ min: 1, max: 1_000_000, int: true }).default(1000),
});

/** `[history]`: the hub's embedded recorder (SQLite). */
export const historySchema = table({
  enabled: bool().default(true),
  path: str().optional(),
  raw_days: num({ min: 0.01, max: 3650 }).default(7),
  minute_days: num({ min: 0.01, max: 36500 }).default(90),
  hour_years: num({ min: 0.01, max: 100 }).default(5),
  max_mb: num({ min: 1, max: 1_000_000 }).default(200),
  max_series: num({ min: 1, max: 1_000_000, int: true }).default(10_000),
});

/** `[sandbox]`: what a plugin's manifest may grant itself without config's say-so. */
export const sandboxSchema = table({
  max_priority: num({ min: 0, max: 1 }).default(0.8),
  min_cadence_seconds: num({ min: 0.1, max: MAX_TIMER_SECONDS }).default(1),
  max_deadline_ms: num({ min: 1, max: MAX_TIMER_MS, int: true }).default(10_000),
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
  cadence_seconds: num({ min: 0.1, max: MAX_TIMER_SECONDS }).optional(),
  /** Overrides the manifest's priority; above 0.8 is never deferred. */
  priority: num({ min: 0, max: 1 }).optional(),
  /** Unset: first-party plugins share one sandbox, every other plugin gets its own process. */
  isolation: oneOf(["trusted", "shared", "process"]).optional(),
  deadline_ms: num({ min: 1, max: MAX_TIMER_MS, int: true }).optional(),
  memory_mb: num({ min: 8, int: true }).optional(),
  settings: z.record(z.string(), z.unknown(), { error: "must be a table" }).default({}),
});

/** `[plugins]`: one table per plugin id. */
export const pluginsSchema = keyedTable(PLUGIN_ID, "plugin id", pluginSchema, PLUGIN_ID_RULE);

/** `[state]`: where plugin state is persisted. */
export const stateSchema = table({
  dir: str().default("state"),
});

/** `[limits]`: byte budgets and clock skew (issue 13): what a hostile push or a flood can cost. */
export const limitsSchema = table({
  /** Pushed timestamps further ahead of the hub's clock are clamped to its receive time. */
  clock_skew_seconds: num({ min: 1 }).default(300),
  /** Pushed timestamps older than this are refused. */
  max_age_seconds: num({ min: 60 }).default(604_800),
  /** Largest pushed reading, JSON bytes. */
  reading_max_bytes: num({ min: 256, int: true }).default(4096),
  /** Largest event, JSON bytes (a bigger one becomes an `oversized` stub). */
  event_max_bytes: num({ min: 1024, int: true }).default(16_384),
  /** Bytes of the in-memory event ring, the emitter's offline buffer and (approximately) the Redis stream. */
  events_max_bytes: num({ min: 65_536, int: true }).default(16_777_216),
  /** Byte cap of one `/api/events` answer (a `next` cursor continues it). */
  answer_max_bytes: num({ min: 65_536, int: true }).default(1_048_576),
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
  mqtt: mqttSchema,
  history: historySchema,
  sandbox: sandboxSchema,
  scheduler: schedulerSchema,
  sensors: sensorsSchema,
  plugins: pluginsSchema,
  state: stateSchema,
  limits: limitsSchema,
});

/**
 * This machine's host name as a node id: lowercased, anything but letters, digits and "-" turned
 * into "-", cut to a DNS label; `node` when nothing is left.
 */
export function hostNodeId(hostname?: string): string {
  let name = hostname;
  if (name === undefined) {
    try {
      name = Deno.hostname();
    } catch {
      name = "";
    }
  }
  const id = name.toLowerCase().split(".")[0].replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(
    0,
    63,
  )
    .replace(/-+$/, "");
  return id === "" ? "node" : id;
}

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
  const p = Object.hasOwn(config.plugins, id)
    ? config.plugins[id]
    : validate(pluginSchema, {}, "built-in defaults");
  return { ...p, isolation: p.isolation ?? "shared" };
}
