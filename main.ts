/**
 * HARVESTER entry point and composition root: the only file that picks concrete backends.
 *
 * ```sh
 * deno run --allow-all main.ts start  [--config PATH] [--port N]   # broker + hub in one process
 * deno run --allow-all main.ts --help                              # usage of every mode
 * deno run --allow-all main.ts broker [--config PATH]              # the hardware owner alone
 * deno run --allow-all main.ts hub    [--config PATH] [--port N]   # the hub alone
 * ```
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkPluginIds,
  type Cli,
  type Config,
  ConfigError,
  grantFor,
  halOptionsFrom,
  loadConfig,
  loadPermissions,
  type Mode,
  parseCli,
  type Permissions,
  pluginConfig,
  usage,
  UsageError,
} from "./config/mod.ts";
import type { Hal } from "./hal/mod.ts";
import { SimHal } from "./hal/sim/mod.ts";
import { SimBme680 } from "./hal/sim/bme680.ts";
import { SimSsd1306 } from "./hal/sim/ssd1306.ts";
import { LinuxHal } from "./hal/linux/mod.ts";
import { createEvents, type Events } from "./services/events/mod.ts";
import { AutoSharedState, createSharedState, defaultShmDir, ensureOwnedDir } from "./services/shm/mod.ts";
import type { SharedState } from "./services/shm/snapshot.ts";
import { Scheduler } from "./services/scheduler/mod.ts";
import { PluginHost } from "./services/plugin_host/mod.ts";
import {
  acquireBusLocks,
  Broker,
  BusLockError,
  BuzzerPlayer,
  LedBuffer,
  lineFormatter,
  LogRing,
} from "./services/broker/mod.ts";
import { type Command, type CommandResult, LocalCommandBus } from "./services/link/mod.ts";
import { brokerEnd, chooseLink, hubEnd } from "./services/link/mod.ts";
import { commandRunner, SpokePusher } from "./services/spoke/mod.ts";
import type { HistoryStore, Hub } from "./services/hub/mod.ts";
import { MqttBridge, type NodeReport } from "./services/mqtt/mod.ts";
import type { Recorder } from "./services/recorder/mod.ts";
import { Health, probeWritable, StorageFaults } from "./services/health/mod.ts";
import { redisStatus, sentinelUrl } from "./services/events/mod.ts";

import denoJson from "./deno.json" with { type: "json" };

const ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * The hub's code (Hono, socket.io, MCP) and the recorder (SQLite), loaded only by the modes that
 * serve HTTP: a broker never holds them (about 20 MB of a spoke's memory, bench/README.md).
 */
const hubModule = () => import("./services/hub/mod.ts");
const recorderModule = () => import("./services/recorder/mod.ts");
/** Plugins shipped with HARVESTER: trusted to share one sandbox process unless config says otherwise. */
const FIRST_PARTY = new Set(["bme680", "dht22", "system-monitor", "oled", "anima"]);
/** How each mode names itself in "Cannot start …" lines. */
const LABEL: Record<Mode, string> = { start: "harvester", broker: "broker", hub: "hub" };

/** Something to close at shutdown, newest first. */
type Closer = () => unknown | Promise<unknown>;

/** A running broker and what the hub needs from it when both share a process. */
interface RunningBroker {
  broker: Broker;
  logs: LogRing;
  events: Events;
  state: SharedState;
}

/** Where the redis URL comes from: only when the backend may use Redis. */
function redisUrlOf(config: Config): string | undefined {
  if (config.shm.backend === "file" || config.shm.backend === "memory") return undefined;
  const { sentinels, master_name, redis_password, sentinel_password } = config.shm;
  // REDIS_URL (which lands in redis_url) wins over sentinels from the file.
  if (config.shm.redis_url || !sentinels || !master_name) return config.shm.redis_url;
  const url = sentinelUrl(sentinels, master_name, { password: redis_password });
  return sentinel_password ? `${url}#sentinel-password=${encodeURIComponent(sentinel_password)}` : url;
}

