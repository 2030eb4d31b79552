/**
 * The configuration reference, generated from the zod schema: every key with its type, default
 * and meaning. `deno task config:reference` writes `config/REFERENCE.md` and the embedded default
 * `config/host.toml` (every key documented, the embedded values set); `--check` fails when either
 * is out of date, and a test runs the same check, so the schema, the docs and the examples cannot
 * drift apart.
 *
 * @module
 */
import type { z } from "zod";
import { configSchema, pluginSchema } from "./schema.ts";

/** One documented key. */
export interface KeyInfo {
  /** Dotted path; `<id>` / `<node>` stand for table keys a user chooses. */
  path: string;
  /** `number`, `string`, `boolean`, `list`, `table`, or the allowed values. */
  type: string;
  /** The default, or undefined when the key is optional with none. */
  defaultValue?: unknown;
  /** Shown instead of a default that depends on the machine. */
  defaultText?: string;
  doc: string;
}

/** What each key means. A key in the schema without an entry here fails the reference check. */
export const DOCS: Record<string, string> = {
  "polling.interval_seconds": "The broker's base cycle: how often plugins are considered for a poll.",
  "hal.backend": '"linux" drives real buses through the kernel; "sim" runs the register-level device models.',
  "hal.i2c_buses": "I2C bus numbers the broker owns (/dev/i2c-N); the first holds the BME680 and the OLED.",
  "hal.gpio_chip": "GPIO chip number (/dev/gpiochipN) for the DHT22, the buzzer relay and other lines.",
  "hal.i2c_force": "Use I2C_SLAVE_FORCE: talk to an address a kernel driver has already claimed.",
  "hal.spi_bus": "SPI bus for the LED strip (/dev/spidevN.0).",
  "hal.uart_path": "Serial port plugins may be granted.",
  "hal.dht22_iio_path":
    "Read the DHT22 through the kernel's dht11 IIO driver at this sysfs path instead of bit timing.",
  "leds.count": "Number of WS2812B LEDs on the strip (LED 0 is the heartbeat).",
  "leds.pin": "GPIO pin of the strip's data line.",
  "leds.brightness": "Global brightness, 0..1.",
  "buzzer.pin": "GPIO pin of the buzzer relay.",
  "buzzer.active_low": "The relay closes when the pin is low.",
  "buzzer.min_interval_ms":
    "Shortest gap between two buzzer patterns; sooner requests are refused (HTTP 429).",
  "logging.level": "Lowest level written to stderr (the ring behind /api/logs keeps every level).",
  "logging.show_sensor_data": "Also log every reading (noisy; for debugging drivers).",
  "logging.format":
    '"text" (one line per record) or "json" (one object per line); under systemd each line carries a <N> priority for journalctl -p.',
  "cluster.role": '"standalone" (one board), "hub" (aggregates spokes) or "spoke" (pushes to a hub).',
  "cluster.node_id": "This node's id (a slug). Two instances with one id on a host refuse to start.",
  "cluster.hub_url": "Spoke: where to push (http://hub:3000 or its /push URL).",
  "cluster.token": "Spoke: the bearer token it presents to the hub.",
  "cluster.spoke_tokens.<node>": "Hub: the token the spoke <node> must present when it pushes.",
  "cluster.push_interval_seconds": "Spoke: how often the snapshot is pushed.",
  "cluster.buffer_max": "Spoke: pushes kept while the hub is away, oldest dropped first.",
  "shm.backend":
    '"auto" (Redis while it answers, else the file), "redis", "file" or "memory" (in-process only).',
  "shm.redis_url":
    "Redis for shared state, events and commands (REDIS_URL overrides it): redis://, rediss:// or redis+sentinel://[:password@]host:port,host:port/<master>.",
  "shm.sentinels":
    "Sentinels (host:port) asked for the master on every connect; brokers, hubs and events follow a failover. Set this or redis_url, not both.",
  "shm.master_name": "With sentinels: the master's name in their `sentinel monitor <name> …` line.",
  "shm.redis_password": "With sentinels: the password of the master and replicas.",
  "shm.sentinel_password":
    "With sentinels: the sentinels' own password (requirepass in sentinel.conf), if any.",
  "shm.file_dir":
    "Directory of <node>.json for the file backend and the per-node lock; must be owned by the service and not world-writable.",
  "shm.key_prefix": "Prefix of every Redis key.",
  "events.stream_maxlen": "Approximate length cap of the Redis event stream.",
  "events.buffer_max": "Events held while Redis is away; overflow is counted and reported.",
  "events.batch_max": "Events per pipelined Redis write.",
  "hub.port": "HTTP port (--port and PORT override it; 0 picks a free one).",
  "hub.host": "Address to listen on: 127.0.0.1 for this machine only, 0.0.0.0 for every interface.",
  "hub.cors_origins": "Origins allowed to call the API from a browser (none by default).",
  "hub.body_limit_bytes": "Largest request body accepted (413 above it).",
  "hub.token": "Bearer token with scopes read + act (scripts); prefer `main.ts token create`.",
  "hub.public_read":
    "Readings (/, /api/readings, /api/nodes, /api/history, reading events) without a login; every action, log, event, plugin error and metric stays behind auth.",
  "hub.allowed_hosts":
    'Host names besides localhost and this machine\'s names and addresses (the DNS-rebinding allowlist); "*" turns it off.',
  "hub.tls_cert": "PEM certificate: serve HTTPS (session cookies become Secure); needs tls_key.",
  "hub.tls_key": "PEM private key for tls_cert.",
  "hub.metrics_token": "Bearer token accepted for /metrics only (Prometheus bearer_token).",
  "hub.session_hours": "How long a login session lasts.",
  "hub.header_timeout_ms": "A client must send its request headers within this time.",
  "hub.request_timeout_ms": "A whole request (headers and body) must arrive within this time.",
  "hub.idle_timeout_ms": "Idle keep-alive connections are closed after this time.",
  "hub.max_connections_per_client": "Concurrent connections one client address may hold.",
  "mqtt.url": "MQTT broker to publish to (mqtt://, mqtts://, ws://, wss://); without it the bridge is off.",
  "mqtt.username": "MQTT user name.",
  "mqtt.password": "MQTT password.",
  "mqtt.client_id": "MQTT client id; default harvester-<node id>.",
  "mqtt.token":
    "The hub API token the bridge acts with for commands from MQTT (needs act: main.ts token create ha --scope act); without it they are refused and audited.",
  "mqtt.base_topic": "Prefix of every topic: <base>/<node>/<sensor>/state, <base>/<node>/availability, …",
  "mqtt.qos": "QoS of published messages (0, 1 or 2).",
  "mqtt.retain": "Retain state messages (discovery and availability are always retained).",
  "mqtt.homeassistant":
    "Announce every sensor, the buzzer, the LEDs and the name to Home Assistant (MQTT discovery).",
  "mqtt.discovery_prefix": "Home Assistant's discovery prefix.",
  "mqtt.events": "Also publish the event stream on <base>/<node>/events/<type> (chatty).",
  "mqtt.commands": "Accept commands on <base>/<node>/…/set topics (buzzer, LEDs, name).",
  "mqtt.buffer_max": "Events kept while the MQTT broker is away; older ones are dropped and counted.",
  "history.enabled":
    "Record every reading on the hub (start and hub modes) for /api/history, charts and MCP.",
  "history.path": "The SQLite file; default <state.dir>/history.db.",
  "history.raw_days": "Days raw values are kept.",
  "history.minute_days": "Days 1-minute rollups (min, max, mean, count) are kept.",
  "history.hour_years": "Years 1-hour rollups are kept.",
  "history.max_mb":
    "Size ceiling of the file; above it the oldest data goes first, tier by tier, and the log says so.",
  "sandbox.max_priority":
    "Highest priority a plugin's manifest may give itself; above is clamped (and said at start) unless [plugins.<id>] priority sets it.",
  "sandbox.min_cadence_seconds":
    "Shortest cadence a manifest may ask for; faster is clamped unless config sets cadence_seconds.",
  "sandbox.max_deadline_ms":
    "Longest call deadline a manifest may ask for; longer is clamped unless config sets deadline_ms.",
  "history.max_series":
    "Most node × sensor × field series recorded; new ones past it are refused (said once), so invented field names cannot grow the file.",
  "scheduler.hot_celsius": "CPU temperature at which only critical plugins run.",
  "scheduler.soft_celsius": "CPU temperature at which low-priority plugins are deferred.",
  "scheduler.cycle_budget_ms": "Time one cycle may spend on plugins before the rest wait.",
  "scheduler.inbox_max": "Commands queued for the scheduler; more are refused.",
  "sensors.dht22_pin": "GPIO pin of the DHT22's data line.",
  "sensors.bme680_address": "I2C address of the BME680 (0x76 or 0x77).",
  "sensors.oled_address": "I2C address of the SSD1306 OLED.",
  "plugins.<id>.enabled": "Load this plugin.",
  "plugins.<id>.cadence_seconds": "Poll period, overriding the manifest's.",
  "plugins.<id>.priority":
    "Scheduling priority 0..1, overriding the manifest's; above 0.8 is never deferred.",
  "plugins.<id>.isolation":
    '"trusted" (one worker with the other trusted plugins in the shared sandbox process: the least memory, no boundary between them), "shared" (the shared process, a worker of its own) or "process" (a process of its own); unset: first-party plugins are trusted, every other plugin gets its own process.',
  "plugins.<id>.deadline_ms": "Longest a poll may take before it counts as hung.",
  "plugins.<id>.memory_mb": "Memory limit of the plugin's sandbox.",
  "plugins.<id>.settings": "Plugin-specific settings, passed to the plugin as they are.",
  "limits.clock_skew_seconds":
    "Pushed timestamps further ahead of the hub's clock are clamped to its receive time.",
  "limits.max_age_seconds": "Pushed timestamps older than this are refused.",
  "limits.reading_max_bytes": "Largest pushed reading, JSON bytes.",
  "limits.event_max_bytes": "Largest event, JSON bytes (a bigger one becomes an oversized stub).",
  "limits.events_max_bytes":
    "Bytes of the in-memory event ring, the emitter's offline buffer and (about) the Redis stream.",
  "limits.answer_max_bytes": "Byte cap of one /api/events answer (a next cursor continues it).",
  "state.dir": "Where plugin state, locks and the control socket live (relative to the working directory).",
};

