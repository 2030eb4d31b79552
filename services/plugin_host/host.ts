/**
 * The plugin host: discovers plugin folders, bundles and checks each plugin, runs it in a
 * sandbox process (its own, or the shared one for trusted plugins), routes capability calls
 * through the {@link CapabilityBroker}, supervises (deadlines, restarts with exponential
 * backoff, quarantine), persists the `state` capability, and hot-reloads on file changes.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PluginManifest, Reading } from "../../plugins/sdk/mod.ts";
import type { PluginRunStatus } from "../shm/snapshot.ts";
import type { EventSink } from "../events/event.ts";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";
import type { BackoffOptions } from "./backoff.ts";
import { bootstrapBundle, bundlePlugin } from "./bundle.ts";
import { CapabilityBroker } from "./capabilities.ts";
import type { HostServices } from "./capabilities.ts";
import { EvictedError, PluginError } from "./errors.ts";
import { effectiveGrant } from "./grant.ts";
import type { EffectiveGrant, PluginGrant } from "./grant.ts";
import { cleanText, isReservedId, PathRedactor } from "./log_text.ts";
import { readManifest } from "./manifest.ts";
import { clampManifest, DEFAULT_MANIFEST_POLICY } from "./clamp.ts";
import type { ManifestPolicy } from "./clamp.ts";
import { checkReadings } from "./readings.ts";
import { checkPluginFolder, DEFAULT_FOLDER_LIMITS } from "./folder_check.ts";
import type { FolderLimits } from "./folder_check.ts";
import type { ReadingLimits } from "./readings.ts";
import type { CallName } from "./protocol.ts";
import { RUNTIME_ALLOWANCE_MB, SandboxProcess } from "./sandbox.ts";
import type { SandboxExit } from "./sandbox.ts";
import { StateStore } from "./state_store.ts";
import type { ThrottleLimits } from "./throttle.ts";
import type { RateBudget } from "./budget.ts";

/** `[plugins.<id>]` as the host needs it. */
export interface PluginSettings {
  enabled: boolean;
  cadence_seconds?: number;
  priority?: number;
  /**
   * `process` (default): own sandbox process; `shared`: the one shared process, own worker;
   * `trusted`: the shared process and one worker with the other trusted plugins (least memory,
   * no boundary between them).
   */
  isolation?: "process" | "shared" | "trusted";
  deadline_ms?: number;
  memory_mb?: number;
  /** Passed to the plugin as `ctx.settings` (also read: `i2c_bus`, `gpio_chip`, `spi_bus`, `spi_cs`, `uart_path`). */
  settings?: Record<string, unknown>;
}