function stateDir(config: Config): string {
  return isAbsolute(config.state.dir) ? config.state.dir : resolve(Deno.cwd(), config.state.dir);
}

/** The directory the file backend (and the per-node lock) lives in. */
function snapshotDir(config: Config): string {
  return config.shm.file_dir ?? defaultShmDir();
}

function pluginsDir(): string {
  // HARVESTER_PLUGINS_DIR points the broker at another plugin tree (tests, staging).
  return Deno.env.get("HARVESTER_PLUGINS_DIR") ?? join(ROOT, "plugins");
}

function controlSocket(config: Config): string {
  return join(stateDir(config), `control-${config.cluster.node_id}.sock`);
}

/** Open events and shared state for this node. */
async function openStores(config: Config): Promise<{ events: Events; state: SharedState }> {
  const node = config.cluster.node_id;
  const redisUrl = redisUrlOf(config);
  const events = createEvents({
    redisUrl,
    node,
    keyPrefix: config.shm.key_prefix,
    streamMaxLen: config.events.stream_maxlen,
    bufferMax: config.events.buffer_max,
    batchMax: config.events.batch_max,
    eventMaxBytes: config.limits.event_max_bytes,
    bufferMaxBytes: config.limits.events_max_bytes,
    ringBytes: config.limits.events_max_bytes,
    streamMaxBytes: config.limits.events_max_bytes,
  });
  const state = await createSharedState({
    backend: config.shm.backend,
    node,
    redisUrl,
    fileDir: snapshotDir(config),
    keyPrefix: config.shm.key_prefix,
    emit: events.emitter,
  });
  return { events, state };
}

function openHal(config: Config): Hal {
  const opts = halOptionsFrom(config);
  if (config.hal.backend === "linux") {
    return new LinuxHal({
      ...opts,
      i2cForce: config.hal.i2c_force,
      i2cExclusive: true,
      spiBus: config.hal.spi_bus,
    });
  }
  const firstBus = config.hal.i2c_buses[0];
  return new SimHal({
    ...opts,
    models: (bus, environment, clock) =>
      bus === firstBus
        ? [
          new SimBme680({ environment, clock, address: config.sensors.bme680_address }),
          new SimSsd1306(config.sensors.oled_address),
        ]
        : [],
  });
}

/** Bus resources this broker must own exclusively. */
function busResources(config: Config): string[] {
  if (config.hal.backend === "linux") {
    return [...config.hal.i2c_buses.map((b) => `/dev/i2c-${b}`), `/dev/gpiochip${config.hal.gpio_chip}`];
  }
  return config.hal.i2c_buses.map((b) => `sim-${config.cluster.node_id}-i2c-${b}`);
}

function lockDir(config: Config): string {
  const env = Deno.env.get("HARVESTER_LOCK_DIR");
  if (env) return env;
  // Under systemd the unit's RuntimeDirectory= (/run/harvester) holds the locks.
  const runtime = Deno.env.get("RUNTIME_DIRECTORY")?.split(":")[0];
  if (runtime) return join(runtime, "locks");
  return config.hal.backend === "linux" ? "/run/lock/harvester" : join(stateDir(config), "locks");
}

async function permissionsFor(source: string): Promise<{ perms: Permissions; path: string | null }> {
  const candidates = [
    source.endsWith(".toml") ? join(dirname(source), "permissions.toml") : null,
    join(ROOT, "config", "permissions.toml"),
  ].filter((p): p is string => p !== null);
  for (const path of candidates) {
    try {
      await Deno.stat(path);
    } catch {
      continue;
    }
    return { perms: await loadPermissions(path), path };
  }
  return { perms: {} as Permissions, path: null };
}