/** Defaults that depend on the machine, shown as text. */
const MACHINE_DEFAULTS: Record<string, string> = {
  "cluster.node_id": "this machine's host name",
  "shm.file_dir": "$RUNTIME_DIRECTORY, else /dev/shm/harvester-<uid>, else /tmp/harvester-<uid>",
};

/** What a commented-out optional key looks like when set. */
const EXAMPLES: Record<string, unknown> = {
  "hal.dht22_iio_path": "/sys/bus/iio/devices/iio:device0",
  "cluster.node_id": "pi-kitchen",
  "cluster.hub_url": "http://hub.local:3000",
  "cluster.token": "the-token-in-the-hub's-spoke_tokens",
  "shm.redis_url": "redis://127.0.0.1:6379",
  "shm.sentinels": ["10.0.0.5:26379", "10.0.0.6:26379", "10.0.0.7:26379"],
  "shm.master_name": "harvester",
  "shm.redis_password": "change-me",
  "shm.sentinel_password": "change-me-too",
  "shm.file_dir": "/run/harvester",
  "hub.token": "a-long-random-token",
  "hub.tls_cert": "/etc/harvester/hub.crt",
  "hub.tls_key": "/etc/harvester/hub.key",
  "hub.metrics_token": "a-token-for-prometheus",
  "mqtt.url": "mqtt://127.0.0.1:1883",
  "history.path": "/var/lib/harvester/history.db",
  "mqtt.username": "harvester",
  "mqtt.password": "change-me",
  "mqtt.client_id": "harvester-pi-kitchen",
  "mqtt.token": "hvt_…",
  "plugins.<id>.cadence_seconds": 5,
  "plugins.<id>.priority": 0.5,
  "plugins.<id>.deadline_ms": 2000,
  "plugins.<id>.memory_mb": 64,
};

