/**
 * HARVESTER entry point and composition root: the only file that picks concrete backends.
 *
 * ```sh
 * deno run --allow-all main.ts start  [--config PATH] [--port N]   # broker + hub in one process
 * deno run --allow-all main.ts broker [--config PATH]              # the hardware owner alone
 * deno run --allow-all main.ts hub    [--config PATH] [--port N]   # the hub alone
 * ```
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Config,
  ConfigError,
  grantFor,
  halOptionsFrom,
  loadConfig,
  loadPermissions,
  type Permissions,
  pluginConfig,
} from "./config/mod.ts";
import type { Hal } from "./hal/mod.ts";
import { SimHal } from "./hal/sim/mod.ts";
import { SimBme680 } from "./hal/sim/bme680.ts";
import { SimSsd1306 } from "./hal/sim/ssd1306.ts";
import { LinuxHal } from "./hal/linux/mod.ts";
import { createEvents, type Events } from "./services/events/mod.ts";
import { createSharedState } from "./services/shm/mod.ts";
import type { SharedState } from "./services/shm/snapshot.ts";
import { Scheduler } from "./services/scheduler/mod.ts";
import { PluginHost } from "./services/plugin_host/mod.ts";
import {
  acquireBusLocks,
  Broker,
  BusLockError,
  BuzzerPlayer,
  LedBuffer,
  type LogLine,
  LogRing,
} from "./services/broker/mod.ts";
import {
  type CommandClient,
  LocalCommandBus,
  RedisCommandClient,
  RedisCommandServer,
  UnixCommandClient,
  UnixCommandServer,
} from "./services/commands/mod.ts";
import { commandRunner, SpokePusher } from "./services/spoke/mod.ts";
import {
  AccessConfigError,
  createHub,
  hubAccessOptions,
  isLoopback,
  LOOPBACK_HINT,
  runTokenCli,
} from "./services/hub/mod.ts";

const ROOT = dirname(fileURLToPath(import.meta.url));
const MODES = ["start", "broker", "hub"] as const;
/** Plugins shipped with HARVESTER: trusted to share one sandbox process unless config says otherwise. */
const FIRST_PARTY = new Set(["bme680", "dht22", "system-monitor", "oled", "anima"]);
type Mode = typeof MODES[number];

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
  return config.shm.backend === "file" || config.shm.backend === "memory" ? undefined : config.shm.redis_url;
}