/** Device settings every first-party plugin needs, from `[sensors]` and `[hal]`. */
function deviceSettings(config: Config, id: string): Record<string, unknown> {
  const bus = config.hal.i2c_buses[0];
  switch (id) {
    case "bme680":
      return { address: config.sensors.bme680_address, i2c_bus: bus };
    case "oled":
      return { address: config.sensors.oled_address, i2c_bus: bus, cpu_node: config.cluster.node_id };
    case "dht22":
      return { pin: config.sensors.dht22_pin };
    default:
      return { i2c_bus: bus };
  }
}

/** Thrown when another process runs this node id on this host. */
class NodeTakenError extends Error {}

async function startBroker(
  config: Config,
  source: string,
  closers: Closer[],
  logs: LogRing,
  local?: LocalCommandBus,
  health = new Health(),
): Promise<RunningBroker> {
  const node = config.cluster.node_id;
  await requireWritable(stateDir(config), "state.dir", source);
  if (config.shm.backend === "file" || config.shm.backend === "auto") {
    await requireWritable(snapshotDir(config), "shm.file_dir", source);
  }
  // One instance per node id on a host: the lock lives beside the snapshot file, so a second
  // instance refuses instead of silently sharing <dir>/<node>.json.
  try {
    const nodeLock = acquireBusLocks([`node-${node}`], snapshotDir(config));
    closers.push(() => nodeLock.release());
  } catch (e) {
    if (!(e instanceof BusLockError)) throw e;
    throw new NodeTakenError(
      `node '${node}' already runs on this host (pid ${e.holderPid}, lock ${e.lockPath}); ` +
        "stop it or set cluster.node_id",
    );
  }
  const locks = acquireBusLocks(busResources(config), lockDir(config));
  closers.push(() => locks.release());
  const { events, state } = await openStores(config);
  closers.push(() => events.close(), () => state.close());
  const emitter = events.emitter;
  const storage = new StorageFaults({ health, emit: emitter, log: (l) => logs.log("warn", "storage", l) });
  const hal = openHal(config);
  closers.push(() => hal.close());
  const leds = new LedBuffer(hal.leds, emitter);
  const buzzer = new BuzzerPlayer(hal.buzzer, emitter, { minIntervalMs: config.buzzer.min_interval_ms });
  const { perms, path: permsPath } = await permissionsFor(source);
  logs.log("info", "broker", `permissions from ${permsPath ?? "nowhere: plugins get no hardware"}`);
  const plugins = new PluginHost({
    pluginsDir: pluginsDir(),
    sdkDir: join(pluginsDir(), "sdk"),
    node,
    grants: (id) => grantFor(perms, id),
    settings: (id) => {
      const p = pluginConfig(config, id);
      return {
        enabled: p.enabled,
        cadence_seconds: p.cadence_seconds,
        priority: p.priority,
        // First-party plugins share one worker unless config says otherwise; only an explicit
        // `isolation = "shared"` or `"trusted"` moves a third-party plugin into the shared sandbox.
        isolation: config.plugins[id]?.isolation ?? (FIRST_PARTY.has(id) ? "trusted" : "process"),
        deadline_ms: p.deadline_ms,
        memory_mb: p.memory_mb,
        settings: { ...deviceSettings(config, id), ...p.settings },
      };
    },
    services: {
      hal,
      leds,
      buzzer: { play: async (pattern) => void await buzzer.play(pattern, "plugin") },
      log: (plugin, level, message) => logs.log(level, plugin, message),
    },
    emit: storage.watchPluginState(emitter),
    stateDir: join(stateDir(config), "plugins"),
    watch: true,
    manifestPolicy: {
      maxPriority: config.sandbox.max_priority,
      minCadenceSeconds: config.sandbox.min_cadence_seconds,
      maxDeadlineMs: config.sandbox.max_deadline_ms,
    },
    // A delegated cgroup v2 folder (systemd Delegate=yes) lets the kernel enforce memory_mb.
    cgroupDir: Deno.env.get("HARVESTER_CGROUP_DIR"),
  });
  const broker = new Broker({
    node,
    hal,
    plugins,
    createScheduler: (run) =>
      new Scheduler({
        emit: emitter,
        thermal: () => hal.system.cpuTemperatureC(),
        softC: config.scheduler.soft_celsius,
        hotC: config.scheduler.hot_celsius,
        cycleBudgetMs: config.scheduler.cycle_budget_ms,
        inboxMax: config.scheduler.inbox_max,
        run,
      }),
    state,
    emitter,
    leds,
    buzzer,
    logs,
    health,
    storage,
    intervalMs: config.polling.interval_seconds * 1000,
    pluginSchedule: (id) => {
      const p = config.plugins[id];
      return {
        cadenceMs: p?.cadence_seconds !== undefined ? p.cadence_seconds * 1000 : undefined,
        priority: p?.priority,
      };
    },
    oled: hal instanceof SimHal
      ? () => {
        const model = hal.simBus(config.hal.i2c_buses[0]).model(config.sensors.oled_address);
        return model instanceof SimSsd1306 ? model.framebuffer() : null;
      }
      : undefined,
  });
  await broker.start();
  closers.push(() => broker.stop("shutdown"));

  const handler = (req: Parameters<Broker["handle"]>[0]) => broker.handle(req);
  const redisUrl = redisUrlOf(config);
  // Commands in; logs (and over the socket: snapshot and events) out — one link, chosen in one place.
  const link = brokerEnd(chooseLink({ inProcess: !!local, redisUrl, events }), {
    stores: { events, state },
    redisUrl,
    socketPath: controlSocket(config),
    keyPrefix: config.shm.key_prefix,
    bus: local,
  });
  await link.serve({
    node,
    handler,
    logsAfter: (seq, limit) => logs.after(seq, limit),
    logLines: () => logs.lines(),
    snapshot: () => broker.snapshot(),
  });
  closers.push(() => link.close());

  if (config.cluster.role === "spoke" && config.cluster.hub_url) {
    const pusher = new SpokePusher({
      hubUrl: config.cluster.hub_url,
      token: config.cluster.token ?? "",
      node,
      intervalMs: config.cluster.push_interval_seconds * 1000,
      bufferMax: config.cluster.buffer_max,
      source: () => broker.snapshot(),
      emit: emitter,
      onCommands: commandRunner(handler),
      logs: (seq) => logs.after(seq),
    });
    pusher.start();
    closers.push(() => pusher.stop());
  }
  return { broker, logs, events, state };
}