// deno-lint-ignore no-explicit-any
type Any = any;

function def(s: z.ZodType): Any {
  return (s as Any)._zod.def;
}

/** Peel default/optional/pipe wrappers; collect the description and default on the way. */
function peel(s: z.ZodType): { inner: z.ZodType; defaultValue?: unknown; hasDefault: boolean } {
  let cur = s;
  let defaultValue: unknown;
  let hasDefault = false;
  for (let i = 0; i < 10; i++) {
    const d = def(cur);
    if (d.type === "default" || d.type === "prefault") {
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = d.defaultValue;
      }
      cur = d.innerType;
    } else if (d.type === "optional" || d.type === "nullable") {
      cur = d.innerType;
    } else if (d.type === "pipe") {
      cur = d.out;
    } else break;
  }
  return { inner: cur, defaultValue, hasDefault };
}

function typeOf(s: z.ZodType): string {
  const d = def(s);
  switch (d.type) {
    case "enum":
      return Object.values(d.entries as Record<string, string>).map((v) => `"${v}"`).join(" | ");
    case "array":
      return `list of ${typeOf(d.element)}`;
    case "record":
      return "table";
    case "union":
      return (d.options as z.ZodType[]).map(typeOf).filter((t) => t !== "literal").join(" | ") || "string";
    case "literal":
      return "literal";
    default:
      return d.type;
  }
}

