/**
 * A simulated buzzer behind an active-low relay: holds the GPIO level the relay input would
 * see and records every on/off edge with its time, so tests can check beep patterns.
 *
 * @module
 */
import type { BuzzerRelay } from "../drivers.ts";
import type { GpioOutputLine } from "../gpio.ts";
import { SimGpioChip } from "./gpio_chip.ts";

/** One change of the buzzer. */
export interface BuzzerEdge {
  /** Clock time, ms. */
  at: number;
  sounding: boolean;
  /** GPIO level driven onto the relay input. */
  level: boolean;
}

/** One completed beep. */
export interface BuzzerPulse {
  start: number;
  durationMs: number;
}

/** Options for {@link SimBuzzerRelay}. */
export interface SimBuzzerRelayOptions {
  pin: number;
  /** Relay input is active low (the common Pi relay boards); default true. */
  activeLow?: boolean;
  /** Chip that owns the pin; a private one when absent. The relay holds the line as output. */
  gpio?: SimGpioChip;
  /** Milliseconds clock; default `Date.now`. */
  clock?: () => number;
}

/**
 * Simulated buzzer relay.
 *
 * @example
 * ```ts
 * import { SimBuzzerRelay } from "./buzzer_relay.ts";
 * let now = 0;
 * const buzzer = new SimBuzzerRelay({ pin: 17, clock: () => now });
 * buzzer.on(true);
 * now = 100;
 * buzzer.on(false);
 * console.assert(buzzer.pulses()[0].durationMs === 100 && buzzer.level === true);
 * buzzer.close();
 * ```
 */
export class SimBuzzerRelay implements BuzzerRelay {
  readonly pin: number;
  readonly activeLow: boolean;
  /** Every change, oldest first. */
  readonly edges: BuzzerEdge[] = [];
  readonly #line: GpioOutputLine;
  readonly #clock: () => number;
  #sounding = false;

  /** @throws {HalError} `bus_busy` when another consumer holds the pin, `not_found` when it does not exist */
  constructor(options: SimBuzzerRelayOptions) {
    this.pin = options.pin;
    this.activeLow = options.activeLow ?? true;
    this.#clock = options.clock ?? Date.now;
    const chip = options.gpio ?? new SimGpioChip();
    // Off at request time: an active-low relay must see a high level before anything else.
    this.#line = chip.requestOutput(this.pin, "buzzer", this.#levelFor(false));
  }

  get sounding(): boolean {
    return this.#sounding;
  }

  /** The GPIO level on the relay input. */
  get level(): boolean {
    return this.#line.value;
  }

  on(sounding: boolean): void {
    if (sounding === this.#sounding) return;
    this.#sounding = sounding;
    const level = this.#levelFor(sounding);
    this.#line.write(level);
    this.edges.push({ at: this.#clock(), sounding, level });
  }

  /** Completed beeps (on edge followed by off edge), oldest first. */
  pulses(): BuzzerPulse[] {
    const out: BuzzerPulse[] = [];
    let start: number | undefined;
    for (const e of this.edges) {
      if (e.sounding) start = e.at;
      else if (start !== undefined) {
        out.push({ start, durationMs: e.at - start });
        start = undefined;
      }
    }
    return out;
  }

  /** Silence and release the pin. */
  close(): void {
    this.on(false);
    this.#line.release();
  }

  #levelFor(sounding: boolean): boolean {
    return this.activeLow ? !sounding : sounding;
  }
}