async function startHub(
  config: Config,
  closers: Closer[],
  hostLog: LogRing,
  local?: { bus: LocalCommandBus; running: RunningBroker },
  health = new Health(),
): Promise<{ port: number; events: Events; state: SharedState; hub: Hub }> {
  const { createHub, hubAccessOptions, isLoopback, LOOPBACK_HINT } = await hubModule();
  const node = config.cluster.node_id;
  let stores: { events: Events; state: SharedState };
  if (local) {
    stores = local.running;
  } else {
    stores = await openStores(config);
    closers.push(() => stores.events.close(), () => stores.state.close());
  }
  const redisUrl = redisUrlOf(config);
  const link = hubEnd(chooseLink({ inProcess: !!local, redisUrl, events: stores.events }), {
    stores,
    redisUrl,
    socketPath: controlSocket(config),
    keyPrefix: config.shm.key_prefix,
    bus: local?.bus,
    node,
    localLogs: local ? () => local.running.logs.lines() : undefined,
  });
  closers.push(() => link.close());
  const { events, state } = link;
  const history = await openHistory(config, closers, hostLog, events, health);
  const hub = createHub({
    history,
    node,
    role: config.cluster.role === "spoke" ? "spoke" : config.cluster.role === "hub" ? "hub" : "standalone",
    state,
    events: events.log,
    emit: events.emitter,
    commands: link.commands,
    spokes: link.spokes,
    tokens: { write: config.hub.token ?? null, spokes: config.cluster.spoke_tokens },
    access: {
      ...await hubAccessOptions(config.hub, stateDir(config)),
      // The setup link and access faults go through the logger like every other line.
      log: (line: string) => hostLog.log("warn", "hub", line.replace(/^harvester hub: /, "")),
    },
    corsOrigins: config.hub.cors_origins,
    bodyLimitBytes: config.hub.body_limit_bytes,
    pushIntervalSeconds: config.cluster.push_interval_seconds,
    dashboardDir: join(ROOT, "services", "hub", "dashboard"),
    ingest: {
      clockSkewMs: config.limits.clock_skew_seconds * 1000,
      maxAgeMs: config.limits.max_age_seconds * 1000,
      readingMaxBytes: config.limits.reading_max_bytes,
    },
    eventsAnswerMaxBytes: config.limits.answer_max_bytes,
    health,
    logs: (n) => link.logs(n),
    log: (level, message) => hostLog.log(level, "hub", message),
    metrics: () => {
      const mem = Deno.memoryUsage();
      return {
        emitter: events.emitter.stats(),
        gauges: [
          { name: "process_resident_memory_bytes", help: "Resident set of the hub process.", value: mem.rss },
          {
            name: "harvester_heap_used_bytes",
            help: "V8 heap in use (live data and garbage).",
            value: mem.heapUsed,
          },
          { name: "harvester_heap_total_bytes", help: "V8 heap reserved.", value: mem.heapTotal },
          ...health.gauges(),
          ...redisStatus.gauges(),
        ],
      };
    },
  });
  const server = await hub.listen(config.hub.port, config.hub.host);
  closers.push(() => hub.close());
  if (isLoopback(config.hub.host)) hostLog.log("info", "hub", LOOPBACK_HINT.replace(/^harvester hub: /, ""));
  return { port: server.port, events, state, hub };
}

