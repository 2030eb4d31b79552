/**
 * Runs inside each plugin worker (no Deno permissions) in a sandbox process. The broker
 * bundles this file once and the sandbox starts it from a `data:` URL. On `load` it removes
 * every global a plugin must not reach, builds the plugin's {@link PluginContext} out of
 * capability stubs that ask the broker (which checks each call against the grant), then
 * imports the broker-checked plugin bundle from a `data:` URL.
 *
 * Messages with the sandbox use the protocol shapes without the `plugin` field: the sandbox
 * stamps the plugin id itself, so a plugin cannot speak for another.
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
let plugin: Plugin = {};
let ctx: PluginContext | undefined;
let pluginId = "";

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

/** Ask the broker to run a capability method; resolves with its reply. */
function cap(method: string, args: unknown[]): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const msg = { t: "cap", id, method, args: plain(method, args) };
    pending.set(id, { resolve, reject });
    post(msg);
  });
}

/** Fire-and-forget capability use (logging). */
function tell(method: string, args: unknown[]): void {
  post({ t: "cap", id: 0, method, args: plain(method, args) });
}

const bytes = (v: Uint8Array | number[]): number[] => Array.from(v, (x) => x & 0xff);
const toU8 = (v: unknown): Uint8Array => Uint8Array.from(v as number[]);

function i2cDevice(grant: EffectiveGrant, address: number, bus: number | null): I2cDeviceCap {
  if (!grant.i2c.includes(address)) {
    // The broker checks every transfer anyway; refusing here too gives the plugin an early,
    // synchronous error, and the report makes the broker emit `plugin.denied`.
    tell("i2c.bind", [address, bus]);
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

function buildContext(
  grant: EffectiveGrant,
  settings: Record<string, unknown>,
  ledCount: number,
): PluginContext {
  const has = (c: string) => grant.world.includes(c as never);
  const log = {
    debug: (m: string) => tell("log", ["debug", cut(m, 2000)]),
    info: (m: string) => tell("log", ["info", cut(m, 2000)]),
    warn: (m: string) => tell("log", ["warn", cut(m, 2000)]),
    error: (m: string) => tell("log", ["error", cut(m, 2000)]),
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
      ? { device: (address: number, bus?: number) => i2cDevice(grant, address, bus ?? null) }
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
function pluginConsole(): Record<string, (...args: unknown[]) => void> {
  const fmt = (args: unknown[]) =>
    args.map((a) => {
      if (typeof a === "string") return a;
      try {
        return stringify(a) ?? String(a);
      } catch {
        return String(a);
      }
    }).join(" ");
  const to = (level: string) => (...args: unknown[]) => tell("log", [level, cut(fmt(args), 2000)]);
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

async function load(
  msg: {
    code: string;
    grant: EffectiveGrant;
    settings: Record<string, unknown>;
    ledCount: number;
    plugin: string;
  },
) {
  pluginId = msg.plugin;
  ctx = buildContext(msg.grant, msg.settings, msg.ledCount);
  for (const name of SCRUBBED) scrub(name);
  scrub("console", Object.freeze(pluginConsole()));
  // The bundle was resolved from the plugin's folder and the SDK only, and checked by the
  // broker: no import declarations, no dynamic import, no import.meta, no eval.
  const mod = await import(`data:text/javascript;base64,${toBase64(msg.code)}`);
  const exported = mod.default;
  if (typeof exported !== "object" || exported === null) {
    throw new TypeError(`Cannot load plugin "${pluginId}": its module has no default export object`);
  }
  plugin = exported as Plugin;
  if (typeof plugin.init === "function") await plugin.init(ctx);
}

function toBase64(text: string): string {
  const data = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function call(fn: CallName, args: unknown[]): Promise<unknown> {
  const c = ctx as PluginContext;
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

function encodeResult(id: number, value: unknown): unknown {
  const text = stringify(value ?? null);
  if (text.length > MAX_RESULT_CHARS) {
    return {
      t: "result",
      id,
      ok: false,
      error: {
        name: "RangeError",
        message: `Cannot return result of plugin "${pluginId}": larger than ${MAX_RESULT_CHARS} characters`,
      },
    };
  }
  return { t: "result", id, ok: true, value: parse(text) };
}

listen("message", async (e: MessageEvent) => {
  const msg = e.data;
  if (msg.t === "load") {
    try {
      await load(msg);
      post({ t: "loaded", ok: true });
    } catch (err) {
      post({ t: "loaded", ok: false, error: errorToWire(err) });
    }
  } else if (msg.t === "call") {
    try {
      const value = await call(msg.fn, msg.args);
      post(encodeResult(msg.id, value));
    } catch (err) {
      post({ t: "result", id: msg.id, ok: false, error: errorToWire(err) });
    }
  } else if (msg.t === "reply") {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(wireToError(msg.error));
  }
});