function stateDir(config: Config): string {
  return isAbsolute(config.state.dir) ? config.state.dir : resolve(Deno.cwd(), config.state.dir);
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
  });
  const state = await createSharedState({
    backend: config.shm.backend,
    node,
    redisUrl,
    fileDir: config.shm.file_dir,
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

async function startBroker(
  config: Config,
  source: string,
  closers: Closer[],
  local?: LocalCommandBus,
): Promise<RunningBroker> {
  const node = config.cluster.node_id;
  const logs = new LogRing({ level: config.logging.level });
  const locks = acquireBusLocks(busResources(config), lockDir(config));
  closers.push(() => locks.release());
  const { events, state } = await openStores(config);
  closers.push(() => events.close(), () => state.close());
  const emitter = events.emitter;
  const hal = openHal(config);
  closers.push(() => hal.close());
  const leds = new LedBuffer(hal.leds, emitter);
  const buzzer = new BuzzerPlayer(hal.buzzer, emitter, { minIntervalMs: config.buzzer.min_interval_ms });
  const { perms, path: permsPath } = await permissionsFor(source);
  logs.log("info", "broker", `permissions from ${permsPath ?? "nowhere: plugins get no hardware"}`);
  const configured = new Set(Object.keys(config.plugins));
  const plugins = new PluginHost({
    // HARVESTER_PLUGINS_DIR points the broker at another plugin tree (tests, staging).
    pluginsDir: Deno.env.get("HARVESTER_PLUGINS_DIR") ?? join(ROOT, "plugins"),
    sdkDir: join(Deno.env.get("HARVESTER_PLUGINS_DIR") ?? join(ROOT, "plugins"), "sdk"),
    node,
    grants: (id) => grantFor(perms, id),
    settings: (id) => {
      const p = pluginConfig(config, id);
      return {
        enabled: p.enabled,
        cadence_seconds: p.cadence_seconds,
        priority: p.priority,
        // A plugin that is neither first-party nor named in config gets a process of its own.
        isolation: configured.has(id) || FIRST_PARTY.has(id) ? p.isolation : "process",
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
    emit: emitter,
    stateDir: join(stateDir(config), "plugins"),
    watch: true,
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
  if (local) {
    const unregister = local.register(node, handler);
    closers.push(unregister);
  } else if (redisUrl && events.kind === "redis") {
    const server = new RedisCommandServer({ url: redisUrl, node, handler });
    await server.start();
    closers.push(() => server.stop());
  } else {
    const server = new UnixCommandServer({ path: controlSocket(config), node, handler });
    await server.start();
    closers.push(() => server.stop());
  }

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
  logs.log(
    "info",
    "broker",
    `node ${node} running (${hal.backend} HAL, ${events.kind} events, ${state.kind} state)`,
  );
  return { broker, logs, events, state };
}

async function startHub(
  config: Config,
  closers: Closer[],
  local?: { bus: LocalCommandBus; running: RunningBroker },
): Promise<{ port: number }> {
  const node = config.cluster.node_id;
  let events: Events;
  let state: SharedState;
  let commands: CommandClient;
  let logs: (n: string) => LogLine[] = () => [];
  if (local) {
    ({ events, state } = local.running);
    commands = local.bus;
    const ring = local.running.logs;
    logs = (n) => (n === node ? ring.lines() : []);
  } else {
    ({ events, state } = await openStores(config));
    closers.push(() => events.close(), () => state.close());
    const redisUrl = redisUrlOf(config);
    commands = redisUrl && events.kind === "redis"
      ? new RedisCommandClient({ url: redisUrl })
      : new UnixCommandClient({ path: controlSocket(config) });
    closers.push(() => commands.close());
  }
  const hub = createHub({
    node,
    role: config.cluster.role === "spoke" ? "spoke" : config.cluster.role === "hub" ? "hub" : "standalone",
    state,
    events: events.log,
    emit: events.emitter,
    commands,
    tokens: { write: config.hub.token ?? null, spokes: config.cluster.spoke_tokens },
    access: await hubAccessOptions(config.hub, stateDir(config)),
    corsOrigins: config.hub.cors_origins,
    bodyLimitBytes: config.hub.body_limit_bytes,
    pushIntervalSeconds: config.cluster.push_interval_seconds,
    dashboardDir: join(ROOT, "services", "hub", "dashboard"),
    logs,
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
        ],
      };
    },
  });
  const server = await hub.listen(config.hub.port, config.hub.host);
  closers.push(() => hub.close());
  if (isLoopback(config.hub.host)) console.error(LOOPBACK_HINT);
  return { port: server.port };
}

/** Run `mode` until SIGINT/SIGTERM. Returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "token") {
    const loaded = await loadConfig({ args: args.slice(1) }).catch((e) => e);
    if (loaded instanceof ConfigError) return (console.error(loaded.message), 2);
    if (loaded instanceof Error) throw loaded;
    return await runTokenCli(args.slice(1), loaded.config);
  }
  const mode = (args[0] ?? "start") as Mode;
  if (!MODES.includes(mode)) {
    console.error(`Cannot start: unknown mode "${args[0]}" (use start, broker or hub)`);
    return 2;
  }
  let config: Config;
  let source: string;
  try {
    ({ config, source } = await loadConfig({ args: args.slice(1) }));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  const closers: Closer[] = [];
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`harvester: stopping (${why})`);
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (e) {
        console.error(`harvester: while stopping: ${(e as Error).message ?? e}`);
      }
    }
  };
  try {
    const node = config.cluster.node_id;
    if (mode === "broker") {
      await startBroker(config, source, closers);
      console.error(`harvester broker: node ${node} (config: ${source})`);
    } else if (mode === "hub") {
      const { port } = await startHub(config, closers);
      console.error(`harvester hub: node ${node} on http://${config.hub.host}:${port}/ (config: ${source})`);
    } else {
      const bus = new LocalCommandBus();
      closers.push(() => bus.close());
      const running = await startBroker(config, source, closers, bus);
      const { port } = await startHub(config, closers, { bus, running });
      console.error(`harvester: node ${node} on http://${config.hub.host}:${port}/ (config: ${source})`);
    }
  } catch (e) {
    await stop("start-up failed");
    if (e instanceof BusLockError || e instanceof ConfigError || e instanceof AccessConfigError) {
      console.error(e.message);
      return 3;
    }
    console.error(`Cannot start ${mode}: ${(e as Error).message ?? e}`);
    return 1;
  }
  const done = Promise.withResolvers<string>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => done.resolve(sig));
  await stop(await done.promise);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