/** Refuse start-up naming the key when `dir` cannot take a file. */
async function requireWritable(dir: string, key: string, file: string): Promise<void> {
  const cause = await probeWritable(dir);
  if (cause !== null) {
    throw new ConfigError(`${file}: ${key}: cannot write to "${dir}": ${cause}`, { file, keyPath: key });
  }
}

/** Redis as a health component: the process-wide board's transitions (one log line each, there). */
function watchRedis(health: Health): Closer {
  // Quiet: the board already said it in one line.
  return redisStatus.subscribe((s) => health.set("redis", s.up ? "ok" : "down", s.reason, true));
}

/**
 * The MQTT bridge, when `[mqtt] url` is set: every node the hub knows (start, hub) or this node
 * alone (broker), published each polling interval; commands go the way REST commands go.
 */
function startMqtt(
  config: Config,
  closers: Closer[],
  logs: LogRing,
  events: Events,
  nodes: () => Promise<NodeReport[]>,
  send: (node: string, command: Command) => Promise<CommandResult>,
  health: Health,
): MqttBridge | null {
  const m = config.mqtt;
  if (!m.url) return null;
  const node = config.cluster.node_id;
  const bridge = new MqttBridge({
    url: m.url,
    username: m.username,
    password: m.password,
    clientId: m.client_id ?? `harvester-${node}`,
    topics: { base: m.base_topic, discoveryPrefix: m.discovery_prefix },
    homeassistant: m.homeassistant,
    qos: m.qos as 0 | 1 | 2,
    retain: m.retain,
    events: m.events,
    commands: m.commands,
    bufferMax: m.buffer_max,
    bridge: { node, swVersion: denoJson.version },
    nodes,
    send,
    emit: events.emitter,
    log: (level, message) => logs.log(level, "mqtt", message),
  });
  bridge.start();
  const unsubscribe = m.events ? events.log.subscribe((e) => bridge.event(e)) : () => {};
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const s = bridge.stats();
    // Quiet: the bridge says it once itself.
    health.set("mqtt", s.connected ? "ok" : "degraded", s.connected ? null : s.reason, true);
    bridge.tick().catch((e) => logs.log("warn", "mqtt", `Cannot publish: ${(e as Error).message ?? e}`))
      .finally(() => busy = false);
  }, Math.max(1000, config.polling.interval_seconds * 1000));
  closers.push(() => bridge.close(), () => clearInterval(timer), unsubscribe);
  return bridge;
}

