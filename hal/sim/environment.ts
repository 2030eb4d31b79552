/**
 * A plausible, slowly drifting room, shared by every simulated sensor so their readings agree.
 * Deterministic for a given seed and clock, so tests can assert on it.
 *
 * @module
 */

/** The physical state of the simulated room at one instant. */
export interface RoomState {
  temperatureC: number;
  humidityPct: number;
  pressureHpa: number;
  /** Gas sensor resistance a BME680 heater at ~320 °C would see, in ohms (cleaner air: higher). */
  gasResistanceOhm: number;
  /** SoC temperature of the simulated board, °C. */
  cpuTemperatureC: number;
}

/** Source of time for the models (injectable for tests). */
export type Clock = () => number;

/** Deterministic drifting environment: smooth sinusoids with a seed-dependent phase. */
export class SimEnvironment {
  readonly #clock: Clock;
  readonly #phase: number;
  readonly #start: number;
  #override: Partial<RoomState> = {};

  constructor(options: { seed?: number; clock?: Clock } = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#phase = ((options.seed ?? 1) * 2654435761 % 1000) / 1000 * Math.PI * 2;
    this.#start = this.#clock();
  }

  /** Pin some quantities (tests: a hot CPU, a smoky room); `undefined` releases one. */
  set(values: Partial<RoomState>): void {
    this.#override = { ...this.#override, ...values };
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete (this.#override as Record<string, unknown>)[k];
    }
  }

  /** The room now. */
  now(): RoomState {
    const t = (this.#clock() - this.#start) / 1000;
    const p = this.#phase;
    const slow = Math.sin(t / 900 + p); // ~1.5 h period
    const fast = Math.sin(t / 47 + 2 * p); // ~5 min period
    const base: RoomState = {
      temperatureC: 22 + 1.5 * slow + 0.15 * fast,
      humidityPct: 42 - 4 * slow + 0.6 * fast,
      pressureHpa: 1013 + 2 * Math.sin(t / 3000 + p),
      gasResistanceOhm: 120_000 + 25_000 * Math.sin(t / 600 + 3 * p) + 3_000 * fast,
      cpuTemperatureC: 48 + 4 * Math.sin(t / 120 + p),
    };
    return { ...base, ...this.#override };
  }
}
