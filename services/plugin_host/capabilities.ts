/**
 * The broker's capability checker: every request a plugin makes arrives here with the
 * plugin id stamped by the sandbox, is checked against that plugin's effective grant (and
 * its call budget), and only then reaches the HAL or a host service. A refusal is a
 * `CapabilityError` in the plugin plus a `plugin.denied` (or `plugin.flood`) event.
 *
 * @module
 */
import { CapabilityError } from "../../plugins/sdk/mod.ts";
import type { BuzzerPattern } from "../../plugins/sdk/mod.ts";
import type { GpioOutputLine, Hal, Rgb } from "../../hal/mod.ts";
import type { EventSink } from "../events/event.ts";
import type { EffectiveGrant } from "./grant.ts";
import type { StateStore } from "./state_store.ts";
import { Budget } from "./budget.ts";
import type { RateBudget } from "./budget.ts";
import { cleanText } from "./log_text.ts";
import { describeStep, parseTransaction, transactionWeight } from "./i2c_transaction.ts";
import { DEFAULT_THROTTLE, Throttle } from "./throttle.ts";
import type { ThrottleLimits } from "./throttle.ts";

/** Host services the plugins reach through capabilities. */
export interface HostServices {
  hal: Hal;
  /** The broker's LED buffer (synced to the strip once per cycle). */
  leds: { count: number; set(index: number, rgb: Rgb): void };
  buzzer: {
    play(pattern: BuzzerPattern | { count: number; durationMs: number; intervalMs: number }): Promise<void>;
  };
  log(plugin: string, level: "debug" | "info" | "warn" | "error", message: string): void;
}

/** What the checker needs to know about one plugin. */
export interface CapabilityTarget {
  id: string;
  grant: EffectiveGrant;
  settings: Record<string, unknown>;
  state?: StateStore;
}

/** Options of {@link CapabilityBroker}. */
export interface CapabilityBrokerOptions {
  services: HostServices;
  emit: EventSink;
  now: () => number;
  limits?: ThrottleLimits;
  /** Most `plugin.denied` events per plugin per second (the rest are counted into the next one). */
  deniedPerSecond?: number;
  /** Log lines per plugin (default 20/s, burst 200); the rest are dropped and counted. */
  logBudget?: RateBudget;
  /** Time without refusals that ends a flood episode (default 10 s). */
  floodQuietMs?: number;
}

/** Default log budget of one plugin. */
export const DEFAULT_LOG_BUDGET: RateBudget = { perSecond: 20, burst: 200 };
/** Longest method name or argument a refusal echoes back. */
const MAX_ECHO = 64;

const BUZZER_PATTERNS = ["single", "triple", "long"];
const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
const MAX_IO = 4096;

const hex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;

/**
 * Checks and executes capability calls for every plugin.
 *
 * @example
 * ```ts ignore
 * const caps = new CapabilityBroker({ services, emit, now: Date.now });
 * await caps.handle(target, "i2c.transfer", [1, 0x77, [0xd0], 1]);
 * ```
 */
export class CapabilityBroker {
  readonly #o: CapabilityBrokerOptions;
  readonly #throttles = new Map<string, Throttle>();
  readonly #denied = new Map<string, { windowStart: number; count: number; suppressed: number }>();
  /** Last refusal per plugin and kind (`calls`, `logs`): a new episode after a quiet time. */
  readonly #floodLast = new Map<string, number>();
  readonly #logBudgets = new Map<string, Budget>();
  readonly #outputs = new Map<string, GpioOutputLine>();
  readonly #roundTrips = new Map<string, number>();

  constructor(options: CapabilityBrokerOptions) {
    this.#o = options;
  }

  /**
   * Run one capability request.
   *
   * @param target the calling plugin (id stamped by the sandbox) and its grant
   * @param method e.g. `i2c.transfer`
   * @param args JSON arguments from the plugin
   * @param wantsReply false for fire-and-forget calls (logging): they take no in-flight slot
   * @returns a JSON value for the plugin
   * @throws {CapabilityError} when not granted or over budget; {@link TypeError}/{@link RangeError} for bad arguments
   */
  async handle(
    target: CapabilityTarget,
    method: string,
    args: unknown[],
    wantsReply = true,
  ): Promise<unknown> {
    method = cleanText(String(method), MAX_ECHO);
    if (method === "log" || method === "log.dropped") {
      this.#log(target.id, method, Array.isArray(args) ? args : []);
      return null;
    }
    const throttle = this.#throttle(target.id);
    const refused = throttle.acquire(
      wantsReply,
      method === "i2c.transaction" && Array.isArray(args) ? transactionWeight(args[1]) : 1,
    );
    if (refused) throw this.#flood(target.id, method, refused);
    if (wantsReply) this.#roundTrips.set(target.id, (this.#roundTrips.get(target.id) ?? 0) + 1);
    try {
      return await this.#run(target, method, Array.isArray(args) ? args : []);
    } finally {
      if (wantsReply) throttle.release();
    }
  }

