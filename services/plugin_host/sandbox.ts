/**
 * Broker side of one sandbox child process: spawns it with no permissions, speaks the line
 * protocol, enforces call deadlines, relays capability requests to a handler, and reports
 * how the process ended. Untrusted code never runs in the broker's own process.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { EvictedError, PluginError } from "./errors.ts";
import type { EffectiveGrant } from "./grant.ts";
import { LineDecoder, MAX_SANDBOX_LINE, toWireError } from "./protocol.ts";
import { MemoryGuard, residentBytes } from "./memory_guard.ts";
import type { CallName, FromSandbox, ToSandbox, WireError } from "./protocol.ts";

/** How a sandbox process ended. */
export interface SandboxExit {
  code: number;
  signal: string | null;
  /** True when the V8 heap cap (`--max-old-space-size`) or the resident limit was hit. */
  outOfMemory: boolean;
  /** Set when the resident limit ended it: the resident set seen, in bytes. */
  residentBytes?: number;
  /** Why the broker killed it, when it did. */
  killedFor?: string;
  /** Plugins with a call or load in flight when it ended. */
  busy: string[];
}

/** What the owner of a sandbox handles. */
export interface SandboxHandlers {
  /** A capability request from a plugin; the value or error is sent back. */
  capability(plugin: string, method: string, args: unknown[], wantsReply: boolean): Promise<unknown>;
  /** A plugin's worker died of an uncaught error (the process lives on). */
  crash(plugin: string, error: WireError): void;
  /**
   * A neighbour in the plugin's pooled worker failed and the worker ended; `plugin` was running
   * (not loading) and is not to blame. A load in flight fails with {@link EvictedError} instead.
   */
  evicted(plugin: string, reason: string): void;
  /** The process ended (killed, crashed, out of memory). */
  exit(info: SandboxExit): void;
  /** A line the process wrote outside the protocol (stderr, or plugin console output on stdout). */
  stderr(line: string): void;
}

/** Spawn options. */
export interface SandboxOptions {
  /** Heap cap of the process in MiB. */
  memoryMb: number;
  /** Bundled worker bootstrap. */
  bootstrap: string;
  handlers: SandboxHandlers;
  /** Time allowed for the process to start and answer `init` (default 10 s). */
  startTimeoutMs?: number;
  /** Resident limit in MiB (default `memoryMb` + {@link RUNTIME_ALLOWANCE_MB}). */
  residentMb?: number;
  /** A cgroup v2 folder the service may create a child cgroup in (kernel-enforced limit). */
  cgroupDir?: string;
}

/** Resident memory the Deno runtime of a sandbox needs before any plugin code (about 50 MiB). */
export const RUNTIME_ALLOWANCE_MB = 64;

interface Waiter {
  plugin: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const SANDBOX_MAIN = fromFileUrl(new URL("./sandbox_main.ts", import.meta.url));

/**
 * The command line of a sandbox: no `--allow-*`, nothing remote, no code from strings, a heap cap,
 * and a 1 MB young generation. V8's default lets each isolate's young generation grow towards 16 MB
 * semi-spaces under a steady stream of capability calls: the sandbox's resident set climbed without
 * end (76 → 105 MB over 480 000 calls, worker heap reserved 14 → 37 MB) where with 1 MB it stays
 * at 73–81 MB, for the same call latency (bench/README.md).
 */
export function sandboxArgs(memoryMb: number): string[] {
  return [
    "run",
    "--no-prompt",
    "--no-remote",
    "--no-npm",
    "--no-config",
    "--no-lock",
    "--unstable-worker-options",
    `--v8-flags=--disallow-code-generation-from-strings,--max-old-space-size=${memoryMb},--max-semi-space-size=1`,
    SANDBOX_MAIN,
  ];
}

/**
 * One sandbox child process.
 *
 * @example
 * ```ts ignore
 * const sb = await SandboxProcess.spawn({ memoryMb: 128, bootstrap, handlers });
 * await sb.load("demo", code, grant, {}, 0, 2000);
 * const readings = await sb.call("demo", "poll", [], 2000);
 * await sb.close();
 * ```
 */
export class SandboxProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #handlers: SandboxHandlers;
  readonly #memoryMb: number;
  readonly #calls = new Map<number, Waiter>();
  readonly #loads = new Map<string, Waiter>();
  #ready?: Waiter;
  #nextId = 1;
  #killedFor?: string;
  #alive = true;
  #stderrTail = "";
  readonly #done: Promise<void>;
  readonly #encoder = new TextEncoder();
  readonly #token = crypto.randomUUID();
  /** Stray output lines per second are bounded; the rest are counted and reported once. */
  #strayWindow = 0;
  #strayCount = 0;
  #strayDropped = 0;
  readonly #guard: MemoryGuard;
  readonly #residentMb: number;
  #residentKill?: number;