/** Timer functions (inject fake ones in tests). Used for backoff and the state flush. */
export interface HostTimers {
  setTimeout(cb: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(cb: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Options of {@link PluginHost}. */
export interface PluginHostOptions {
  /** Folder of plugin folders (`<id>/manifest.json`); `sdk` and `_*` are not plugins. */
  pluginsDir: string;
  /** The SDK folder: the only place outside its own folder a plugin may import from. */
  sdkDir: string;
  node: string;
  grants: (id: string) => PluginGrant | undefined;
  settings: (id: string) => PluginSettings | undefined;
  services: HostServices;
  emit: EventSink;
  /** Where `<plugin>.json` state files live. */
  stateDir: string;
  /** Watch `pluginsDir` and hot-reload (default false). */
  watch?: boolean;
  clock?: { now(): number };
  timers?: HostTimers;
  backoff?: Partial<BackoffOptions>;
  /** State flush period (default 5 minutes). */
  stateFlushMs?: number;
  /** Capability call budget per plugin. */
  limits?: ThrottleLimits;
  /** Heap cap of a per-plugin sandbox when settings give none (default 128 MiB). */
  defaultMemoryMb?: number;
  /** Heap cap of the shared sandbox (default 256 MiB). */
  sharedMemoryMb?: number;
  /** A cgroup v2 folder the host may create sandbox cgroups in (kernel-enforced `memory.max`). */
  cgroupDir?: string;
  /** Bounds of a plugin folder, checked before any tool reads it. */
  folderLimits?: Partial<FolderLimits>;
  /** Time and resident memory one resolver/bundler run may take (default 60 s, 512 MiB). */
  bundleLimits?: { timeoutMs?: number; memoryMb?: number };
  /** Longest `start()` waits for plugins to load; slower ones keep loading (default 30 s). */
  startBudgetMs?: number;
  /** Quiet time after the last file event before rescanning (default 150 ms). */
  watchDebounceMs?: number;
  /** Bounds of the readings one plugin makes the broker hold (see readings.ts). */
  readingLimits?: Partial<ReadingLimits>;
  /** Log lines per plugin (rate and burst; default 20/s, burst 200). */
  logBudget?: RateBudget;
  /** What a manifest may grant itself without config (priority, cadence, deadline, field sizes). */
  manifestPolicy?: Partial<ManifestPolicy>;
}

/** What {@link PluginHost.status} returns. */
export interface PluginHostStatus {
  status: PluginRunStatus;
  restarts: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastPollAt: string | null;
  version: string;
}

/** A change the scheduler follows. */
export interface PluginChange {
  kind: "added" | "removed" | "reloaded";
  id: string;
}

/** One sandbox process, for monitoring and the benchmark. */
export interface SandboxInfo {
  group: string;
  pid: number;
  plugins: string[];
  rssBytes: number | null;
}

interface Entry {
  id: string;
  dir: string;
  manifest?: PluginManifest;
  grant: EffectiveGrant;
  enabled: boolean;
  group: string;
  /** The pooled worker it shares in the shared process (`trusted` isolation), else undefined. */
  pool?: string;
  deadlineMs: number;
  memoryMb: number;
  settings: Record<string, unknown>;
  status: PluginRunStatus;
  restarts: number;
  /** Failures within the backoff window. */
  failures: number;
  /** When those failures happened (monotonic ms, at most `maxFailures` kept). */
  failureTimes: number[];
  lastError: string | null;
  lastErrorAt: string | null;
  lastPollAt: string | null;
  state?: StateStore;
  retry?: unknown;
  fingerprint: string;
  generation: number;
  /** Checked bundle, reused by restarts (a reload makes a new entry). */
  code?: string;
  /** Sensor ids it has published (bounded by the reading limits). */
  sensors: Set<string>;
}

interface Group {
  key: string;
  memoryMb: number;
  sandbox?: SandboxProcess;
  starting?: Promise<SandboxProcess>;
}

const DEFAULT_DEADLINE_MS = 2000;
const SHARED = "shared";
/** Isolation (and pool key) of the plugins that share one worker in the shared process. */
const TRUSTED = "trusted";
/** Whether an isolation setting puts the plugin in the one shared sandbox process. */
const inSharedProcess = (isolation: PluginSettings["isolation"]) =>
  isolation === SHARED || isolation === TRUSTED;
/** The HARVESTER checkout (for redacting host paths out of plugin text). */
const HOST_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const realTimers: HostTimers = {
  setTimeout: (cb, ms) => setTimeout(cb, ms),
  clearTimeout: (h) => clearTimeout(h as number),
  setInterval: (cb, ms) => setInterval(cb, ms),
  clearInterval: (h) => clearInterval(h as number),
};

/**
 * Runs every plugin under `pluginsDir` in sandbox processes and checks every capability call.
 *
 * @example
 * ```ts ignore
 * const host = new PluginHost({ pluginsDir: "plugins", sdkDir: "plugins/sdk", node: "pi", grants, settings,
 *   services, emit, stateDir: "/var/lib/harvester/state", watch: true });
 * await host.start();
 * const readings = await host.poll("bme680");
 * await host.stop();
 * ```
 */
export class PluginHost {
  readonly #o: PluginHostOptions;
  readonly #now: () => number;
  /** Monotonic ms (the injected clock in tests). */
  readonly #mono: () => number;
  readonly #timers: HostTimers;
  readonly #backoff: BackoffOptions;
  readonly #caps: CapabilityBroker;
  readonly #entries = new Map<string, Entry>();
  readonly #groups = new Map<string, Group>();
  readonly #listeners = new Set<(c: PluginChange) => void>();
  #bootstrap = "";
  #running = false;
  #flushTimer?: unknown;
  #watcher?: Deno.FsWatcher;
  #watchLoop?: Promise<void>;
  #debounce?: ReturnType<typeof setTimeout>;
  #rescanning: Promise<void> = Promise.resolve();
  #sdkFingerprint = "";
  readonly #starts = new Set<Promise<void>>();
  readonly #paths: PathRedactor;
  /** Aborted at stop: kills every resolver and bundler still running. */
  #abort = new AbortController();
  /** Plugins with an add or reload in progress (discovery never waits for one of them). */
  readonly #busy = new Set<string>();

  constructor(options: PluginHostOptions) {
    this.#o = options;
    this.#now = options.clock ? () => options.clock!.now() : () => Date.now();
    this.#mono = options.clock ? () => options.clock!.now() : () => performance.now();
    this.#timers = options.timers ?? realTimers;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#paths = new PathRedactor({
      "<plugins>": resolve(options.pluginsDir),
      "<sdk>": resolve(options.sdkDir),
      "<state>": resolve(options.stateDir),
      "<harvester>": HOST_ROOT,
      "<cwd>": Deno.cwd(),
    });
    this.#caps = new CapabilityBroker({
      services: { ...options.services, log: (plugin, level, message) => this.#log(plugin, level, message) },
      emit: options.emit,
      // Rate limits run on the monotonic clock: a wall-clock step must not open or shut them.
      now: options.clock ? this.#now : () => performance.now(),
      limits: options.limits,
      logBudget: options.logBudget,
    });
  }

