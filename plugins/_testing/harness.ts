/**
 * An in-process {@link PluginContext} over the simulated devices, for plugin unit tests that
 * run without the sandbox: a sim I2C bus carrying the BME680 and SSD1306 models, a sim DHT22
 * and system info on one shared {@link SimEnvironment}, a recording LED buffer and buzzer,
 * an in-memory state store, and a {@link FakeClock} whose `sleep` advances time at once.
 *
 * Grant semantics follow the broker: a capability outside the manifest's world is absent;
 * a call outside the grant throws {@link CapabilityError} and is recorded in `denied`.
 *
 * @module
 */
import { SimBme680 } from "../../hal/sim/bme680.ts";
import { SimSsd1306 } from "../../hal/sim/ssd1306.ts";
import { SimDht22, SimEnvironment, SimI2cBus, SimSystemInfo } from "../../hal/sim/mod.ts";
import {
  type BuzzerPattern,
  CapabilityError,
  type CapabilityName,
  type I2cStep,
  type Plugin,
  type PluginContext,
  type PluginManifest,
  type SnapshotView,
} from "../sdk/mod.ts";

/** Fake time: `sleep(ms)` moves the clock forward by `ms` and resolves immediately. */
export class FakeClock {
  #now: number;
  /** Every sleep requested, in order (tests assert on waits). */
  readonly sleeps: number[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now = (): number => this.#now;

  sleep = (ms: number): Promise<void> => {
    if (!(ms >= 0)) return Promise.reject(new RangeError(`Cannot sleep: ${String(ms)} ms is not ≥ 0`));
    this.sleeps.push(ms);
    this.#now += ms;
    return Promise.resolve();
  };

  /** Move time forward without a sleep (time passing between polls). */
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** What a plugin is allowed (config/permissions.toml), before intersecting with its world. */
export interface HarnessGrant {
  i2c: number[];
  dht22: number[];
  leds: number[];
  buzzer: boolean;
  systemInfo: boolean;
  state: boolean;
}

/** One buzzer request as the broker would receive it. */
export interface BeepRecord {
  at: number;
  pattern?: BuzzerPattern;
  count?: number;
  durationMs?: number;
  intervalMs?: number;
}

/** Options for {@link createHarness}. */
export interface HarnessOptions {
  /** The plugin's manifest: its world decides which capabilities appear. */
  manifest: PluginManifest;
  /** Permissions; default: everything the simulated board has. */
  grant?: Partial<HarnessGrant>;
  settings?: Record<string, unknown>;
  /** Persisted state; pass the same map to a second harness to simulate a restart. */
  state?: Map<string, unknown>;
  clock?: FakeClock;
  environment?: SimEnvironment;
  /** LEDs on the strip, default 11. */
  ledCount?: number;
  /** Make the bus SMBus-only, like the kernel's i2c-stub. */
  smbusOnly?: boolean;
}

/** A plugin context plus the devices behind it. */
export interface Harness {
  ctx: PluginContext;
  clock: FakeClock;
  environment: SimEnvironment;
  bus: SimI2cBus;
  bme680: SimBme680;
  oled: SimSsd1306;
  dht22: SimDht22;
  system: SimSystemInfo;
  /** LED buffer as `[r, g, b]`, index 0 first. */
  leds: [number, number, number][];
  beeps: BeepRecord[];
  logs: { level: string; message: string }[];
  denied: { capability: string; argument: string }[];
  /** Every I2C transfer the plugin made, in order. */
  transfers: { address: number; write: number[]; readLen: number }[];
  /** I2C transactions the plugin ran (each one round trip in the sandbox). */
  transactions: number;
  state: Map<string, unknown>;
}

/**
 * An `I2cDeviceCap.transaction` over a device's own `transfer` and a clock: the steps in order,
 * as the broker runs them (each wait through `sleep`, so a {@link FakeClock} records it).
 */
export async function runSteps(
  steps: I2cStep[],
  transfer: (write: Uint8Array | number[], readLen: number) => Promise<Uint8Array>,
  sleep: (ms: number) => Promise<void>,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const s of steps) {
    if ("delayMs" in s) {
      await sleep(s.delayMs);
      out.push(new Uint8Array(0));
    } else out.push(await transfer(s.write ?? [], s.read ?? 0));
  }
  return out;
}

/** Read `plugins/<id>/manifest.json` (tests run with read permission). */
export async function loadManifest(id: string): Promise<PluginManifest> {
  const url = new URL(`../${id}/manifest.json`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url)) as PluginManifest;
}

/**
 * Build a context for `options.manifest.id` over fresh simulated devices.
 *
 * @example
 * ```ts ignore
 * const h = createHarness({ manifest: await loadManifest("dht22") });
 * const readings = await plugin.poll!(h.ctx);
 * ```
 */