  /**
   * Capability requests a plugin has made that wait for an answer (round trips to the broker;
   * logging is not counted), refused ones included.
   */
  roundTrips(plugin: string): number {
    return this.#roundTrips.get(plugin) ?? 0;
  }

  /** Forget a plugin's counters (it was removed). */
  forget(plugin: string): void {
    this.#throttles.delete(plugin);
    this.#denied.delete(plugin);
    this.#logBudgets.delete(plugin);
    this.#roundTrips.delete(plugin);
    for (const k of ["calls", "logs"]) this.#floodLast.delete(`${k}:${plugin}`);
  }

  /** Release GPIO lines held for plugins. */
  close(): void {
    for (const line of this.#outputs.values()) line.release();
    this.#outputs.clear();
  }

  #throttle(id: string): Throttle {
    let t = this.#throttles.get(id);
    if (!t) {
      t = new Throttle(this.#o.limits ?? DEFAULT_THROTTLE, this.#o.now);
      this.#throttles.set(id, t);
    }
    return t;
  }

  #flood(plugin: string, method: string, why: "in-flight" | "rate"): CapabilityError {
    const limits = this.#o.limits ?? DEFAULT_THROTTLE;
    const detail = why === "rate"
      ? `more than ${limits.perSecond} capability calls per second`
      : `more than ${limits.maxInFlight} capability calls in flight`;
    if (this.#newEpisode("calls", plugin)) {
      const refused = this.#throttle(plugin).takeRefused();
      this.#o.emit.emit("plugin.flood", {
        plugin,
        kind: "calls",
        capability: method,
        reason: detail,
        refused,
      });
    }
    return new CapabilityError(
      method.split(".")[0],
      method,
      `Cannot call "${method}" for plugin "${plugin}": ${detail}`,
    );
  }

  /** True when this refusal starts a new flood episode (none in the last quiet time). */
  #newEpisode(kind: string, plugin: string): boolean {
    const now = this.#o.now();
    const key = `${kind}:${plugin}`;
    const last = this.#floodLast.get(key) ?? -Infinity;
    this.#floodLast.set(key, now);
    return now - last >= (this.#o.floodQuietMs ?? 10_000);
  }

  /** A log line within the plugin's budget reaches the log; the rest are dropped and counted. */
  #log(plugin: string, method: string, a: unknown[]): void {
    let b = this.#logBudgets.get(plugin);
    if (!b) {
      b = new Budget(this.#o.logBudget ?? DEFAULT_LOG_BUDGET, this.#o.now, this.#o.floodQuietMs ?? 10_000);
      this.#logBudgets.set(plugin, b);
    }
    // `log.dropped` comes from the sandbox: lines it dropped before they crossed.
    let take;
    if (method === "log.dropped") {
      const n = Math.max(0, Math.min(1e9, Math.floor(Number(a[0]) || 0)));
      if (n === 0) return;
      take = b.drop(n);
    } else take = b.take();
    if (take === "ok") {
      const level = LOG_LEVELS.includes(a[0] as never) ? a[0] as typeof LOG_LEVELS[number] : "info";
      this.#o.services.log(plugin, level, cleanText(String(a[1]), 2000));
      return;
    }
    if (take === "new-episode") {
      const limits = this.#o.logBudget ?? DEFAULT_LOG_BUDGET;
      this.#o.emit.emit("plugin.flood", {
        plugin,
        kind: "logs",
        reason: `more than ${limits.perSecond} log lines per second (burst ${limits.burst})`,
        dropped: b.dropped,
      });
    }
  }

  /** Log lines dropped so far for a plugin (over budget, here or in its sandbox). */
  logsDropped(plugin: string): number {
    return this.#logBudgets.get(plugin)?.dropped ?? 0;
  }

  /** Refuse: an event (rate-limited per plugin, never silent) and the error for the plugin. */
  #deny(target: CapabilityTarget, capability: string, argument: string, inWorld: boolean): CapabilityError {
    const plugin = target.id;
    argument = cleanText(argument, MAX_ECHO);
    capability = cleanText(capability, MAX_ECHO);
    const why = inWorld ? "not allowed by config/permissions.toml" : "not imported by its manifest world";
    const now = this.#o.now();
    const d = this.#denied.get(plugin) ?? { windowStart: now, count: 0, suppressed: 0 };
    if (now - d.windowStart >= 1000) {
      d.windowStart = now;
      d.count = 0;
    }
    if (d.count < (this.#o.deniedPerSecond ?? 20)) {
      d.count++;
      this.#o.emit.emit("plugin.denied", {
        plugin,
        capability,
        argument,
        reason: why,
        suppressed: d.suppressed,
      });
      d.suppressed = 0;
    } else {
      d.suppressed++;
    }
    this.#denied.set(plugin, d);
    const what = argument === "" ? capability : `${capability}:${argument}`;
    return new CapabilityError(capability, argument, `Cannot grant "${what}" to plugin "${plugin}": ${why}`);
  }

  #require(t: CapabilityTarget, capability: string, world: string, allowed: boolean, argument = ""): void {
    const inWorld = t.grant.world.includes(world as never);
    if (!inWorld || !allowed) throw this.#deny(t, capability, argument, inWorld);
  }

  async #run(t: CapabilityTarget, method: string, a: unknown[]): Promise<unknown> {
    const { hal } = this.#o.services;
    const g = t.grant;
    switch (method) {
      case "i2c.bind": {
        const addr = int(method, "address", a[0], 0, 0x7f);
        this.#require(t, "i2c", "i2c", g.i2c.includes(addr), hex(addr));
        return null;
      }
      case "i2c.transfer": {
        const addr = int(method, "address", a[1], 0, 0x7f);
        this.#require(t, "i2c", "i2c", g.i2c.includes(addr), hex(addr));
        const bus = i2cBus(t, method, a[0]);
        const write = byteArray(method, a[2]);
        const readLen = int(method, "readLen", a[3], 0, MAX_IO);
        return Array.from(await hal.i2c(bus).transfer(addr, write, readLen));
      }
      case "i2c.transaction":
        return await this.#transaction(t, a);
      case "spi.transfer": {
        this.#require(t, "spi", "spi", g.spi);
        const bus = int(method, "settings.spi_bus", t.settings.spi_bus ?? 0, 0, 255);
        const cs = int(method, "settings.spi_cs", t.settings.spi_cs ?? 0, 0, 255);
        return Array.from(await hal.spi(bus, cs).transfer(byteArray(method, a[0])));
      }
      case "uart.read":
      case "uart.write":
      case "uart.setBaud": {
        const path = typeof t.settings.uart_path === "string" ? t.settings.uart_path : g.uart[0] ?? "";
        this.#require(t, "uart", "uart", g.uart.includes(path), path);
        const uart = hal.uart(path);
        if (method === "uart.read") {
          return Array.from(
            await uart.read(
              int(method, "maxLen", a[0], 1, MAX_IO),
              a[1] === null ? undefined : int(method, "timeoutMs", a[1], 0, 60_000),
            ),
          );
        }
        if (method === "uart.write") return await uart.write(byteArray(method, a[0]));
        uart.setBaud(int(method, "rate", a[0], 50, 4_000_000));
        return null;
      }
      case "gpio.read":
      case "gpio.write": {
        const pin = int(method, "pin", a[0], 0, 1023);
        this.#require(t, "gpio", "gpio", g.gpio.includes(pin), String(pin));
        const chip = int(method, "settings.gpio_chip", t.settings.gpio_chip ?? 0, 0, 63);
        const key = `${chip}:${pin}`;
        if (method === "gpio.write") {
          const value = a[1] === true;
          const held = this.#outputs.get(key);
          if (held) held.write(value);
          else this.#outputs.set(key, hal.gpio(chip).requestOutput(pin, `harvester:${t.id}`, value));
          return null;
        }
        const held = this.#outputs.get(key);
        if (held) return held.value;
        const line = hal.gpio(chip).requestInput(pin, `harvester:${t.id}`);
        try {
          return line.read();
        } finally {
          line.release();
        }
      }
      case "dht22.read": {
        const pin = int(method, "pin", a[0], 0, 1023);
        this.#require(t, "dht22", "dht22", g.dht22.includes(pin), String(pin));
        return await hal.dht22.read(pin);
      }
      case "led.set": {
        const index = int(method, "index", a[0], 0, 1023);
        this.#require(t, "led", "led", g.leds.includes(index), String(index));
        if (index >= this.#o.services.leds.count) {
          throw new RangeError(
            `Cannot set LED ${index} for plugin "${t.id}": the strip has ${this.#o.services.leds.count} LEDs`,
          );
        }
        this.#o.services.leds.set(index, {
          r: int(method, "r", a[1], 0, 255),
          g: int(method, "g", a[2], 0, 255),
          b: int(method, "b", a[3], 0, 255),
        });
        return null;
      }
      case "buzzer.beep": {
        this.#require(t, "buzzer", "buzzer", g.buzzer, String(a[0]));
        if (!BUZZER_PATTERNS.includes(a[0] as string)) {
          throw new TypeError(
            `Cannot call "${method}" from plugin "${t.id}": pattern must be single, triple or long, got ${
              JSON.stringify(a[0])
            }`,
          );
        }
        await this.#o.services.buzzer.play(a[0] as BuzzerPattern);
        return null;
      }
      case "buzzer.beepCount": {
        this.#require(t, "buzzer", "buzzer", g.buzzer, String(a[0]));
        await this.#o.services.buzzer.play({
          count: int(method, "count", a[0], 1, 10),
          durationMs: a[1] === null ? 100 : int(method, "durationMs", a[1], 10, 2000),
          intervalMs: a[2] === null ? 100 : int(method, "intervalMs", a[2], 10, 2000),
        });
        return null;
      }
      case "system.cpuTemperatureC":
      case "system.cpuUsagePct":
      case "system.memory":
      case "system.uptimeSeconds": {
        this.#require(t, "system-info", "system-info", g.systemInfo);
        const name = method.slice("system.".length) as
          | "cpuTemperatureC"
          | "cpuUsagePct"
          | "memory"
          | "uptimeSeconds";
        return await hal.system[name]();
      }
      case "state.get":
      case "state.set": {
        this.#require(t, "state", "state", g.state && t.state !== undefined);
        const key = String(a[0] ?? "");
        if (key === "" || key.length > 200) {
          throw new TypeError(`Cannot call "${method}" from plugin "${t.id}": key must be 1..200 characters`);
        }
        if (method === "state.get") {
          // Wrapped: JSON has no undefined, and a missing key must not read back as null.
          const value = t.state!.get(key);
          return value === undefined ? {} : { value };
        }
        // `[key]` deletes (the plugin set undefined); `[key, null]` stores null.
        t.state!.set(key, a.length < 2 ? undefined : a[1]);
        return null;
      }
      default:
        throw this.#deny(t, method.split(".")[0] || method, method, false);
    }
  }

  /** Check every step (shape, bounds, grant) before running any; a failure names its step. */
  async #transaction(t: CapabilityTarget, a: unknown[]): Promise<number[][]> {
    const method = "i2c.transaction";
    const bus = i2cBus(t, method, a[0]);
    const steps = parseTransaction(a[1]);
    steps.forEach((s, i) => {
      if (s.kind !== "transfer") return;
      try {
        this.#require(t, "i2c", "i2c", t.grant.i2c.includes(s.address), hex(s.address));
      } catch (e) {
        const err = e as CapabilityError;
        throw new CapabilityError(
          err.capability,
          err.argument,
          `Cannot run step ${i + 1} of ${steps.length} of "${method}" (${
            describeStep(s)
          }), so no step ran: ${err.message}`,
        );
      }
    });
    const out: number[][] = [];
    for (const [i, s] of steps.entries()) {
      try {
        if (s.kind === "delay") {
          await new Promise((r) => setTimeout(r, s.ms));
          out.push([]);
        } else {out.push(
            Array.from(await this.#o.services.hal.i2c(bus).transfer(s.address, s.write, s.readLen)),
          );}
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        const failed = new Error(
          `Cannot run step ${i + 1} of ${steps.length} of "${method}" (${
            describeStep(s)
          }; ${i} before it ran): ${err.message}`,
        );
        failed.name = err.name;
        throw failed;
      }
    }
    return out;
  }
}

/** The bus a call names, or the plugin's configured `i2c_bus` (default 1). */
function i2cBus(t: CapabilityTarget, method: string, arg: unknown): number {
  return arg === null || arg === undefined
    ? int(method, "settings.i2c_bus", t.settings.i2c_bus ?? 1, 0, 255)
    : int(method, "bus", arg, 0, 255);
}

function int(method: string, name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(
      `Cannot call "${method}": ${name} must be an integer ${min}..${max}, got ${
        JSON.stringify(v) ?? String(v)
      }`,
    );
  }
  return v;
}

function byteArray(method: string, v: unknown): Uint8Array {
  if (!Array.isArray(v) || v.length > MAX_IO || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) {
    throw new TypeError(`Cannot call "${method}": data must be an array of at most ${MAX_IO} bytes`);
  }
  return Uint8Array.from(v);
}
