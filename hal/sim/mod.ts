/**
 * The simulated HAL: every plugin runs unchanged on a laptop. Buses carry register-level
 * device models handed in by the composition root (this module imports no concrete model,
 * so `main.ts` decides which BME680/SSD1306 models sit at 0x77/0x3c).
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { Hal, HalOptions } from "../mod.ts";
import type { SpiOptions } from "../spi.ts";
import { SimBuzzerRelay } from "./buzzer_relay.ts";
import { SimDht22 } from "./dht22.ts";
import { type Clock, SimEnvironment } from "./environment.ts";
import { SimGpioChip } from "./gpio_chip.ts";
import { SimI2cBus, type SimI2cBusOptions } from "./i2c_bus.ts";
import { SimLedStrip } from "./led_strip.ts";
import type { SimI2cModel } from "./model.ts";
import { SimSpiDevice } from "./spi_device.ts";
import { SimSystemInfo } from "./system_info.ts";
import { SimUart } from "./uart.ts";

export * from "./buzzer_relay.ts";
export * from "./dht22.ts";
export * from "./environment.ts";
export * from "./gpio_chip.ts";
export * from "./i2c_bus.ts";
export * from "./led_strip.ts";
export * from "./model.ts";
export * from "./spi_device.ts";
export * from "./system_info.ts";
export * from "./uart.ts";

/** Options for {@link SimHal}: the common {@link HalOptions} plus simulation knobs. */
export interface SimHalOptions extends HalOptions {
  /** The room every sensor shares; a fresh one on `clock` when absent. */
  environment?: SimEnvironment;
  /** Milliseconds clock for every model; default `Date.now`. */
  clock?: Clock;
  /**
   * Device models to attach on each configured bus (called once per bus, at construction),
   * given the shared environment and clock so sensor models agree with the DHT22 and CPU.
   */
  models?: (bus: number, environment: SimEnvironment, clock: Clock) => SimI2cModel[];
  /** The buzzer relay input is active low (default true, `[buzzer] active_low`). */
  buzzerActiveLow?: boolean;
  /** GPIO pins with a DHT22 wired, default `[4]`. */
  dht22Pins?: number[];
  /** Wire-time and adapter options for every bus. */
  i2c?: SimI2cBusOptions;
  /** Seed for sensor noise. */
  seed?: number;
}

/**
 * Simulated board.
 *
 * @example
 * ```ts
 * import { SimHal, RegisterFileModel } from "./mod.ts";
 * const hal = new SimHal({
 *   i2cBuses: [1], gpioChip: 0, ledCount: 11, ledPin: 18, ledBrightness: 1, buzzerPin: 17,
 *   models: (bus) => bus === 1 ? [new RegisterFileModel(0x50)] : [],
 * });
 * console.assert(hal.simBus(1).addresses()[0] === 0x50);
 * hal.close();
 * ```
 */
export class SimHal implements Hal {
  readonly backend = "sim";
  readonly environment: SimEnvironment;
  readonly dht22: SimDht22;
  readonly leds: SimLedStrip;
  readonly buzzer: SimBuzzerRelay;
  readonly system: SimSystemInfo;
  readonly #buses = new Map<number, SimI2cBus>();
  readonly #chip: SimGpioChip;
  readonly #gpioChip: number;
  readonly #spi = new Map<string, SimSpiDevice>();
  readonly #uarts = new Map<string, SimUart>();

  /**
   * @throws {RangeError} on bad options (LED count or brightness, bus numbers)
   * @throws {HalError} when the buzzer pin does not exist on the chip
   */
  constructor(options: SimHalOptions) {
    const clock = options.clock ?? Date.now;
    this.environment = options.environment ?? new SimEnvironment({ clock, seed: options.seed });
    for (const n of new Set(options.i2cBuses)) {
      const bus = new SimI2cBus(n, options.i2c);
      for (const model of options.models?.(n, this.environment, clock) ?? []) bus.attach(model);
      this.#buses.set(n, bus);
    }
    this.#gpioChip = options.gpioChip;
    this.#chip = new SimGpioChip({ name: `gpiochip${options.gpioChip}`, clock });
    this.dht22 = new SimDht22({
      environment: this.environment,
      pins: options.dht22Pins,
      clock,
      seed: options.seed,
    });
    this.leds = new SimLedStrip({ count: options.ledCount, brightness: options.ledBrightness, clock });
    this.buzzer = new SimBuzzerRelay({
      pin: options.buzzerPin,
      activeLow: options.buzzerActiveLow,
      gpio: this.#chip,
      clock,
    });
    this.system = new SimSystemInfo({ environment: this.environment, clock });
  }

  /** @throws {HalError} `not_found` for a bus not listed in `[hal] i2c_buses` */
  i2c(bus: number): SimI2cBus {
    return this.simBus(bus);
  }

  /** The simulated bus `n` with its models and counters (tests, dashboard). */
  simBus(n: number): SimI2cBus {
    const bus = this.#buses.get(n);
    if (!bus) {
      const known = [...this.#buses.keys()].join(", ") || "none";
      throw new HalError("not_found", `Cannot open I2C bus ${n} (/dev/i2c-${n}; configured buses: ${known})`);
    }
    return bus;
  }

  /** @throws {HalError} `not_found` for any chip but the configured one */
  gpio(chip: number): SimGpioChip {
    if (chip !== this.#gpioChip) {
      throw new HalError("not_found", `Cannot open GPIO chip ${chip} (/dev/gpiochip${chip})`);
    }
    return this.#chip;
  }

  spi(bus: number, cs: number, options: Partial<SpiOptions> = {}): SimSpiDevice {
    const key = `${bus}.${cs}`;
    let dev = this.#spi.get(key);
    if (!dev) this.#spi.set(key, dev = new SimSpiDevice(bus, cs, options));
    return dev;
  }

  uart(path: string, baud?: number): SimUart {
    let port = this.#uarts.get(path);
    if (!port) this.#uarts.set(path, port = new SimUart(path, baud));
    else if (baud !== undefined) port.setBaud(baud);
    return port;
  }

  /** Silence the buzzer and release every device. */
  close(): void {
    this.buzzer.close();
    for (const bus of this.#buses.values()) bus.close();
    for (const dev of this.#spi.values()) dev.close();
    for (const port of this.#uarts.values()) port.close();
    this.#chip.close();
  }
}
