/**
 * A simulated DHT22 (AM2302): temperature and humidity from the shared {@link SimEnvironment}
 * with the sensor's 0.1 resolution and a little noise, on configured GPIO pins only.
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { Dht22Driver, Dht22Reading } from "../drivers.ts";
import type { SimEnvironment } from "./environment.ts";
import { seededRandom } from "./_random.ts";

/** The DHT22 cannot sample more often than every 2 s; faster reads return the last sample. */
export const DHT22_MIN_INTERVAL_MS = 2000;

/** Options for {@link SimDht22}. */
export interface SimDht22Options {
  environment: SimEnvironment;
  /** GPIO pins with a sensor wired; others time out. Default `[4]`. */
  pins?: number[];
  /** Peak noise in °C and %RH (uniform ±), default 0.2. */
  noise?: number;
  /** Seed for the noise. */
  seed?: number;
  /** Milliseconds clock; default `Date.now`. */
  clock?: () => number;
}

/** A failure the next reads will report. */
export type Dht22Fault = "timeout" | "checksum";

/**
 * Simulated DHT22 driver.
 *
 * @example
 * ```ts
 * import { SimDht22 } from "./dht22.ts";
 * import { SimEnvironment } from "./environment.ts";
 * const dht = new SimDht22({ environment: new SimEnvironment(), pins: [4] });
 * const { temperatureC } = await dht.read(4);
 * console.assert(temperatureC > 10 && temperatureC < 35);
 * ```
 */
export class SimDht22 implements Dht22Driver {
  readonly pins: readonly number[];
  readonly #env: SimEnvironment;
  readonly #noise: number;
  readonly #random: () => number;
  readonly #clock: () => number;
  readonly #last = new Map<number, { at: number; reading: Dht22Reading }>();
  readonly #faults: Dht22Fault[] = [];
  #reads = 0;

  constructor(options: SimDht22Options) {
    this.#env = options.environment;
    this.pins = [...(options.pins ?? [4])];
    this.#noise = options.noise ?? 0.2;
    this.#random = seededRandom(options.seed ?? 22);
    this.#clock = options.clock ?? Date.now;
  }

  /** Make the next reads fail, in order (a loose wire, a corrupted frame). */
  injectFault(...faults: Dht22Fault[]): void {
    this.#faults.push(...faults);
  }

  /** Reads attempted so far, failed ones included. */
  get reads(): number {
    return this.#reads;
  }

  /**
   * @throws {HalError} `timeout` for a pin without a sensor or an injected timeout, `io` for a checksum fault
   */
  read(pin: number): Promise<Dht22Reading> {
    this.#reads++;
    const action = `Cannot read DHT22 on GPIO ${pin}`;
    if (!this.pins.includes(pin)) {
      return Promise.reject(new HalError("timeout", `${action} (no sensor answered)`));
    }
    const fault = this.#faults.shift();
    if (fault === "timeout") return Promise.reject(new HalError("timeout", `${action} (no sensor answered)`));
    if (fault === "checksum") return Promise.reject(new HalError("io", `${action} (checksum mismatch)`));
    const now = this.#clock();
    const last = this.#last.get(pin);
    if (last && now - last.at < DHT22_MIN_INTERVAL_MS) return Promise.resolve({ ...last.reading });
    const room = this.#env.now();
    const reading = {
      temperatureC: tenth(room.temperatureC + this.#jitter()),
      humidityPct: tenth(Math.min(100, Math.max(0, room.humidityPct + this.#jitter()))),
    };
    this.#last.set(pin, { at: now, reading });
    return Promise.resolve({ ...reading });
  }

  #jitter(): number {
    return (this.#random() * 2 - 1) * this.#noise;
  }
}

function tenth(v: number): number {
  return Math.round(v * 10) / 10;
}
