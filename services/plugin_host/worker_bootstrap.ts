/**
 * Runs inside each plugin worker (no Deno permissions) in a sandbox process. The broker
 * bundles this file once and the sandbox starts it from a `data:` URL. On `load` it removes
 * every global a plugin must not reach, builds the plugin's {@link PluginContext} out of
 * capability stubs that ask the broker (which checks each call against the grant), then
 * imports the broker-checked plugin bundle from a `data:` URL.
 *
 * Messages with the sandbox carry the plugin id, but the sandbox decides whom a message is
 * for: a plugin's own worker speaks only for it. A pooled worker (trusted plugins, `pooled` in
 * `load`) holds several plugins; each module gets its own lexical `console`, its own context,
 * and a random tail on its source, so an uncaught error is reported as the crash of the plugin
 * whose module is on its stack instead of ending the worker unnamed.
 *
 * @module
 */
import { CapabilityError } from "../../plugins/sdk/mod.ts";
import type {
  BuzzerPattern,
  I2cDeviceCap,
  I2cStep,
  Plugin,
  PluginContext,
  Reading,
} from "../../plugins/sdk/mod.ts";
import type { EffectiveGrant } from "./grant.ts";
import type { CallName, WireError } from "./protocol.ts";

type Post = (msg: unknown) => void;
type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

/** Globals removed before plugin code runs (defence in depth; the process has no permissions). */
const SCRUBBED = [
  "Deno",
  "process",
  "fetch",
  "Worker",
  "SharedWorker",
  "WebSocket",
  "WebSocketStream",
  "EventSource",
  "XMLHttpRequest",
  "BroadcastChannel",
  "caches",
  "navigator",
  "importScripts",
  "WebAssembly",
  "SharedArrayBuffer",
  "postMessage",
  "onmessage",
  "onmessageerror",
  "addEventListener",
  "removeEventListener",
  "dispatchEvent",
  "close",
];

const MAX_RESULT_CHARS = 512 * 1024;

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
const post: Post = scope.postMessage.bind(scope);
const listen = scope.addEventListener.bind(scope);
/** The runtime reports an uncaught error by calling `globalThis.dispatchEvent`; a pool keeps it. */
const dispatch = scope.dispatchEvent.bind(scope);
const stringify = JSON.stringify;
const parse = JSON.parse;
const isArray = Array.isArray;
const apply = Reflect.apply;
const sliceString = String.prototype.slice;
/** `String(v)` cut to `n` characters with the slice captured before plugin code could replace it. */
const cut = (v: unknown, n: number): string => apply(sliceString, String(v), [0, n]) as string;
/** Largest capability call (JSON characters) a plugin can send. */
const MAX_CALL_CHARS = 256 * 1024;
const pending = new Map<number, Pending>();
let nextId = 1;
/** A plugin loaded in this worker. */
interface Slot {
  plugin: Plugin;
  ctx: PluginContext;
  /** The end of its module's `data:` URL, which stack traces show (pooled plugins only). */
  tail?: string;
}
const loaded = new Map<string, Slot>();
/** Set once a `load` says this worker is a pool. */
let pooled = false;
/** Module evaluation of pooled plugins, one at a time (each takes its `console` from one global). */
let evaluating: Promise<unknown> = Promise.resolve();
const CONSOLE_KEY = Symbol.for("harvester.console");

/** Remove a global from the scope and every prototype above it, then pin it to `value`. */
function scrub(name: string, value: unknown = undefined): void {
  for (let o = scope; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    try {
      delete o[name];
    } catch { /* non-configurable: pinned below */ }
  }
  try {
    Object.defineProperty(scope, name, { value, writable: false, configurable: false });
  } catch { /* already gone for good */ }
}

function wireToError(e: WireError): Error {
  if (e.name === "CapabilityError") {
    return new CapabilityError(e.capability ?? "", e.argument ?? "", e.message);
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

function errorToWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: cut(err.name, 100), message: cut(err.message, 1000) };
}

/**
 * Arguments as plain JSON of bounded size: a BigInt, a cycle or an oversized value is the
 * plugin's own error here, never a message its sandbox process cannot encode.
 */
function plain(method: string, args: unknown[]): unknown[] {
  const text = stringify(args);
  if (text.length > MAX_CALL_CHARS) {
    throw new RangeError(`Cannot call "${method}": arguments larger than ${MAX_CALL_CHARS} characters`);
  }
  return parse(text);
}