/** What the hub knows of every node, for the MQTT bridge. */
function hubReports(hub: Hub): () => Promise<NodeReport[]> {
  return async () => {
    await hub.core.refresh();
    return hub.registry.ids().map((id) => ({
      node: id,
      status: hub.registry.status(id) ?? "offline",
      snapshot: hub.registry.snapshot(id),
    }));
  };
}

/** The hub's recorder, fed from the event flow; a file that cannot be opened leaves the hub without history. */
async function openHistory(
  config: Config,
  closers: Closer[],
  logs: LogRing,
  events: Events,
  health: Health,
): Promise<HistoryStore | undefined> {
  const h = config.history;
  if (!h.enabled) return undefined;
  const path = h.path ?? join(stateDir(config), "history.db");
  const limits = {
    rawDays: h.raw_days,
    minuteDays: h.minute_days,
    hourYears: h.hour_years,
    maxMb: h.max_mb,
    maxSeries: h.max_series,
  };
  const log = (level: "info" | "warn" | "error", message: string) => logs.log(level, "history", message);
  const { Recorder, RecorderFeed, RecorderWriter } = await recorderModule();
  // Queries read on this thread; the one writer (commits, checkpoints, rollups) is a worker.
  let reader: Recorder;
  try {
    reader = new Recorder({ path, ...limits, log });
  } catch (e) {
    log("error", `${(e as Error).message}; the hub runs without history`);
    health.set("recorder", "down", (e as Error).message, true);
    return undefined;
  }
  const writer = new RecorderWriter({ path, ...limits, log });
  const feed = new RecorderFeed({ recorder: reader, sink: writer, events: events.log });
  await feed.start();
  // The recorder in /health: "not recording" is degraded (the hub goes on), said once by the writer.
  const report = () => {
    const st = writer.state();
    health.set("recorder", st.state === "ok" ? "ok" : "degraded", st.reason, true);
  };
  report();
  const timer = setInterval(report, 1000);
  closers.push(() => reader.close(), () => writer.close(), () => feed.stop(), () => clearInterval(timer));
  return {
    query: (...a) => reader.query(...a),
    statistics: (...a) => reader.statistics(...a),
    series: () => reader.series(),
    status: () => ({ ...reader.status(), ...writer.state() }),
  };
}

/** Why the stores are what they are, for the ready line a person reads once. */
function describeStores(config: Config, events: Events, state: SharedState): string {
  const url = redisUrlOf(config);
  const redisWhy = (err: string | null | undefined) => (err ? `: ${err}` : "");
  let stateText: string;
  if (state instanceof AutoSharedState) {
    stateText = state.kind === "redis"
      ? `redis ${url} (auto)`
      : `file ${state.file.path()} (auto: Redis at ${url} unreachable${
        redisWhy(state.redis.conn.lastError)
      })`;
  } else if (state.kind === "file") {
    const why = config.shm.backend === "file" ? 'shm.backend = "file"' : "no Redis configured: set REDIS_URL";
    stateText = `file ${join(snapshotDir(config), `${config.cluster.node_id}.json`)} (${why})`;
  } else {
    stateText = `${state.kind}${state.kind === "redis" ? ` ${url}` : ""}`;
  }
  let eventsText: string;
  if (events.kind === "memory") {
    const why = config.shm.backend === "file" || config.shm.backend === "memory"
      ? `shm.backend = "${config.shm.backend}"`
      : "no Redis configured: set REDIS_URL";
    eventsText = `memory ring (${why})`;
  } else if (state instanceof AutoSharedState && state.kind !== "redis") {
    eventsText = `redis ${url} (unreachable now${redisWhy(state.redis.conn.lastError)}; ` +
      `up to ${config.events.buffer_max} events wait for it)`;
  } else {
    eventsText = `redis ${url}`;
  }
  return `state: ${stateText}; events: ${eventsText}`;
}

