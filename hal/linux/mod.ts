/**
 * The Linux HAL: I2C, SPI, UART through libc ioctls, GPIO through libgpiod (v1 or v2), all via
 * `Deno.dlopen`. Devices open lazily on first use; {@link LinuxHal.close} releases them all.
 *
 * @module
 */
import type { Hal, HalOptions } from "../mod.ts";
import type { GpioChip } from "../gpio.ts";
import type { SpiDevice, SpiOptions, Uart } from "../spi.ts";
import { type I2cIoMode, LinuxI2cBus } from "./i2c_bus.ts";
import { LinuxSpiDevice } from "./spi_device.ts";
import { LinuxUart } from "./uart.ts";
import { openGpioChip } from "./gpio_chip.ts";
import { LinuxDht22 } from "./dht22.ts";
import { LinuxLedStrip, WS2812_SPI_HZ } from "./led_strip.ts";
import { LinuxBuzzerRelay } from "./buzzer_relay.ts";
import { LinuxSystemInfo } from "./system_info.ts";

export { LinuxI2cBus } from "./i2c_bus.ts";
export { LinuxSpiDevice } from "./spi_device.ts";
export { LinuxUart, openPty } from "./uart.ts";
export { LinuxGpioChip } from "./gpiod.ts";
export { gpiod, openGpioChip } from "./gpio_chip.ts";
export { LinuxDht22 } from "./dht22.ts";
export { encodeWs2812, LinuxLedStrip } from "./led_strip.ts";
export { LinuxBuzzerRelay } from "./buzzer_relay.ts";
export { LinuxSystemInfo } from "./system_info.ts";

/** {@link HalOptions} plus what only the Linux backend needs. */
export interface LinuxHalOptions extends HalOptions {
  /** Use `I2C_SLAVE_FORCE` (talk to addresses a kernel driver claimed). Default false. */
  i2cForce?: boolean;
  /** Lock each I2C bus exclusively (`flock`), so a second broker fails to open it. Default false. */
  i2cExclusive?: boolean;
  /**
   * How I2C ioctls run: `"worker"` (default: a thread per bus with sync FFI, errno read there),
   * `"nonblocking"` (Deno's FFI pool; a failed ioctl is repeated to learn errno) or `"sync"`.
   */
  i2cIo?: I2cIoMode;
  /** SPI bus of the WS2812B strip (MOSI), default 0, chip select 0. */
  spiBus?: number;
  /** IIO folder for the DHT22 (dht11 driver), default `/sys/bus/iio/devices`. */
  iioRoot?: string;
  /** `/proc` and thermal zone roots (tests). */
  procRoot?: string;
  thermalZone?: string;
}

/** {@link Hal} on Linux. */
export class LinuxHal implements Hal {
  readonly backend = "linux";
  readonly options: LinuxHalOptions;
  readonly dht22: LinuxDht22;
  readonly leds: LinuxLedStrip;
  readonly buzzer: LinuxBuzzerRelay;
  readonly system: LinuxSystemInfo;
  readonly #i2c = new Map<number, LinuxI2cBus>();
  readonly #gpio = new Map<number, GpioChip>();
  readonly #spi = new Map<string, SpiDevice>();
  readonly #uarts = new Map<string, Uart>();

  /** Nothing is opened here; every device opens on first use. */
  constructor(options: LinuxHalOptions) {
    this.options = options;
    this.dht22 = new LinuxDht22({ root: options.iioRoot });
    this.leds = new LinuxLedStrip(
      () => this.spi(options.spiBus ?? 0, 0, { speedHz: WS2812_SPI_HZ, mode: 0, bitsPerWord: 8 }),
      options.ledCount,
      options.ledBrightness,
    );
    this.buzzer = new LinuxBuzzerRelay(() => this.gpio(options.gpioChip), options.buzzerPin);
    this.system = new LinuxSystemInfo({ proc: options.procRoot, thermalZone: options.thermalZone });
  }

  /** `/dev/i2c-<bus>`, opened once. @throws {HalError} `not_found` for a missing bus */
  i2c(bus: number): LinuxI2cBus {
    let b = this.#i2c.get(bus);
    if (!b) {
      b = LinuxI2cBus.open(bus, {
        force: this.options.i2cForce,
        io: this.options.i2cIo,
        exclusive: this.options.i2cExclusive,
      });
      this.#i2c.set(bus, b);
    }
    return b;
  }

  /** `/dev/gpiochip<chip>`, opened once. */
  gpio(chip: number): GpioChip {
    let c = this.#gpio.get(chip);
    if (!c) {
      c = openGpioChip(chip);
      this.#gpio.set(chip, c);
    }
    return c;
  }

  /** `/dev/spidev<bus>.<cs>`, opened once (options apply at first open). */
  spi(bus: number, cs: number, options?: Partial<SpiOptions>): SpiDevice {
    const key = `${bus}.${cs}`;
    let d = this.#spi.get(key);
    if (!d) {
      d = LinuxSpiDevice.open(bus, cs, options);
      this.#spi.set(key, d);
    }
    return d;
  }

  /** A tty, opened once, raw at `baud` (9600 by default; a later `baud` re-applies). */
  uart(path: string, baud?: number): Uart {
    let u = this.#uarts.get(path);
    if (!u) {
      u = LinuxUart.open(path, baud ?? 9600);
      this.#uarts.set(path, u);
    } else if (baud !== undefined) {
      u.setBaud(baud);
    }
    return u;
  }

  /** Silence the buzzer and release every device node. */
  close(): void {
    try {
      this.buzzer.close();
    } catch { /* the chip may be gone; releasing it below */ }
    for (const m of [this.#i2c, this.#gpio, this.#spi, this.#uarts] as Map<unknown, { close(): void }>[]) {
      for (const d of m.values()) d.close();
      m.clear();
    }
  }
}
