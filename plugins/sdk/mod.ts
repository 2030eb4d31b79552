/**
 * The plugin contract — the WIT analogue. This file (and the files it re-exports) is the
 * only import a plugin may use. It names every capability a host can offer and everything
 * a plugin can export. A plugin's `manifest.json` names its *world*: the capabilities it
 * imports and the functions it exports; `config/permissions.toml` narrows the grant further.
 * A capability that is not granted is simply absent from the {@link PluginContext}.
 *
 * @module
 */

/** Capability names a world can import. */
export type CapabilityName =
  | "i2c"
  | "spi"
  | "uart"
  | "gpio"
  | "dht22"
  | "led"
  | "buzzer"
  | "system-info"
  | "clock"
  | "log"
  | "state";

/** Every capability name, for validation. */
/**
 * The one plugin-id grammar: manifest `id`, `[plugins.<id>]` in config, permissions entries and
 * token scopes all use it. Lowercase letters, digits, `-` and `_`, starting with a letter, ≤ 63.
 */
export const PLUGIN_ID: RegExp = /^[a-z][a-z0-9_-]{0,62}$/;
/** How {@link PLUGIN_ID} is worded in messages. */
export const PLUGIN_ID_RULE = 'lowercase letters, digits, "-" and "_", starting with a letter, at most 63';

export const CAPABILITY_NAMES: readonly CapabilityName[] = [
  "i2c",
  "spi",
  "uart",
  "gpio",
  "dht22",
  "led",
  "buzzer",
  "system-info",
  "clock",
  "log",
  "state",
];

/** Functions a plugin can export. */
export type ExportName = "poll" | "update" | "render" | "onEvent";

/** Plugin manifest (`plugins/<id>/manifest.json`). */
export interface PluginManifest {
  id: string;
  version: string;
  /** Module file inside the plugin folder, default `mod.ts`. */
  main?: string;
  world: { imports: CapabilityName[]; exports: ExportName[] };
  /** Seconds between periodic polls. */
  cadence_seconds: number;
  /** 0..1; above 0.8 is never deferred by the scheduler. */
  priority: number;
  /** Plugins whose readings trigger this one. */
  depends_on?: string[];
  /** A poll that takes longer is a hang: the sandbox is killed and restarted. */
  deadline_ms?: number;
  description?: string;
}

/** A value a reading can carry. */
export type ReadingValue = number | string | boolean | null;

/** One reading as a plugin returns it; the broker adds the node prefix (`node:sensor`). */
export interface Reading {
  /** Local sensor id, e.g. `bme680-i2c`. */
  sensor: string;
  values: Record<string, ReadingValue>;
  units?: Record<string, string>;
  /** Epoch milliseconds; defaults to the time the broker received it. */
  timestamp?: number;
}

/**
 * One step of an {@link I2cDeviceCap.transaction}: a write-then-read transfer (either part may
 * be empty: `{ write: [reg, value] }`, `{ write: [reg], read: 15 }`) or a wait the broker keeps
 * between two transfers (`{ delayMs: 10 }`, e.g. for a conversion).
 */
export type I2cStep = { write?: Uint8Array | number[]; read?: number } | { delayMs: number };

/**
 * Bounds of one transaction, enforced by the broker: at most `steps` steps, at most `bytes`
 * bytes written plus read over all of them, at most `delayMs` of waits in total. Every step
 * counts as one capability call against the plugin's call budget.
 */
export const I2C_TRANSACTION_LIMITS = { steps: 64, bytes: 4096, delayMs: 5000 } as const;

/** An address-bound I2C device. */
export interface I2cDeviceCap {
  readonly address: number;
  transfer(write: Uint8Array | number[], readLen: number): Promise<Uint8Array>;
  readRegister(reg: number, length: number): Promise<Uint8Array>;
  writeRegister(reg: number, ...data: number[]): Promise<void>;
  /**
   * Run several steps, in order, in one round trip to the broker. The steps are not atomic on
   * the bus (another plugin's transfer may come between two of them); they are one request.
   *
   * @returns one array per step: the bytes read (empty for a write or a wait)
   * @throws {CapabilityError} when a step is not granted (no step runs then), or an error
   *   naming the failing step (the steps before it have run)
   */
  transaction(steps: I2cStep[]): Promise<Uint8Array[]>;
}

/** I2C: bind a device at a granted address. */
export interface I2cCap {
  /** @throws {CapabilityError} when the address is not granted */
  device(address: number, bus?: number): I2cDeviceCap;
}

export interface SpiCap {
  transfer(tx: Uint8Array | number[]): Promise<Uint8Array>;
}

export interface UartCap {
  read(maxLen: number, timeoutMs?: number): Promise<Uint8Array>;
  write(data: Uint8Array | number[]): Promise<number>;
  setBaud(rate: number): Promise<void>;
}

export interface GpioCap {
  read(pin: number): Promise<boolean>;
  write(pin: number, value: boolean): Promise<void>;
}

export interface Dht22Cap {
  read(pin: number): Promise<{ temperatureC: number; humidityPct: number }>;
}

export interface LedCap {
  /** Number of LEDs on the strip. */
  readonly count: number;
  /** Write one LED into the broker's buffer; the strip is synced once per cycle. */
  set(index: number, r: number, g: number, b: number): Promise<void>;
}

