/**
 * The bridge from `[hal]`, `[leds]`, `[buzzer]` and `[sensors]` to the HAL's constructor
 * options: a `HalOptions` plus what both backends take beyond it.
 *
 * @module
 */
import type { HalOptions } from "../hal/mod.ts";
import type { Config } from "./schema.ts";

/** What `new SimHal(...)` / the Linux HAL take from the configuration. */
export interface HalOptionsFromConfig extends HalOptions {
  buzzerActiveLow: boolean;
  /** GPIO pins with a DHT22 wired. */
  dht22Pins: number[];
}

/**
 * HAL options from a configuration.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./schema.ts";
 * import { halOptionsFrom } from "./hal_options.ts";
 * console.assert(halOptionsFrom(defaultConfig()).buzzerPin === 17);
 * ```
 */
export function halOptionsFrom(config: Config): HalOptionsFromConfig {
  return {
    i2cBuses: [...config.hal.i2c_buses],
    gpioChip: config.hal.gpio_chip,
    ledCount: config.leds.count,
    ledPin: config.leds.pin,
    ledBrightness: config.leds.brightness,
    buzzerPin: config.buzzer.pin,
    buzzerActiveLow: config.buzzer.active_low,
    dht22Pins: [config.sensors.dht22_pin],
  };
}