/** Every key of the schema, in schema order. */
export function schemaKeys(): KeyInfo[] {
  const out: KeyInfo[] = [];
  const sections = def(peel(configSchema).inner).shape as Record<string, z.ZodType>;
  for (const [section, sectionSchema] of Object.entries(sections)) {
    const inner = section === "plugins" ? pluginSchema : sectionSchema;
    const prefix = section === "plugins" ? "plugins.<id>" : section;
    const shape = def(peel(inner).inner).shape as Record<string, z.ZodType>;
    for (const [key, field] of Object.entries(shape)) {
      const { inner: t, defaultValue, hasDefault } = peel(field);
      const keyed = key === "spoke_tokens";
      const path = keyed ? `${prefix}.${key}.<node>` : `${prefix}.${key}`;
      out.push({
        path,
        type: keyed ? "string" : typeOf(t),
        defaultValue: hasDefault && !(path in MACHINE_DEFAULTS) && !keyed ? defaultValue : undefined,
        defaultText: MACHINE_DEFAULTS[path],
        doc: DOCS[path] ?? "",
      });
    }
  }
  return out;
}

/** Problems between the schema and {@link DOCS}: undocumented keys and docs for keys that are gone. */
export function docProblems(): string[] {
  const keys = schemaKeys();
  const problems = keys.filter((k) => !k.doc).map((k) => `${k.path}: no entry in DOCS (config/reference.ts)`);
  const known = new Set(keys.map((k) => k.path));
  for (const path of Object.keys(DOCS)) {
    if (!known.has(path)) problems.push(`${path}: documented but not in the schema`);
  }
  return problems;
}

/** A value as TOML writes it. */
export function tomlValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(", ")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v);
    return entries.length ? `{ ${entries.map(([k, x]) => `${k} = ${tomlValue(x)}`).join(", ")} }` : "{}";
  }
  return String(v);
}

function shownDefault(k: KeyInfo): string {
  if (k.defaultText) return k.defaultText;
  if (k.defaultValue === undefined) return "none";
  if (k.path.endsWith("_address") && typeof k.defaultValue === "number") {
    return `\`0x${k.defaultValue.toString(16)}\``;
  }
  return "`" + tomlValue(k.defaultValue) + "`";
}

/** `config/REFERENCE.md`. */
export function renderReference(): string {
  const lines = [
    "# Configuration reference",
    "",
    "Generated from the schema (`config/schema.ts`) by `deno task config:reference`; do not edit by hand.",
    "Files are searched in this order: `--config PATH`, `config/host.toml`, `../config/host.toml`, then the",
    "built-in defaults. `PORT`, `--port` and `REDIS_URL` override their keys. Unknown keys are refused.",
    "",
  ];
  let section = "";
  for (const k of schemaKeys()) {
    const s = k.path.split(".").slice(0, k.path.startsWith("plugins.") ? 2 : 1).join(".");
    if (s !== section) {
      section = s;
      lines.push(`## [${s}]`, "", "| key | type | default | meaning |", "| --- | --- | --- | --- |");
    }
    const key = k.path.slice(s.length + 1);
    lines.push(
      `| \`${key}\` | ${k.type.replaceAll("|", "\\|")} | ${
        shownDefault(k).replaceAll("|", "\\|")
      } | ${k.doc} |`,
    );
    if (schemaKeys().filter((x) => x.path.startsWith(s + ".")).at(-1)?.path === k.path) lines.push("");
  }
  return lines.join("\n").replace(/\n+$/, "\n");
}