/** Buzzer patterns: single 100 ms, triple 3×100 ms, long 500 ms. */
export type BuzzerPattern = "single" | "triple" | "long";

export interface BuzzerCap {
  beep(pattern: BuzzerPattern): Promise<void>;
  /** `count` beeps of `durationMs` separated by `intervalMs`. */
  beepCount(count: number, durationMs?: number, intervalMs?: number): Promise<void>;
}

export interface SystemInfoCap {
  cpuTemperatureC(): Promise<number>;
  cpuUsagePct(): Promise<number>;
  memory(): Promise<{ totalMb: number; usedMb: number; availableMb: number }>;
  uptimeSeconds(): Promise<number>;
}

export interface ClockCap {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface LogCap {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Small persisted key/value store, restored at start. */
export interface StateCap {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** What a plugin receives. Capabilities outside its granted world are `undefined`. */
export interface PluginContext {
  readonly id: string;
  /** Plugin settings from `[plugins.<id>]` (minus the scheduler keys). */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly i2c?: I2cCap;
  readonly spi?: SpiCap;
  readonly uart?: UartCap;
  readonly gpio?: GpioCap;
  readonly dht22?: Dht22Cap;
  readonly led?: LedCap;
  readonly buzzer?: BuzzerCap;
  readonly system?: SystemInfoCap;
  readonly clock: ClockCap;
  readonly log: LogCap;
  readonly state?: StateCap;
}

/** The node snapshot as plugins see it (readings keyed `node:sensor`). */
export interface SnapshotView {
  timestamp: string;
  node: string;
  readings: Record<
    string,
    { values: Record<string, ReadingValue>; units?: Record<string, string>; timestamp: string }
  >;
  anima?: Record<string, unknown> | null;
  identity?: Record<string, unknown> | null;
}

/** An event as plugins receive it. */
export interface PluginEvent {
  type: string;
  ts: string;
  node: string;
  data: Record<string, unknown>;
}

/** What a plugin module default-exports. */
export interface Plugin {
  init?(ctx: PluginContext): void | Promise<void>;
  poll?(ctx: PluginContext): Reading[] | Promise<Reading[]>;
  update?(ctx: PluginContext, snapshot: SnapshotView): void | Promise<void>;
  render?(ctx: PluginContext, snapshot: SnapshotView): string | Promise<string>;
  onEvent?(ctx: PluginContext, event: PluginEvent): void | Promise<void>;
  /** Commands addressed to this plugin (e.g. anima's `set_name`). */
  command?(ctx: PluginContext, name: string, args: Record<string, unknown>): unknown | Promise<unknown>;
}

/** Identity helper that gives a plugin object its type. */
export function definePlugin<T extends Plugin>(plugin: T): T {
  return plugin;
}

const CAPABILITY_ERROR_BRAND = Symbol.for("harvester.CapabilityError");

/**
 * Error raised in a plugin when the broker refuses a capability call, e.g.
 * `Cannot grant "i2c:0x3c" to plugin "oled": not allowed by config/permissions.toml`.
 *
 * A plugin's bundle carries its own copy of this class, so `instanceof` is decided by a
 * brand shared by every copy rather than by class identity.
 */
export class CapabilityError extends Error {
  override name = "CapabilityError";
  readonly [CAPABILITY_ERROR_BRAND] = true;

  /** True for any `CapabilityError`, whichever copy of the SDK created it. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null &&
      (value as Record<symbol, unknown>)[CAPABILITY_ERROR_BRAND] === true;
  }

  /**
   * @param capability capability name, e.g. `i2c`
   * @param argument what was asked, e.g. `0x3c`
   * @param message the refusal, worded for a person
   */
  constructor(
    readonly capability: string,
    readonly argument: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A numeric plugin setting from `[plugins.<id>.settings]`, with a default and a range.
 *
 * @param ctx the plugin's context
 * @param name setting key
 * @param fallback value when the setting is absent
 * @param min smallest allowed value
 * @param max largest allowed value
 * @param int whether the value must be an integer
 * @returns the checked value
 * @throws {RangeError} naming the plugin, the setting and what was given
 */
export function numberSetting(
  ctx: Pick<PluginContext, "id" | "settings">,
  name: string,
  fallback: number,
  min: number,
  max: number,
  int = false,
): number {
  const v = ctx.settings[name] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    throw new RangeError(
      `Cannot configure plugin "${ctx.id}": setting "${name}" must be ${
        int ? "an integer" : "a number"
      } in ${min}..${max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Run a courtesy capability call (an LED colour, a beep) whose refusal must not cost the reading:
 * a {@link CapabilityError} is logged as a warning, anything else is rethrown.
 *
 * @param ctx the plugin's context (for its log)
 * @param what what was attempted, e.g. `set LED 2`
 * @param act the call
 */
export async function bestEffort(
  ctx: Pick<PluginContext, "log">,
  what: string,
  act: () => Promise<void>,
): Promise<void> {
  try {
    await act();
  } catch (e) {
    if (!(e instanceof CapabilityError)) throw e;
    ctx.log.warn(`Cannot ${what}: ${e.message}`);
  }
}