export function createHarness(options: HarnessOptions): Harness {
  const { manifest } = options;
  const clock = options.clock ?? new FakeClock();
  const environment = options.environment ?? new SimEnvironment({ seed: 7, clock: clock.now });
  const grant: HarnessGrant = {
    i2c: [0x77, 0x3c],
    dht22: [4],
    leds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    buzzer: true,
    systemInfo: true,
    state: true,
    ...options.grant,
  };
  const bus = new SimI2cBus(1, { smbusOnly: options.smbusOnly });
  const bme680 = new SimBme680({ environment, clock: clock.now });
  const oled = new SimSsd1306();
  bus.attach(bme680);
  bus.attach(oled);
  const dht22 = new SimDht22({ environment, pins: [4], noise: 0, clock: clock.now });
  const system = new SimSystemInfo({ environment, clock: clock.now });
  const ledCount = options.ledCount ?? 11;
  const h: Harness = {
    ctx: undefined as unknown as PluginContext,
    clock,
    environment,
    bus,
    bme680,
    oled,
    dht22,
    system,
    leds: Array.from({ length: ledCount }, () => [0, 0, 0] as [number, number, number]),
    beeps: [],
    logs: [],
    denied: [],
    transfers: [],
    transactions: 0,
    state: options.state ?? new Map(),
  };
  const has = (c: CapabilityName) => manifest.world.imports.includes(c);
  const deny = (capability: string, argument: string): never => {
    h.denied.push({ capability, argument });
    throw new CapabilityError(
      capability,
      argument,
      `Cannot grant "${capability}:${argument}" to plugin "${manifest.id}": not allowed by config/permissions.toml`,
    );
  };
  const hex = (a: number) => `0x${a.toString(16).padStart(2, "0")}`;
  const log = (level: string) => (message: string) => void h.logs.push({ level, message });
  // State crosses the sandbox as JSON: store copies, as the broker would.
  const copy = (v: unknown) => v === undefined ? undefined : JSON.parse(JSON.stringify(v));

  h.ctx = Object.freeze({
    id: manifest.id,
    settings: Object.freeze({ ...options.settings }),
    clock: { now: clock.now, sleep: clock.sleep },
    log: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    i2c: has("i2c")
      ? {
        device(address: number) {
          if (!grant.i2c.includes(address)) deny("i2c", hex(address));
          const transfer = (write: Uint8Array | number[], readLen: number) => {
            h.transfers.push({ address, write: [...write], readLen });
            return bus.transfer(address, Uint8Array.from(write), readLen);
          };
          return {
            address,
            transfer,
            readRegister: (reg: number, length: number) => transfer([reg], length),
            writeRegister: async (reg: number, ...data: number[]) => void await transfer([reg, ...data], 0),
            transaction: (steps: I2cStep[]) => {
              h.transactions++;
              return runSteps(steps, transfer, clock.sleep);
            },
          };
        },
      }
      : undefined,
    dht22: has("dht22")
      ? {
        read(pin: number) {
          if (!grant.dht22.includes(pin)) deny("dht22", String(pin));
          return dht22.read(pin);
        },
      }
      : undefined,
    led: has("led")
      ? {
        count: ledCount,
        set(index: number, r: number, g: number, b: number) {
          if (!grant.leds.includes(index)) deny("led", String(index));
          for (const [name, v] of [["r", r], ["g", g], ["b", b]] as const) {
            if (!Number.isInteger(v) || v < 0 || v > 255) {
              return Promise.reject(
                new RangeError(`Cannot set LED ${index}: ${name} ${String(v)} is not 0..255`),
              );
            }
          }
          h.leds[index] = [r, g, b];
          return Promise.resolve();
        },
      }
      : undefined,
    buzzer: has("buzzer")
      ? {
        beep(pattern: BuzzerPattern) {
          if (!grant.buzzer) deny("buzzer", pattern);
          h.beeps.push({ at: clock.now(), pattern });
          return Promise.resolve();
        },
        beepCount(count: number, durationMs?: number, intervalMs?: number) {
          if (!grant.buzzer) deny("buzzer", String(count));
          h.beeps.push({ at: clock.now(), count, durationMs, intervalMs });
          return Promise.resolve();
        },
      }
      : undefined,
    system: has("system-info")
      ? {
        cpuTemperatureC: () => grant.systemInfo ? system.cpuTemperatureC() : deny("system-info", "cpu"),
        cpuUsagePct: () => grant.systemInfo ? system.cpuUsagePct() : deny("system-info", "usage"),
        memory: () => grant.systemInfo ? system.memory() : deny("system-info", "memory"),
        uptimeSeconds: () => grant.systemInfo ? system.uptimeSeconds() : deny("system-info", "uptime"),
      }
      : undefined,
    state: has("state")
      ? {
        get<T>(key: string) {
          if (!grant.state) deny("state", key);
          return Promise.resolve(copy(h.state.get(key)) as T | undefined);
        },
        set(key: string, value: unknown) {
          if (!grant.state) deny("state", key);
          h.state.set(key, copy(value));
          return Promise.resolve();
        },
      }
      : undefined,
  }) as PluginContext;
  return h;
}

/** A snapshot as the broker hands to `update`/`render`, from readings keyed by local sensor id. */
export function snapshotOf(
  readings: Record<string, Record<string, number | string | boolean | null>>,
  options: { node?: string; timestamp?: number } = {},
): SnapshotView {
  const node = options.node ?? "sim";
  const ts = new Date(options.timestamp ?? Date.UTC(2026, 0, 1)).toISOString();
  return {
    timestamp: ts,
    node,
    readings: Object.fromEntries(
      Object.entries(readings).map(([sensor, values]) => [`${node}:${sensor}`, { values, timestamp: ts }]),
    ),
  };
}

/** Run `init` when the plugin has one (the sandbox does this at load). */
export async function start(plugin: Plugin, h: Harness): Promise<void> {
  await plugin.init?.(h.ctx);
}