/** What the embedded default (`config/host.toml`) sets beyond the schema's defaults. */
export const EMBEDDED: {
  header: string[];
  values: Record<string, unknown>;
  plugins: Record<string, Record<string, unknown>>;
} = {
  header: [
    "HARVESTER: the embedded default. Simulated hardware, one node, no Redis required.",
    "`deno task start` uses this file when no --config is given: it listens on 127.0.0.1 only and",
    "shows readings without a login (public_read); to serve a network see config/hub.toml. Every key is listed with its",
    "meaning and default; generated by `deno task config:reference` (config/REFERENCE.md has the",
    "same as a table). Keys commented out take their default.",
  ],
  values: { "hub.public_read": true },
  plugins: {
    bme680: { enabled: true, cadence_seconds: 3, priority: 0.6 },
    dht22: { enabled: true, cadence_seconds: 2, priority: 0.5 },
    "system-monitor": { enabled: true, cadence_seconds: 5, priority: 0.4 },
    oled: { enabled: true, cadence_seconds: 2, priority: 0.3 },
    anima: { enabled: true, cadence_seconds: 10, priority: 0.2 },
  },
};

function wrap(text: string, width = 100): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/** `config/host.toml`: every key with its meaning; set where it has a default, else commented out. */
export function renderHostToml(): string {
  const lines = EMBEDDED.header.map((l) => `# ${l}`);
  let section = "";
  const keys = schemaKeys();
  for (const k of keys.filter((k) => !k.path.startsWith("plugins."))) {
    const s = k.path.split(".")[0];
    if (s !== section) {
      section = s;
      lines.push("", `[${s}]`);
    }
    const key = k.path.slice(s.length + 1);
    const set = k.path in EMBEDDED.values ? EMBEDDED.values[k.path] : k.defaultValue;
    lines.push(...wrap(`${k.doc} Default: ${shownDefault(k).replaceAll("`", "")}.`).map((l) => `# ${l}`));
    if (key.includes("<")) {
      lines.push(
        `# ${key.split(".")[0]} = { ${
          key.split(".").at(-1)!.replace(/[<>]/g, "")
        }-1 = "a-long-random-token" }`,
      );
    } else if (set === undefined) {
      lines.push(`# ${key} = ${tomlValue(EXAMPLES[k.path] ?? (k.type === "number" ? 0 : ""))}`);
    } else if (key.endsWith("_address") && typeof set === "number") {
      lines.push(`${key} = 0x${set.toString(16)}`);
    } else lines.push(`${key} = ${tomlValue(set)}`);
  }
  const pluginKeys = keys.filter((k) => k.path.startsWith("plugins."));
  lines.push("", "# One table per plugin, [plugins.<id>]; a plugin without a table runs with the defaults:");
  for (const k of pluginKeys) {
    lines.push(
      ...wrap(
        `${k.path.slice("plugins.<id>.".length)}: ${k.doc} Default: ${shownDefault(k).replaceAll("`", "")}.`,
      )
        .map((l) => `#   ${l}`),
    );
  }
  for (const [id, values] of Object.entries(EMBEDDED.plugins)) {
    lines.push("", `[plugins.${id}]`);
    for (const [key, v] of Object.entries(values)) lines.push(`${key} = ${tomlValue(v)}`);
  }
  return lines.join("\n") + "\n";
}

/** Files this module generates, relative to `config/`. */
export const GENERATED: Record<string, () => string> = {
  "REFERENCE.md": renderReference,
  "host.toml": renderHostToml,
};

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const problems = docProblems();
  if (problems.length) {
    for (const p of problems) console.error(`Cannot generate the reference: ${p}`);
    Deno.exit(1);
  }
  let stale = 0;
  for (const [name, render] of Object.entries(GENERATED)) {
    const path = new URL(`./${name}`, import.meta.url);
    const text = render();
    const current = await Deno.readTextFile(path).catch(() => "");
    if (current === text) continue;
    if (check) {
      console.error(`config/${name} is out of date: run 'deno task config:reference'`);
      stale++;
    } else {
      await Deno.writeTextFile(path, text);
      console.error(`wrote config/${name}`);
    }
  }
  Deno.exit(stale ? 1 : 0);
}