  private constructor(options: SandboxOptions) {
    this.#handlers = options.handlers;
    this.#memoryMb = options.memoryMb;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: sandboxArgs(options.memoryMb),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      clearEnv: true,
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#residentMb = options.residentMb ?? options.memoryMb + RUNTIME_ALLOWANCE_MB;
    this.#guard = new MemoryGuard(this.#child.pid, {
      limitBytes: this.#residentMb * 1024 * 1024,
      cgroupDir: options.cgroupDir,
      onExceeded: (rss) => {
        if (!this.#alive || this.#killedFor !== undefined) return;
        this.#residentKill = rss;
        try {
          this.#child.kill("SIGKILL");
        } catch { /* already gone */ }
      },
    });
    this.#done = Promise.all([this.#readStdout(), this.#readStderr(), this.#child.status]).then((
      [, , status],
    ) => this.#ended(status));
  }

  /**
   * Start a sandbox process and wait until it has the bootstrap.
   *
   * @throws {PluginError} when it does not start in time
   */
  static async spawn(options: SandboxOptions): Promise<SandboxProcess> {
    const sb = new SandboxProcess(options);
    const ready = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        sb.kill("start timeout");
        reject(new PluginError("(sandbox)", "Cannot start sandbox: no answer to init in time"));
      }, options.startTimeoutMs ?? 10_000);
      sb.#ready = { plugin: "(sandbox)", resolve, reject, timer };
    });
    sb.#send({ t: "init", bootstrap: options.bootstrap, token: sb.#token });
    await ready;
    return sb;
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.#alive;
  }

  /** True once the broker has decided to kill it (or it has ended). */
  get dying(): boolean {
    return !this.#alive || this.#killedFor !== undefined;
  }

  /** Resolves when the process has ended and its pipes are drained. */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Load (or replace) a plugin in its own worker, or in the pooled worker named `worker`.
   *
   * @throws {PluginError} when loading throws, or takes longer than `deadlineMs` (the process is killed)
   * @throws {EvictedError} when a neighbour in its pooled worker failed meanwhile
   */
  load(
    plugin: string,
    code: string,
    grant: EffectiveGrant,
    settings: Record<string, unknown>,
    ledCount: number,
    deadlineMs: number,
    worker?: string,
  ): Promise<void> {
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#loads.delete(plugin);
        this.kill(plugin);
        reject(
          new PluginError(plugin, `Cannot load plugin "${plugin}": load took longer than ${deadlineMs} ms`),
        );
      }, deadlineMs);
      this.#loads.get(plugin)?.reject(
        new PluginError(plugin, `Cannot load plugin "${plugin}": replaced by a newer load`),
      );
      this.#loads.set(plugin, { plugin, resolve, reject, timer });
      this.#send({ t: "load", plugin, code, grant, settings, ledCount, ...(worker ? { worker } : {}) });
    }).then(() => undefined);
  }

  /** Stop a plugin's worker (the process stays up). */
  unload(plugin: string): void {
    this.#send({ t: "unload", plugin });
  }

  /**
   * Call a plugin export.
   *
   * @throws {PluginError} when the plugin throws, or when it runs past `deadlineMs` (the process is killed)
   */
  call(plugin: string, fn: CallName, args: unknown[], deadlineMs: number): Promise<unknown> {
    if (!this.#alive) {
      return Promise.reject(new PluginError(plugin, `Cannot call plugin "${plugin}": its sandbox has ended`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(id);
        this.kill(plugin);
        reject(
          new PluginError(
            plugin,
            `Cannot ${fn} plugin "${plugin}": no answer within its deadline of ${deadlineMs} ms`,
          ),
        );
      }, deadlineMs);
      this.#calls.set(id, { plugin, resolve, reject, timer });
      this.#send({ t: "call", id, plugin, fn, args });
    });
  }

  /** Kill the process now (SIGKILL); `reason` names the plugin or cause. */
  kill(reason: string): void {
    if (!this.#alive) return;
    this.#killedFor ??= reason;
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  /** Close stdin so the sandbox exits; kill it if it has not after `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    if (this.#alive) {
      this.#killedFor ??= "close";
      await this.#stdin.close().catch(() => {});
      const t = setTimeout(() => this.kill("close"), graceMs);
      await this.#done;
      clearTimeout(t);
    }
    await this.#done;
  }

  /** Resident memory of the process in bytes (from /proc), or null where unavailable. */
  rssBytes(): Promise<number | null> {
    return residentBytes(this.pid);
  }

  /** Resident limit of the process in MiB. */
  get residentLimitMb(): number {
    return this.#residentMb;
  }

  #send(msg: ToSandbox): void {
    if (!this.#alive) return;
    this.#stdin.write(this.#encoder.encode(JSON.stringify(msg) + "\n")).catch(() => {});
  }

  async #readStdout(): Promise<void> {
    const lines = new LineDecoder(MAX_SANDBOX_LINE);
    try {
      for await (const chunk of this.#child.stdout) {
        for (const line of lines.push(chunk)) this.#receive(line);
      }
    } catch (e) {
      // An over-long line or malformed JSON is a protocol violation: end the process.
      this.kill(`protocol: ${(e as Error).message}`);
      await this.#child.stdout.cancel().catch(() => {});
    }
  }

  async #readStderr(): Promise<void> {
    const lines = new LineDecoder(8192);
    try {
      for await (const chunk of this.#child.stderr) {
        for (const line of lines.push(chunk)) {
          this.#stderrTail = (this.#stderrTail + line + "\n").slice(-4096);
          this.#stray(line);
        }
      }
    } catch {
      await this.#child.stderr.cancel().catch(() => {});
    }
  }

  /** Pass on a line written outside the protocol, at most 100 a second. */
  #stray(line: string): void {
    const now = performance.now();
    if (now - this.#strayWindow >= 1000) {
      if (this.#strayDropped > 0) this.#handlers.stderr(`(${this.#strayDropped} more output lines dropped)`);
      this.#strayWindow = now;
      this.#strayCount = 0;
      this.#strayDropped = 0;
    }
    if (this.#strayCount++ < 100) this.#handlers.stderr(line);
    else this.#strayDropped++;
  }

  #receive(line: string): void {
    if (line.trim() === "") return;
    if (!line.startsWith(this.#token + " ")) {
      this.#stray(line);
      return;
    }
    const msg = JSON.parse(line.slice(this.#token.length + 1)) as FromSandbox;
    switch (msg.t) {
      case "ready":
        if (this.#ready) settle(this.#ready, true, undefined);
        this.#ready = undefined;
        break;
      case "loaded": {
        const w = this.#loads.get(msg.plugin);
        if (!w) break;
        this.#loads.delete(msg.plugin);
        settle(w, msg.ok, msg.ok ? undefined : asError(msg.plugin, msg.error));
        break;
      }
      case "result": {
        const w = this.#calls.get(msg.id);
        if (!w || w.plugin !== msg.plugin) break;
        this.#calls.delete(msg.id);
        settle(w, msg.ok, msg.ok ? msg.value : asError(msg.plugin, msg.error));
        break;
      }
      case "cap":
        this.#capability(msg.plugin, msg.id, msg.method, msg.args);
        break;
      case "crash":
        this.#failPlugin(msg.plugin, asError(msg.plugin, msg.error));
        this.#handlers.crash(msg.plugin, msg.error);
        break;
      case "evicted": {
        const reason = String(msg.reason).slice(0, 300);
        const loading = this.#loads.has(msg.plugin);
        this.#failPlugin(
          msg.plugin,
          new EvictedError(msg.plugin, `Cannot finish call to plugin "${msg.plugin}": ${reason}`),
        );
        if (!loading) this.#handlers.evicted(msg.plugin, reason);
        break;
      }
    }
  }

  #capability(plugin: string, id: number, method: string, args: unknown[]): void {
    const wantsReply = id !== 0;
    this.#handlers.capability(plugin, method, args, wantsReply).then(
      (value) => wantsReply && this.#send({ t: "reply", plugin, id, ok: true, value }),
      (e) => wantsReply && this.#send({ t: "reply", plugin, id, ok: false, error: toWireError(e) }),
    );
  }

  /** Reject whatever is waiting on one plugin. */
  #failPlugin(plugin: string, err: Error): void {
    const load = this.#loads.get(plugin);
    if (load) {
      this.#loads.delete(plugin);
      settle(load, false, err);
    }
    for (const [id, w] of this.#calls) {
      if (w.plugin !== plugin) continue;
      this.#calls.delete(id);
      settle(w, false, err);
    }
  }

  #ended(status: Deno.CommandStatus): void {
    this.#alive = false;
    const resident = this.#guard.exceeded && this.#killedFor === undefined;
    this.#guard.stop();
    const busy = new Set<string>();
    const oom = resident || /out of memory|heap limit|Allocation failed/i.test(this.#stderrTail);
    const why = resident
      ? `its sandbox ran out of memory (resident ${
        mib(this.#residentKill)
      } over its limit of ${this.#residentMb} MB)`
      : this.#killedFor
      ? `its sandbox was stopped (${this.#killedFor})`
      : oom
      ? `its sandbox ran out of memory (limit ${this.#memoryMb} MB)`
      : `its sandbox exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
    const fail = (w: Waiter) => {
      busy.add(w.plugin);
      settle(w, false, new PluginError(w.plugin, `Cannot finish call to plugin "${w.plugin}": ${why}`));
    };
    if (this.#ready) fail(this.#ready);
    this.#ready = undefined;
    for (const w of this.#loads.values()) fail(w);
    for (const w of this.#calls.values()) fail(w);
    this.#loads.clear();
    this.#calls.clear();
    busy.delete("(sandbox)");
    this.#handlers.exit({
      code: status.code,
      signal: status.signal,
      outOfMemory: oom && !this.#killedFor,
      residentBytes: resident ? this.#residentKill ?? this.#residentMb * 1024 * 1024 : undefined,
      killedFor: this.#killedFor,
      busy: [...busy],
    });
  }
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "past" : `${Math.round(bytes / (1024 * 1024))} MB`;
}

function settle(w: Waiter, ok: boolean, value: unknown): void {
  clearTimeout(w.timer);
  if (ok) w.resolve(value);
  else w.reject(value as Error);
}

function asError(plugin: string, e: WireError | undefined): Error {
  const err = new PluginError(plugin, e?.message ?? "unknown error");
  if (e?.name) err.name = e.name === "PluginError" ? "PluginError" : e.name;
  return err;
}