  #trusted(id: string): boolean {
    return inSharedProcess(this.#o.settings(id)?.isolation);
  }

  /** Plugin-supplied text as the host passes it on: escaped, bounded, without host paths. */
  #clean(text: string, max = 2000): string {
    return this.#paths.redact(cleanText(text, max));
  }

  #log(source: string, level: "debug" | "info" | "warn" | "error", message: string): void {
    this.#o.services.log(source, level, this.#clean(message));
  }

  /**
   * Discover and start every plugin; resolves when each has loaded or failed, or when the start
   * budget is spent (slower plugins keep loading in the background).
   */
  async start(): Promise<void> {
    if (this.#running) throw new Error("Cannot start plugin host: already running");
    this.#running = true;
    try {
      if (!(await Deno.stat(this.#o.pluginsDir)).isDirectory) throw new Error("not a directory");
    } catch (e) {
      this.#running = false;
      throw new PluginError(
        "(host)",
        `Cannot start plugin host: plugins folder "${this.#o.pluginsDir}" is missing (${
          (e as Error).message
        })`,
      );
    }
    await Deno.mkdir(this.#o.stateDir, { recursive: true });
    this.#bootstrap = await bootstrapBundle();
    this.#sdkFingerprint = await fingerprint(this.#o.sdkDir);
    const found = await this.#scan();
    this.#abort = new AbortController();
    // One slow plugin (a huge graph, a stuck bundler) delays start-up by at most the budget.
    // Trusted (shared-sandbox) plugins first: bundling runs a few at a time.
    const order = [...found].sort(([a], [b]) => Number(!this.#trusted(a)) - Number(!this.#trusted(b)));
    let late = false;
    const all = Promise.all(order.map(([id, fp]) =>
      this.#track(this.#add(id, fp)).then(() => {
        // Loaded after start() returned: tell the followers (the broker schedules it then).
        if (late && this.#running) this.#notify({ kind: "added", id });
      })
    ));
    let budget: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      all,
      new Promise<void>((r) =>
        budget = setTimeout(() => {
          late = true;
          r();
        }, this.#o.startBudgetMs ?? 30_000)
      ),
    ]);
    clearTimeout(budget);
    this.#flushTimer = this.#timers.setInterval(
      () => void this.persistState(),
      this.#o.stateFlushMs ?? 300_000,
    );
    if (this.#o.watch) this.#startWatch();
  }

  /** Stop every plugin, persist state, end every sandbox process and the watcher. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#abort.abort();
    this.#watcher?.close();
    await this.#watchLoop;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    await this.#rescanning;
    if (this.#flushTimer !== undefined) this.#timers.clearInterval(this.#flushTimer);
    for (const e of this.#entries.values()) {
      e.generation++;
      this.#clearRetry(e);
      e.status = "stopped";
    }
    await Promise.allSettled([...this.#starts]);
    await this.persistState();
    await Promise.all([...this.#groups.values()].map((g) => this.#closeGroup(g)));
    this.#caps.close();
  }

  /** Ids of every plugin found (running or not). */
  ids(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** A plugin's manifest, or undefined when it has none that is valid. */
  manifest(id: string): PluginManifest | undefined {
    return this.#entries.get(id)?.manifest;
  }

  /**
   * A plugin's run status.
   *
   * @throws {PluginError} for an unknown id
   */
  status(id: string): PluginHostStatus {
    const e = this.#entry(id, "get status of");
    return {
      status: e.status,
      restarts: e.restarts,
      lastError: e.lastError,
      lastErrorAt: e.lastErrorAt,
      lastPollAt: e.lastPollAt,
      version: e.manifest?.version ?? "",
    };
  }

  /**
   * Capability requests a plugin has sent that waited for an answer (round trips through its
   * sandbox to the broker; logging is not counted) since it was first started.
   */
  capabilityRoundTrips(id: string): number {
    return this.#caps.roundTrips(this.#entry(id, "count round trips of").id);
  }

  /**
   * Run a plugin's `poll()`.
   *
   * @returns its readings (validated)
   * @throws {PluginError} when it is not running, throws, returns bad readings or misses its deadline
   */
  async poll(id: string): Promise<Reading[]> {
    const e = this.#entry(id, "poll");
    const value = await this.#call(e, "poll", []);
    let readings: Reading[];
    try {
      readings = checkReadings(value, {
        plugin: id,
        plugins: this.#entries.keys(),
        sensors: e.sensors,
        now: Date.now(),
        limits: this.#o.readingLimits,
      });
    } catch (err) {
      this.#fail(e, (err as Error).message, "pause");
      throw err;
    }
    e.lastPollAt = new Date(this.#now()).toISOString();
    return readings;
  }

  /** Run a plugin's `update(snapshot)`. */
  async update(id: string, snapshot: unknown): Promise<void> {
    await this.#call(this.#entry(id, "update"), "update", [snapshot]);
  }

  /** Run a plugin's `render(snapshot)`; returns what it rendered (or undefined). */
  async render(id: string, snapshot: unknown): Promise<string | undefined> {
    const v = await this.#call(this.#entry(id, "render"), "render", [snapshot]);
    return typeof v === "string" ? v : undefined;
  }

  /** Deliver an event to a plugin's `onEvent`. */
  async onEvent(id: string, event: unknown): Promise<void> {
    await this.#call(this.#entry(id, "send an event to"), "onEvent", [event]);
  }

  /** Run a command addressed to a plugin (e.g. anima's `set_name`). */
  command(id: string, name: string, args: Record<string, unknown> = {}): Promise<unknown> {
    return this.#call(this.#entry(id, "send a command to"), "command", [name, args]);
  }

  /**
   * Reload one plugin from disk (manifest, grant, code); others are not touched. Clears quarantine.
   *
   * @throws {PluginError} for an unknown id
   */
  async reload(id: string): Promise<void> {
    const e = this.#entry(id, "reload");
    await this.#unloadEntry(e);
    this.#entries.delete(id);
    const fp = await fingerprint(e.dir);
    await this.#add(id, fp);
    this.#o.emit.emit("plugin.reload", {
      plugin: id,
      version: this.#entries.get(id)?.manifest?.version ?? "",
    });
    this.#notify({ kind: "reloaded", id });
  }

  /** Write every changed `state` store to disk now. */
  async persistState(): Promise<void> {
    for (const e of this.#entries.values()) {
      try {
        await e.state?.flush();
      } catch (err) {
        this.#o.emit.emit("error", {
          source: "plugin_host",
          plugin: e.id,
          message: `Cannot persist state: ${(err as Error).message}`,
        });
      }
    }
  }

  /** Follow added/removed/reloaded plugins; returns an unsubscribe function. */
  onChange(cb: (change: PluginChange) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Every live sandbox process with its plugins and resident memory. */
  async sandboxes(): Promise<SandboxInfo[]> {
    const out: SandboxInfo[] = [];
    for (const g of this.#groups.values()) {
      if (!g.sandbox?.alive) continue;
      out.push({
        group: g.key,
        pid: g.sandbox.pid,
        plugins: [...this.#entries.values()].filter((e) => e.group === g.key && e.status === "running").map((
          e,
        ) => e.id),
        rssBytes: await g.sandbox.rssBytes(),
      });
    }
    return out;
  }

  // ---- lifecycle ------------------------------------------------------------------------

  #entry(id: string, action: string): Entry {
    const e = this.#entries.get(id);
    if (!e) throw new PluginError(id, `Cannot ${action} plugin "${id}": no such plugin`);
    return e;
  }

  async #add(id: string, fp: string): Promise<void> {
    const dir = join(this.#o.pluginsDir, id);
    const conf = this.#o.settings(id) ?? { enabled: true };
    const e: Entry = {
      id,
      dir,
      grant: effectiveGrant([], undefined),
      enabled: conf.enabled !== false,
      group: inSharedProcess(conf.isolation) ? SHARED : `process:${id}`,
      pool: conf.isolation === TRUSTED ? TRUSTED : undefined,
      deadlineMs: conf.deadline_ms ?? DEFAULT_DEADLINE_MS,
      memoryMb: conf.memory_mb ?? this.#o.defaultMemoryMb ?? 128,
      settings: { ...(conf.settings ?? {}) },
      status: "starting",
      restarts: 0,
      failures: 0,
      failureTimes: [],
      lastError: null,
      lastErrorAt: null,
      lastPollAt: null,
      fingerprint: fp,
      generation: 0,
      sensors: new Set(),
    };
    this.#entries.set(id, e);
    if (isReservedId(id)) {
      this.#quarantine(e, `Cannot load plugin "${id}": the name is reserved for the host`);
      return;
    }
    // Before any tool opens a file in it: no FIFO, device, socket, escaping symlink or huge file.
    const bad = await checkPluginFolder(dir, { ...DEFAULT_FOLDER_LIMITS, ...this.#o.folderLimits });
    if (bad) {
      this.#quarantine(e, `Cannot load plugin "${id}": ${bad}`);
      return;
    }
    try {
      e.manifest = await readManifest(dir, id);
    } catch (err) {
      this.#quarantine(e, (err as Error).message);
      return;
    }
    const { manifest, clamps } = clampManifest(
      e.manifest,
      { ...DEFAULT_MANIFEST_POLICY, ...this.#o.manifestPolicy },
      conf,
    );
    e.manifest = manifest;
    if (clamps.length > 0) {
      this.#o.emit.emit("plugin.clamped", { plugin: id, clamps });
      this.#o.services.log(id, "warn", `manifest clamped by the host's policy: ${clamps.join("; ")}`);
    }
    e.deadlineMs = conf.deadline_ms ?? e.manifest.deadline_ms ?? DEFAULT_DEADLINE_MS;
    e.grant = effectiveGrant(e.manifest.world.imports, this.#o.grants(id));
    if (e.manifest.world.imports.includes("state")) {
      e.state = new StateStore(this.#o.stateDir, id);
      const r = await e.state.load();
      if (r.error) this.#o.emit.emit("plugin.error", { plugin: id, message: r.error });
    }
    if (!e.enabled) {
      e.status = "disabled";
      return;
    }
    await this.#track(this.#startPlugin(e));
  }

  async #track(p: Promise<void>): Promise<void> {
    this.#starts.add(p);
    try {
      await p;
    } finally {
      this.#starts.delete(p);
    }
  }

  async #startPlugin(e: Entry): Promise<void> {
    const gen = ++e.generation;
    e.status = "starting";
    let code: string;
    try {
      code = e.code ??= await bundlePlugin({
        id: e.id,
        dir: e.dir,
        main: e.manifest!.main ?? "mod.ts",
        sdkDir: this.#o.sdkDir,
        ...this.#o.bundleLimits,
        signal: this.#abort.signal,
      });
    } catch (err) {
      // A refused or broken bundle does not fix itself: quarantine until the files change.
      if (gen === e.generation) this.#quarantine(e, (err as Error).message);
      return;
    }
    if (gen !== e.generation || !this.#running) return;
    let sb: SandboxProcess | undefined;
    try {
      sb = await this.#sandboxFor(e);
      if (gen !== e.generation || !this.#running) return;
      await sb.load(
        e.id,
        code,
        e.grant,
        e.settings,
        this.#o.services.leds.count,
        Math.max(e.deadlineMs, 3000),
        e.pool,
      );
      if (gen !== e.generation) return;
      e.status = "running";
      this.#o.emit.emit("plugin.start", {
        plugin: e.id,
        version: e.manifest!.version,
        isolation: e.pool ?? (e.group === SHARED ? SHARED : "process"),
        pid: sb.pid,
      });
    } catch (err) {
      if (gen !== e.generation || !this.#running) return;
      // A neighbour in its pooled worker failed while this one loaded: load again, no blame.
      if (err instanceof EvictedError) return void this.#track(this.#startPlugin(e));
      this.#fail(e, (err as Error).message, "restart");
    }
  }

  async #sandboxFor(e: Entry): Promise<SandboxProcess> {
    let g = this.#groups.get(e.group);
    if (!g) {
      g = { key: e.group, memoryMb: e.group === SHARED ? (this.#o.sharedMemoryMb ?? 256) : e.memoryMb };
      this.#groups.set(e.group, g);
    }
    if (g.sandbox?.alive && !g.sandbox.dying) return g.sandbox;
    if (g.starting) return g.starting;
    const group = g;
    group.starting = SandboxProcess.spawn({
      memoryMb: group.memoryMb,
      cgroupDir: this.#o.cgroupDir,
      bootstrap: this.#bootstrap,
      handlers: {
        capability: (plugin, method, args, wantsReply) => {
          const t = this.#entries.get(plugin);
          if (!t || t.group !== group.key) {
            return Promise.reject(
              new PluginError(plugin, `Cannot serve plugin "${plugin}": it does not run in this sandbox`),
            );
          }
          return this.#caps.handle(
            { id: t.id, grant: t.grant, settings: t.settings, state: t.state },
            method,
            args,
            wantsReply,
          );
        },
        crash: (plugin, error) => {
          const t = this.#entries.get(plugin);
          if (t && t.group === group.key) {
            this.#fail(t, `Plugin "${plugin}" crashed: ${error.message}`, "restart");
          }
        },
        evicted: (plugin) => {
          const t = this.#entries.get(plugin);
          // Innocent: reloaded at once, like a neighbour of a restarted process.
          if (t && t.group === group.key && t.status === "running") void this.#track(this.#startPlugin(t));
        },
        exit: (info) => this.#sandboxExited(group, sb, info),
        stderr: (line) =>
          this.#log(
            group.key === SHARED ? "sandbox:shared" : group.key.slice("process:".length),
            "warn",
            line,
          ),
      },
    });
    let sb: SandboxProcess | undefined;
    try {
      sb = await group.starting;
      group.sandbox = sb;
      return sb;
    } finally {
      group.starting = undefined;
    }
  }

  #sandboxExited(g: Group, sb: SandboxProcess | undefined, info: SandboxExit): void {
    if (sb && g.sandbox !== sb) return; // an older process of this group
    g.sandbox = undefined;
    if (!this.#running || info.killedFor === "close") return;
    const members = [...this.#entries.values()].filter((e) => e.group === g.key);
    const killedForPlugin = members.find((e) => e.id === info.killedFor);
    const offenders = killedForPlugin
      ? [killedForPlugin.id]
      : info.busy.length > 0
      ? info.busy
      : members.map((e) => e.id);
    const why = info.residentBytes !== undefined
      ? `its sandbox ran out of memory (resident ${
        Math.round(info.residentBytes / (1024 * 1024))
      } MB over its limit of ${g.memoryMb + RUNTIME_ALLOWANCE_MB} MB)`
      : info.outOfMemory
      ? `its sandbox ran out of memory (limit ${g.memoryMb} MB)`
      : info.killedFor
      ? `its sandbox was killed (${info.killedFor})`
      : `its sandbox exited with code ${info.code}${info.signal ? ` (${info.signal})` : ""}`;
    for (const e of members) {
      if (e.status !== "running" && e.status !== "starting") continue;
      if (offenders.includes(e.id)) this.#fail(e, `Cannot run plugin "${e.id}": ${why}`, "restart");
      else void this.#track(this.#startPlugin(e)); // innocent neighbour: reload at once, state kept by the broker
    }
  }

  #fail(e: Entry, message: string, mode: "restart" | "pause"): void {
    if (
      e.status === "backoff" || e.status === "quarantined" || e.status === "stopped" ||
      e.status === "disabled"
    ) return;
    // Crash loops are counted in a window, not as a streak: one good poll between failures
    // does not start the count over.
    const t = this.#mono();
    e.failureTimes.push(t);
    while (e.failureTimes.length > 0 && t - e.failureTimes[0] > this.#backoff.windowMs) {
      e.failureTimes.shift();
    }
    if (e.failureTimes.length > this.#backoff.maxFailures) e.failureTimes.shift();
    e.failures = e.failureTimes.length;
    message = this.#clean(message, 1000);
    e.lastError = message;
    e.lastErrorAt = new Date(this.#now()).toISOString();
    this.#o.emit.emit("plugin.error", { plugin: e.id, message, failures: e.failures });
    if (e.failures >= this.#backoff.maxFailures) {
      this.#quarantine(e, message);
      return;
    }
    const delayMs = backoffDelay(e.failures, this.#backoff);
    e.status = "backoff";
    e.generation++;
    if (mode === "restart") this.#unloadWorker(e);
    this.#o.emit.emit("plugin.backoff", {
      plugin: e.id,
      delayMs,
      failures: e.failures,
      restart: mode === "restart",
    });
    e.retry = this.#timers.setTimeout(() => {
      e.retry = undefined;
      if (!this.#running || e.status !== "backoff") return;
      if (mode === "pause") {
        e.status = "running";
        return;
      }
      e.restarts++;
      this.#o.emit.emit("plugin.restart", { plugin: e.id, restarts: e.restarts, failures: e.failures });
      void this.#track(this.#startPlugin(e));
    }, delayMs);
  }

  #quarantine(e: Entry, reason: string): void {
    reason = this.#clean(reason, 1000);
    this.#clearRetry(e);
    e.generation++;
    e.status = "quarantined";
    e.lastError = reason;
    e.lastErrorAt = new Date(this.#now()).toISOString();
    this.#unloadWorker(e);
    this.#o.emit.emit("plugin.quarantine", { plugin: e.id, failures: e.failures, reason });
  }

  /** Stop the plugin's worker; an own process is ended (a busy one is killed). */
  #unloadWorker(e: Entry): void {
    const g = this.#groups.get(e.group);
    if (!g?.sandbox) return;
    if (g.key === SHARED) g.sandbox.unload(e.id);
    else void this.#closeGroup(g);
  }

  async #closeGroup(g: Group): Promise<void> {
    const sb = g.sandbox ?? await g.starting?.catch(() => undefined);
    g.sandbox = undefined;
    if (sb) await sb.close(500);
  }

  #clearRetry(e: Entry): void {
    if (e.retry !== undefined) this.#timers.clearTimeout(e.retry);
    e.retry = undefined;
  }

  async #unloadEntry(e: Entry): Promise<void> {
    e.generation++;
    this.#clearRetry(e);
    e.status = "stopped";
    await e.state?.flush().catch(() => {});
    const g = this.#groups.get(e.group);
    if (g && g.key !== SHARED) {
      await this.#closeGroup(g);
      this.#groups.delete(g.key);
    } else g?.sandbox?.unload(e.id);
  }

  async #call(e: Entry, fn: CallName, args: unknown[]): Promise<unknown> {
    if (e.status !== "running") {
      throw new PluginError(e.id, `Cannot ${fn} plugin "${e.id}": it is ${e.status}`);
    }
    const sb = this.#groups.get(e.group)?.sandbox;
    if (!sb?.alive) throw new PluginError(e.id, `Cannot ${fn} plugin "${e.id}": its sandbox is not running`);
    try {
      return await sb.call(e.id, fn, args, e.deadlineMs);
    } catch (err) {
      if (err instanceof EvictedError) throw err; // reloading already; not this plugin's failure
      if (fn !== "command" || sb.dying) this.#fail(e, (err as Error).message, sb.dying ? "restart" : "pause");
      throw err instanceof PluginError ? err : new PluginError(e.id, (err as Error).message, { cause: err });
    }
  }

  #notify(change: PluginChange): void {
    for (const cb of this.#listeners) {
      try {
        cb(change);
      } catch { /* a listener's problem is not the host's */ }
    }
  }

  // ---- discovery and hot reload ---------------------------------------------------------

  /** Plugin folders with their fingerprints. */
  async #scan(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for await (const d of Deno.readDir(this.#o.pluginsDir)) {
      if (!d.isDirectory || d.name === "sdk" || d.name.startsWith("_") || d.name.startsWith(".")) continue;
      const dir = join(this.#o.pluginsDir, d.name);
      try {
        await Deno.stat(join(dir, "manifest.json"));
      } catch {
        continue;
      }
      found.set(d.name, await fingerprint(dir));
    }
    return found;
  }

  #startWatch(): void {
    this.#watcher = Deno.watchFs(this.#o.pluginsDir, { recursive: true });
    const watcher = this.#watcher;
    this.#watchLoop = (async () => {
      try {
        for await (const _ of watcher) {
          if (this.#debounce !== undefined) clearTimeout(this.#debounce);
          this.#debounce = setTimeout(() => {
            this.#debounce = undefined;
            this.#rescanning = this.#rescanning.then(() => this.#rescan()).catch((err) =>
              this.#o.emit.emit("error", {
                source: "plugin_host",
                message: `Cannot rescan plugins: ${(err as Error).message}`,
              })
            );
          }, this.#o.watchDebounceMs ?? 150);
        }
      } catch { /* watcher closed */ }
    })();
  }

  async #rescan(): Promise<void> {
    if (!this.#running) return;
    const found = await this.#scan();
    const sdk = await fingerprint(this.#o.sdkDir);
    if (sdk !== this.#sdkFingerprint) {
      // Every bundle contains the SDK: a changed SDK reloads every plugin still present.
      this.#sdkFingerprint = sdk;
      for (const [id, e] of this.#entries) if (found.has(id)) e.fingerprint = "";
    }
    for (const [id, e] of [...this.#entries]) {
      if (found.has(id)) continue;
      await this.#unloadEntry(e);
      this.#entries.delete(id);
      this.#caps.forget(id);
      this.#o.emit.emit("plugin.removed", { plugin: id });
      this.#notify({ kind: "removed", id });
    }
    for (const [id, fp] of found) {
      if (!this.#running) return;
      if (this.#busy.has(id)) continue; // picked up by the next rescan once it is done
      const e = this.#entries.get(id);
      if (!e) {
        this.#background(id, async () => {
          await this.#add(id, fp);
          this.#o.emit.emit("plugin.discovered", {
            plugin: id,
            version: this.#entries.get(id)?.manifest?.version ?? "",
          });
          this.#notify({ kind: "added", id });
        });
      } else if (e.fingerprint !== fp) {
        this.#background(id, () => this.reload(id));
      }
    }
  }

  /** Add or reload one plugin without holding up discovery of the others. */
  #background(id: string, job: () => Promise<void>): void {
    this.#busy.add(id);
    void this.#track(
      job().catch((err) =>
        this.#o.emit.emit("error", {
          source: "plugin_host",
          plugin: id,
          message: `Cannot load plugin "${id}": ${(err as Error).message}`,
        })
      ).finally(() => this.#busy.delete(id)),
    );
  }
}

/** Sizes and modification times of every file in a plugin folder (bounded). */
async function fingerprint(dir: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (d: string, depth: number) => {
    if (depth > 4 || parts.length > 500) return;
    for await (const f of Deno.readDir(d)) {
      if (parts.length > 500) return;
      const p = join(d, f.name);
      if (f.isDirectory) await walk(p, depth + 1);
      else if (f.isFile) {
        const s = await Deno.stat(p).catch(() => null);
        if (s) parts.push(`${relative(dir, p)}:${s.size}:${s.mtime?.getTime() ?? 0}`);
      }
    }
  };
  await walk(dir, 0).catch(() => {});
  return parts.sort().join("|");
}