/** Make sure the hub's port is free before anything touches hardware. */
function checkPortFree(config: Config): void {
  if (config.hub.port === 0) return;
  try {
    Deno.listen({ hostname: config.hub.host, port: config.hub.port }).close();
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new StartError(`port ${config.hub.port} is in use (set --port or PORT)`, "hub");
    }
    if (e instanceof Deno.errors.AddrNotAvailable) {
      throw new StartError(`hub.host ${config.hub.host} is not an address of this machine`, "hub");
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new StartError(`port ${config.hub.port} needs privileges (use a port above 1023)`, "hub");
    }
    throw e;
  }
}

/** A start-up failure worded for a person: `Cannot start <what>: <why>`. */
class StartError extends Error {
  constructor(message: string, readonly what?: string) {
    super(message);
  }
}

/** Plugin ids found under the plugin tree (folders with a manifest). */
function availablePlugins(): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(pluginsDir())) {
      if (!e.isDirectory || e.name.startsWith("_") || e.name === "sdk") continue;
      try {
        if (Deno.statSync(join(pluginsDir(), e.name, "manifest.json")).isFile) out.push(e.name);
      } catch { /* not a plugin */ }
    }
  } catch { /* no plugin tree: every configured id is unknown */ }
  return out.sort();
}

/** Validate what start-up will need before anything opens a bus or counts an awakening. */
function preflight(mode: Mode, config: Config, source: string): void {
  if (mode !== "hub") {
    checkPluginIds(
      config,
      source,
      availablePlugins(),
      `${pluginsDir() === join(ROOT, "plugins") ? "plugins/" : pluginsDir()}`,
    );
    try {
      ensureOwnedDir(snapshotDir(config));
    } catch (e) {
      throw new StartError(`shm.file_dir: ${(e as Error).message}`);
    }
    try {
      Deno.mkdirSync(stateDir(config), { recursive: true });
    } catch (e) {
      const why = e instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : e instanceof Deno.errors.NotFound
        ? "a parent is missing and cannot be created"
        : (e as Error).message;
      throw new StartError(`state.dir: Cannot create '${stateDir(config)}': ${why}`);
    }
  }
  if (mode !== "broker") checkPortFree(config);
}