/** Ask the broker to run a capability method for `plugin`; resolves with its reply. */
function cap(plugin: string, method: string, args: unknown[]): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const msg = { t: "cap", plugin, id, method, args: plain(method, args) };
    pending.set(id, { resolve, reject });
    post(msg);
  });
}

/** Fire-and-forget capability use (logging). */
function tell(plugin: string, method: string, args: unknown[]): void {
  post({ t: "cap", plugin, id: 0, method, args: plain(method, args) });
}

const bytes = (v: Uint8Array | number[]): number[] => Array.from(v, (x) => x & 0xff);
const toU8 = (v: unknown): Uint8Array => Uint8Array.from(v as number[]);

function i2cDevice(
  pluginId: string,
  grant: EffectiveGrant,
  address: number,
  bus: number | null,
): I2cDeviceCap {
  const cap = capOf(pluginId);
  if (!grant.i2c.includes(address)) {
    // The broker checks every transfer anyway; refusing here too gives the plugin an early,
    // synchronous error, and the report makes the broker emit `plugin.denied`.
    tell(pluginId, "i2c.bind", [address, bus]);
    const arg = `0x${Number(address).toString(16).padStart(2, "0")}`;
    throw new CapabilityError(
      "i2c",
      arg,
      `Cannot grant "i2c:${arg}" to plugin "${pluginId}": not allowed by config/permissions.toml`,
    );
  }
  const transfer = async (write: Uint8Array | number[], readLen: number) =>
    toU8(await cap("i2c.transfer", [bus, address, bytes(write), readLen]));
  return {
    address,
    transfer,
    readRegister: (reg, length) => transfer([reg], length),
    writeRegister: async (reg, ...data) => {
      await transfer([reg, ...data], 0);
    },
    transaction: async (steps: I2cStep[]) => {
      if (!isArray(steps)) throw new TypeError(`Cannot run an I2C transaction: steps must be an array`);
      const wire = steps.map((s, i) => {
        if (typeof s !== "object" || s === null) {
          throw new TypeError(`Cannot run an I2C transaction: step ${i + 1} must be an object`);
        }
        return "delayMs" in s
          ? { delayMs: s.delayMs }
          : { address, write: bytes(s.write ?? []), read: s.read ?? 0 };
      });
      const out = await cap("i2c.transaction", [bus, wire]);
      return (out as unknown[]).map(toU8);
    },
  };
}

/** {@link cap} bound to one plugin. */
const capOf = (pluginId: string) => (method: string, args: unknown[]) => cap(pluginId, method, args);

function buildContext(
  pluginId: string,
  grant: EffectiveGrant,
  settings: Record<string, unknown>,
  ledCount: number,
): PluginContext {
  const cap = capOf(pluginId);
  const has = (c: string) => grant.world.includes(c as never);
  const log = {
    debug: (m: string) => tell(pluginId, "log", ["debug", cut(m, 2000)]),
    info: (m: string) => tell(pluginId, "log", ["info", cut(m, 2000)]),
    warn: (m: string) => tell(pluginId, "log", ["warn", cut(m, 2000)]),
    error: (m: string) => tell(pluginId, "log", ["error", cut(m, 2000)]),
  };
  const clock = {
    now: () => Date.now(),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, Number(ms) || 0))),
  };
  return Object.freeze({
    id: pluginId,
    settings: Object.freeze({ ...settings }),
    clock,
    log,
    i2c: has("i2c")
      ? { device: (address: number, bus?: number) => i2cDevice(pluginId, grant, address, bus ?? null) }
      : undefined,
    spi: has("spi")
      ? { transfer: async (tx: Uint8Array | number[]) => toU8(await cap("spi.transfer", [bytes(tx)])) }
      : undefined,
    uart: has("uart")
      ? {
        read: async (maxLen: number, timeoutMs?: number) =>
          toU8(await cap("uart.read", [maxLen, timeoutMs ?? null])),
        write: async (data: Uint8Array | number[]) => Number(await cap("uart.write", [bytes(data)])),
        setBaud: async (rate: number) => void await cap("uart.setBaud", [rate]),
      }
      : undefined,
    gpio: has("gpio")
      ? {
        read: async (pin: number) => Boolean(await cap("gpio.read", [pin])),
        write: async (pin: number, value: boolean) => void await cap("gpio.write", [pin, Boolean(value)]),
      }
      : undefined,
    dht22: has("dht22")
      ? {
        read: async (pin: number) =>
          await cap("dht22.read", [pin]) as { temperatureC: number; humidityPct: number },
      }
      : undefined,
    led: has("led")
      ? {
        count: ledCount,
        set: async (index: number, r: number, g: number, b: number) =>
          void await cap("led.set", [index, r, g, b]),
      }
      : undefined,
    buzzer: has("buzzer")
      ? {
        beep: async (pattern: BuzzerPattern) => void await cap("buzzer.beep", [pattern]),
        beepCount: async (count: number, durationMs?: number, intervalMs?: number) =>
          void await cap("buzzer.beepCount", [count, durationMs ?? null, intervalMs ?? null]),
      }
      : undefined,
    system: has("system-info")
      ? {
        cpuTemperatureC: async () => Number(await cap("system.cpuTemperatureC", [])),
        cpuUsagePct: async () => Number(await cap("system.cpuUsagePct", [])),
        memory: async () =>
          await cap("system.memory", []) as { totalMb: number; usedMb: number; availableMb: number },
        uptimeSeconds: async () => Number(await cap("system.uptimeSeconds", [])),
      }
      : undefined,
    state: has("state")
      ? {
        get: async <T>(key: string) => ((await cap("state.get", [key])) as { value?: T }).value,
        set: async (key: string, value: unknown) =>
          void await cap("state.set", value === undefined ? [key] : [key, value]),
      }
      : undefined,
  });
}

