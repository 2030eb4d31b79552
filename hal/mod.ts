/**
 * The hardware abstraction: interfaces only. `hal/linux` and `hal/sim` implement {@link Hal};
 * `main.ts` is the only place that picks one.
 *
 * @module
 */
import type { I2cBus } from "./i2c.ts";
import type { GpioChip } from "./gpio.ts";
import type { SpiDevice, SpiOptions, Uart } from "./spi.ts";
import type { BuzzerRelay, Dht22Driver, LedStrip, SystemInfo } from "./drivers.ts";

export * from "./errors.ts";
export * from "./i2c.ts";
export * from "./gpio.ts";
export * from "./spi.ts";
export * from "./drivers.ts";

/** Everything the broker may own on one board. */
export interface Hal {
  /** `"linux"` or `"sim"`. */
  readonly backend: string;
  /** Open (or return the already open) bus `/dev/i2c-N`. */
  i2c(bus: number): I2cBus;
  gpio(chip: number): GpioChip;
  spi(bus: number, cs: number, options?: Partial<SpiOptions>): SpiDevice;
  uart(path: string, baud?: number): Uart;
  readonly dht22: Dht22Driver;
  readonly leds: LedStrip;
  readonly buzzer: BuzzerRelay;
  readonly system: SystemInfo;
  /** Release every device node. */
  close(): void;
}

/** Options shared by every backend (from `[hal]`, `[leds]`, `[buzzer]`). */
export interface HalOptions {
  i2cBuses: number[];
  gpioChip: number;
  ledCount: number;
  ledPin: number;
  ledBrightness: number;
  buzzerPin: number;
}
