/**
 * A buzzer behind an active-low relay on one GPIO output line: sounding drives the line low.
 *
 * @module
 */
import type { BuzzerRelay } from "../drivers.ts";
import type { GpioChip, GpioOutputLine } from "../gpio.ts";

/** {@link BuzzerRelay} on a GPIO line, requested on first use (and held, released on close). */
export class LinuxBuzzerRelay implements BuzzerRelay {
  readonly pin: number;
  readonly #chip: () => GpioChip;
  #line: GpioOutputLine | undefined;
  #sounding = false;

  /**
   * @param chip opens (lazily) the GPIO chip
   * @param pin the relay's line
   */
  constructor(chip: () => GpioChip, pin: number) {
    this.#chip = chip;
    this.pin = pin;
  }

  /** Sound (true) or silence (false); the line is low while sounding. */
  on(sounding: boolean): void {
    this.#line ??= this.#chip().requestOutput(this.pin, "harvester-buzzer", true); // high = relay off
    this.#line.write(!sounding);
    this.#sounding = sounding;
  }

  get sounding(): boolean {
    return this.#sounding;
  }

  /** Silence and release the line. */
  close(): void {
    if (!this.#line) return;
    this.#line.write(true);
    this.#line.release();
    this.#line = undefined;
    this.#sounding = false;
  }
}