/** Run `main.ts` with `argv` until SIGINT/SIGTERM. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "token") return await tokenCommand(argv.slice(1));
  let cli: Cli;
  try {
    cli = parseCli(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(e.message);
    return 2;
  }
  if (cli.help) {
    console.log(usage(argv.length > 0 && !argv[0].startsWith("-") ? cli.mode : undefined));
    return 0;
  }
  if (cli.version) {
    console.log(`harvester ${denoJson.version} (deno ${Deno.version.deno})`);
    return 0;
  }
  const mode = cli.mode;
  let config: Config;
  let source: string;
  try {
    ({ config, source } = await loadConfig({ configPath: cli.config, port: cli.port }));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  const logs = new LogRing({
    level: config.logging.level,
    format: lineFormatter({ format: config.logging.format }),
  });
  const say = (level: "info" | "warn" | "error", message: string) => logs.log(level, "harvester", message);
  try {
    preflight(mode, config, source);
  } catch (e) {
    if (e instanceof ConfigError) {
      say("error", e.message);
      return 2;
    }
    say("error", `Cannot start ${(e as StartError).what ?? LABEL[mode]}: ${(e as Error).message ?? e}`);
    return 1;
  }
  const closers: Closer[] = [];
  // Every line goes through the logger (text or JSON, journald priorities), faults included.
  const health = new Health({
    log: (l) => logs.log(/ is ok again /.test(l) ? "info" : "warn", "health", l),
  });
  redisStatus.log = (l) => logs.log(/ is back| again/.test(l) ? "info" : "warn", "redis", l);
  closers.push(watchRedis(health));
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    if (why === "start-up failed") logs.log("debug", "harvester", "undoing start-up");
    else say("info", `stopping (${why})`);
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (e) {
        say("warn", `while stopping: ${(e as Error).message ?? e}`);
      }
    }
  };
  try {
    const node = config.cluster.node_id;
    const hal = config.hal.backend === "linux" ? "linux HAL" : "simulated HAL";
    if (mode === "broker") {
      const running = await startBroker(config, source, closers, logs, undefined, health);
      startMqtt(
        config,
        closers,
        logs,
        running.events,
        () =>
          Promise.resolve([{
            node: config.cluster.node_id,
            status: "online",
            snapshot: running.broker.snapshot(),
          }]),
        // A lone broker has no hub to authorize against: its own config is the authority.
        (_, command) =>
          running.broker.handle({ id: crypto.randomUUID(), node: config.cluster.node_id, command }),
        health,
      );
      say(
        "info",
        `broker ready: node ${node}, ${hal}; ${describeStores(config, running.events, running.state)}; ` +
          `commands on ${
            running.events.kind === "redis" ? "Redis" : controlSocket(config)
          } (config: ${source})`,
      );
    } else if (mode === "hub") {
      const { port, events, state, hub } = await startHub(config, closers, logs, undefined, health);
      startMqtt(
        config,
        closers,
        logs,
        events,
        hubReports(hub),
        (await hubModule()).actAs(hub.core, config.mqtt.token, "mqtt"),
        health,
      );
      say(
        "info",
        `hub ready: dashboard on ${dashboardUrl(config, port)}; node ${node}; ` +
          `${describeStores(config, events, state)} (config: ${source})`,
      );
    } else {
      const bus = new LocalCommandBus();
      closers.push(() => bus.close());
      const running = await startBroker(config, source, closers, logs, bus, health);
      const { port, hub } = await startHub(config, closers, logs, { bus, running }, health);
      startMqtt(
        config,
        closers,
        logs,
        running.events,
        hubReports(hub),
        (await hubModule()).actAs(hub.core, config.mqtt.token, "mqtt"),
        health,
      );
      say(
        "info",
        `ready: dashboard on ${dashboardUrl(config, port)}; node ${node}, ${hal}; ` +
          `${describeStores(config, running.events, running.state)} (config: ${source})`,
      );
    }
  } catch (e) {
    await stop("start-up failed");
    if (e instanceof ConfigError || (e instanceof Error && e.name === "AccessConfigError")) {
      // Found while starting (a directory that takes no file, a LAN hub nobody can log in to):
      // the same exit as a taken bus.
      say("error", e.message);
      return 3;
    }
    const what = e instanceof StartError && e.what ? e.what : LABEL[mode];
    const why = e instanceof NodeTakenError || e instanceof BusLockError ? 3 : 1;
    say("error", `Cannot start ${what}: ${(e as Error).message ?? e}`);
    return why;
  }
  const done = Promise.withResolvers<string>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => done.resolve(sig));
  await stop(await done.promise);
  return 0;
}

/** `main.ts token create|list|revoke …`: the hub's API tokens, with `--config PATH` like the modes. */
async function tokenCommand(args: string[]): Promise<number> {
  const at = args.findIndex((a) => a === "--config" || a === "-c" || a.startsWith("--config="));
  const configPath = at < 0 ? undefined : args[at].startsWith("--config=") ? args[at].slice(9) : args[at + 1];
  try {
    const { config } = await loadConfig({ configPath });
    const { runTokenCli } = await hubModule();
    return await runTokenCli(args, config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return 2;
  }
}

/** Where a person opens the dashboard. */
function dashboardUrl(config: Config, port: number): string {
  const host = config.hub.host;
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  const note = host === "0.0.0.0" || host === "::" ? ` (listening on every interface, ${host})` : "";
  return `http://${shown}:${port}/${note}`;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
