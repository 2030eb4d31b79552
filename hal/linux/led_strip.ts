/**
 * WS2812B over SPI MOSI: at 2.4 MHz one SPI bit lasts 417 ns, so each LED bit becomes three SPI
 * bits (`1` → `110`, `0` → `100`), GRB order, most significant bit first, then a low reset gap.
 *
 * @module
 */
import type { LedStrip, Rgb } from "../drivers.ts";
import type { SpiDevice } from "../spi.ts";

/** SPI clock that makes 3 SPI bits one WS2812B bit period (1.25 µs). */
export const WS2812_SPI_HZ = 2_400_000;
/** Zero bytes after the data: 300 µs at 2.4 MHz (newer WS2812B need > 280 µs low). */
export const WS2812_RESET_BYTES = 90;

/**
 * Scale a channel by brightness (0..1; values above 1 are read as 0..255).
 *
 * @throws {RangeError} on a negative or non-finite brightness
 */
export function scaleChannel(value: number, brightness: number): number {
  if (!Number.isFinite(brightness) || brightness < 0) {
    throw new RangeError(`Cannot scale LED colour: brightness must be ≥ 0, got ${brightness}`);
  }
  const b = brightness > 1 ? Math.min(brightness, 255) / 255 : brightness;
  return Math.round(Math.max(0, Math.min(255, value)) * b);
}

/** Encode pixels as the SPI byte stream (9 bytes per pixel, then the reset gap). */
export function encodeWs2812(pixels: readonly Rgb[], brightness = 1): Uint8Array {
  const out = new Uint8Array(pixels.length * 9 + WS2812_RESET_BYTES);
  let bit = 0;
  const put = (on: boolean) => {
    if (on) out[bit >> 3] |= 0x80 >> (bit & 7);
    bit++;
  };
  for (const p of pixels) {
    for (const channel of [p.g, p.r, p.b]) {
      const v = scaleChannel(channel, brightness);
      for (let i = 7; i >= 0; i--) {
        put(true);
        put(((v >> i) & 1) === 1);
        put(false);
      }
    }
  }
  return out;
}

/** A WS2812B strip on an SPI device clocked at {@link WS2812_SPI_HZ}. */
export class LinuxLedStrip implements LedStrip {
  readonly count: number;
  readonly #spi: () => SpiDevice;
  readonly #brightness: number;
  #current: Rgb[];

  /**
   * @param spi opens (lazily) the SPI device at 2.4 MHz
   * @param count number of LEDs
   * @param brightness 0..1 (or 0..255)
   */
  constructor(spi: () => SpiDevice, count: number, brightness = 1) {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`Cannot create LED strip: count must be ≥ 0, got ${count}`);
    }
    scaleChannel(0, brightness);
    this.#spi = spi;
    this.count = count;
    this.#brightness = brightness;
    this.#current = Array.from({ length: count }, () => ({ r: 0, g: 0, b: 0 }));
  }

  /** Push all pixels to the wire. */
  async show(pixels: readonly Rgb[]): Promise<void> {
    if (pixels.length !== this.count) {
      throw new RangeError(`Cannot show LED frame: got ${pixels.length} pixels for a strip of ${this.count}`);
    }
    await this.#spi().transfer(encodeWs2812(pixels, this.#brightness));
    this.#current = pixels.map((p) => ({ r: p.r, g: p.g, b: p.b }));
  }

  /** What the wire last got (unscaled). */
  current(): readonly Rgb[] {
    return this.#current;
  }
}