/** `console` for plugin code: every method goes to the plugin's log (never to stdout). */
function pluginConsole(pluginId: string): Record<string, (...args: unknown[]) => void> {
  const fmt = (args: unknown[]) =>
    args.map((a) => {
      if (typeof a === "string") return a;
      try {
        return stringify(a) ?? String(a);
      } catch {
        return String(a);
      }
    }).join(" ");
  const to = (level: string) => (...args: unknown[]) => tell(pluginId, "log", [level, cut(fmt(args), 2000)]);
  const quiet = () => {};
  return {
    log: to("info"),
    info: to("info"),
    debug: to("debug"),
    trace: to("debug"),
    warn: to("warn"),
    error: to("error"),
    assert: (cond?: unknown, ...args: unknown[]) => {
      if (!cond) to("error")("Assertion failed", ...args);
    },
    dir: to("info"),
    dirxml: to("info"),
    table: to("info"),
    count: quiet,
    countReset: quiet,
    group: quiet,
    groupCollapsed: quiet,
    groupEnd: quiet,
    time: quiet,
    timeEnd: quiet,
    timeLog: quiet,
    clear: quiet,
  };
}

/** The pooled plugin whose module is nearest the top of `stack`, matched by its URL's tail. */
function blame(stack: unknown): string | null {
  const text = cut(stack, 65_536);
  let best: string | null = null, at = Infinity;
  for (const [id, slot] of loaded) {
    const i = slot.tail === undefined ? -1 : text.indexOf(slot.tail);
    if (i >= 0 && i < at) [best, at] = [id, i];
  }
  return best;
}

/** 24 random hex digits: a module source ending in them has a URL tail no other module has. */
function nonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** A pool reports uncaught errors under the plugin they came from; the sandbox ends the worker. */
function reportUncaught(): void {
  const report = (e: { preventDefault(): void }, error: unknown, where: unknown) => {
    e.preventDefault();
    post({ t: "crash", plugin: blame(where), error: errorToWire(error) });
  };
  listen("error", (e: ErrorEvent) => report(e, e.error ?? e.message, `${e.filename}\n${e.error?.stack}`));
  listen("unhandledrejection", (e: PromiseRejectionEvent) => report(e, e.reason, e.reason?.stack));
}

