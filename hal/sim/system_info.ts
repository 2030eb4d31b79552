/**
 * Simulated system information: CPU temperature from the shared {@link SimEnvironment},
 * plausible usage, memory and uptime, each pinnable for thermal and overload tests.
 *
 * @module
 */
import type { MemoryInfo, SystemInfo } from "../drivers.ts";
import type { SimEnvironment } from "./environment.ts";

/** Values to pin (`undefined` releases one). */
export interface SimSystemValues {
  cpuTemperatureC?: number;
  cpuUsagePct?: number;
  memory?: MemoryInfo;
  uptimeSeconds?: number;
}

/** Options for {@link SimSystemInfo}. */
export interface SimSystemInfoOptions {
  environment: SimEnvironment;
  /** Milliseconds clock; default `Date.now`. */
  clock?: () => number;
  /** Total memory in MiB, default 1024 (a Pi 3). */
  totalMb?: number;
  /** Uptime at construction, seconds; default 3600. */
  bootUptimeSeconds?: number;
}

/**
 * Simulated `/sys/class/thermal`, `/proc/stat`, `/proc/meminfo`, `/proc/uptime`.
 *
 * @example
 * ```ts
 * import { SimSystemInfo } from "./system_info.ts";
 * import { SimEnvironment } from "./environment.ts";
 * const sys = new SimSystemInfo({ environment: new SimEnvironment() });
 * sys.set({ cpuTemperatureC: 81 });
 * console.assert(await sys.cpuTemperatureC() === 81);
 * ```
 */
export class SimSystemInfo implements SystemInfo {
  readonly #env: SimEnvironment;
  readonly #clock: () => number;
  readonly #start: number;
  readonly #totalMb: number;
  readonly #bootUptime: number;
  #pinned: SimSystemValues = {};

  /** @throws {RangeError} on a non-positive total memory */
  constructor(options: SimSystemInfoOptions) {
    this.#env = options.environment;
    this.#clock = options.clock ?? Date.now;
    this.#start = this.#clock();
    this.#totalMb = options.totalMb ?? 1024;
    if (!(this.#totalMb > 0)) {
      throw new RangeError(`Cannot create system info: total memory ${String(this.#totalMb)} MiB is not > 0`);
    }
    this.#bootUptime = options.bootUptimeSeconds ?? 3600;
  }

  /** Pin values; a key set to `undefined` returns to the simulation. */
  set(values: SimSystemValues): void {
    this.#pinned = { ...this.#pinned, ...values };
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete (this.#pinned as Record<string, unknown>)[k];
    }
  }

  cpuTemperatureC(): Promise<number> {
    return Promise.resolve(this.#pinned.cpuTemperatureC ?? round1(this.#env.now().cpuTemperatureC));
  }

  cpuUsagePct(): Promise<number> {
    if (this.#pinned.cpuUsagePct !== undefined) return Promise.resolve(this.#pinned.cpuUsagePct);
    const t = this.#elapsed();
    return Promise.resolve(round1(18 + 10 * Math.sin(t / 30) + 4 * Math.sin(t / 7)));
  }

  memory(): Promise<MemoryInfo> {
    if (this.#pinned.memory) return Promise.resolve({ ...this.#pinned.memory });
    const usedMb = Math.round(this.#totalMb * (0.35 + 0.05 * Math.sin(this.#elapsed() / 200)));
    return Promise.resolve({ totalMb: this.#totalMb, usedMb, availableMb: this.#totalMb - usedMb });
  }

  uptimeSeconds(): Promise<number> {
    return Promise.resolve(this.#pinned.uptimeSeconds ?? Math.floor(this.#bootUptime + this.#elapsed()));
  }

  #elapsed(): number {
    return (this.#clock() - this.#start) / 1000;
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