async function load(
  msg: {
    code: string;
    grant: EffectiveGrant;
    settings: Record<string, unknown>;
    ledCount: number;
    plugin: string;
    pooled?: boolean;
  },
) {
  const pluginId = msg.plugin;
  const ctx = buildContext(pluginId, msg.grant, msg.settings, msg.ledCount);
  const console = Object.freeze(pluginConsole(pluginId));
  if (msg.pooled && !pooled) {
    pooled = true;
    reportUncaught();
  }
  for (const name of SCRUBBED) scrub(name, pooled && name === "dispatchEvent" ? dispatch : undefined);
  // The bundle was resolved from the plugin's folder and the SDK only, and checked by the
  // broker: no import declarations, no dynamic import, no import.meta, no eval.
  let mod: { default?: unknown };
  let tail: string | undefined;
  if (pooled) {
    // One worker, several plugins: each module binds its own `console` before its first
    // statement runs (on line 1, so line numbers stay), taken from a global that lives only
    // while that one module evaluates. `globalThis.console` stays the first member's.
    if (loaded.size === 0) scrub("console", console);
    const prefix = 'const console = globalThis[Symbol.for("harvester.console")];';
    const url = `data:text/javascript;base64,${toBase64(`${prefix}${msg.code}\n//${nonce()}`)}`;
    // Stack traces shorten a data: URL to its last characters; 16 of them stand for the module.
    tail = url.slice(-16);
    const run = evaluating.then(async () => {
      scope[CONSOLE_KEY] = console;
      try {
        return await import(url);
      } finally {
        delete scope[CONSOLE_KEY];
      }
    });
    evaluating = run.catch(() => {});
    mod = await run;
  } else {
    scrub("console", console);
    mod = await import(`data:text/javascript;base64,${toBase64(msg.code)}`);
  }
  const exported = mod.default;
  if (typeof exported !== "object" || exported === null) {
    throw new TypeError(`Cannot load plugin "${pluginId}": its module has no default export object`);
  }
  const plugin = exported as Plugin;
  loaded.set(pluginId, { plugin, ctx, tail });
  if (typeof plugin.init === "function") await plugin.init(ctx);
}

function toBase64(text: string): string {
  const data = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function call(pluginId: string, fn: CallName, args: unknown[]): Promise<unknown> {
  const slot = loaded.get(pluginId);
  if (!slot) throw new Error(`Cannot ${fn} plugin "${cut(pluginId, 64)}": it is not loaded in this worker`);
  const { plugin, ctx: c } = slot;
  switch (fn) {
    case "poll": {
      if (typeof plugin.poll !== "function") return [];
      const readings: Reading[] = await plugin.poll(c);
      if (!isArray(readings)) {
        throw new TypeError(`Cannot poll plugin "${pluginId}": poll() returned no array`);
      }
      return readings;
    }
    case "update":
      return typeof plugin.update === "function" ? await plugin.update(c, args[0] as never) : undefined;
    case "render":
      return typeof plugin.render === "function" ? await plugin.render(c, args[0] as never) : undefined;
    case "onEvent":
      return typeof plugin.onEvent === "function" ? await plugin.onEvent(c, args[0] as never) : undefined;
    case "command":
      if (typeof plugin.command !== "function") {
        throw new TypeError(
          `Cannot run command "${String(args[0])}" on plugin "${pluginId}": it has no command handler`,
        );
      }
      return await plugin.command(c, String(args[0]), (args[1] ?? {}) as Record<string, unknown>);
  }
}

function encodeResult(pluginId: string, id: number, value: unknown): unknown {
  const text = stringify(value ?? null);
  if (text.length > MAX_RESULT_CHARS) {
    return {
      t: "result",
      plugin: pluginId,
      id,
      ok: false,
      error: {
        name: "RangeError",
        message: `Cannot return result of plugin "${pluginId}": larger than ${MAX_RESULT_CHARS} characters`,
      },
    };
  }
  return { t: "result", plugin: pluginId, id, ok: true, value: parse(text) };
}

listen("message", async (e: MessageEvent) => {
  const msg = e.data;
  if (msg.t === "load") {
    try {
      await load(msg);
      post({ t: "loaded", plugin: msg.plugin, ok: true });
    } catch (err) {
      post({ t: "loaded", plugin: msg.plugin, ok: false, error: errorToWire(err) });
    }
  } else if (msg.t === "call") {
    try {
      const value = await call(msg.plugin, msg.fn, msg.args);
      post(encodeResult(msg.plugin, msg.id, value));
    } catch (err) {
      post({ t: "result", plugin: msg.plugin, id: msg.id, ok: false, error: errorToWire(err) });
    }
  } else if (msg.t === "reply") {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(wireToError(msg.error));
  }
});
