/**
 * A simulated WS2812B strip: records every frame put on the wire, with its time.
 *
 * @module
 */
import type { LedStrip, Rgb } from "../drivers.ts";

/** One `show()` as the wire got it. */
export interface LedFrame {
  /** Clock time of the show, ms. */
  at: number;
  /** The colours passed to `show()`. */
  pixels: Rgb[];
  /** What went on the wire after brightness scaling. */
  wire: Rgb[];
}

/** Options for {@link SimLedStrip}. */
export interface SimLedStripOptions {
  count: number;
  /** 0..1, applied on the wire like rpi_ws281x does; default 1. */
  brightness?: number;
  /** Milliseconds clock; default `Date.now`. */
  clock?: () => number;
  /** Frames kept in {@link SimLedStrip.frames}, oldest dropped first; default 1000. */
  historyMax?: number;
}

/**
 * Simulated LED strip.
 *
 * @example
 * ```ts
 * import { SimLedStrip } from "./led_strip.ts";
 * const strip = new SimLedStrip({ count: 2 });
 * await strip.show([{ r: 255, g: 0, b: 0 }, { r: 0, g: 0, b: 0 }]);
 * console.assert(strip.current()[0].r === 255 && strip.frames.length === 1);
 * ```
 */
export class SimLedStrip implements LedStrip {
  readonly count: number;
  readonly brightness: number;
  /** Frames shown, oldest first (bounded). */
  readonly frames: LedFrame[] = [];
  /** Frames dropped from {@link SimLedStrip.frames} because of the bound. */
  droppedFrames = 0;
  readonly #clock: () => number;
  readonly #historyMax: number;
  #current: Rgb[];

  /** @throws {RangeError} on a bad count or brightness */
  constructor(options: SimLedStripOptions) {
    if (!Number.isInteger(options.count) || options.count < 0) {
      throw new RangeError(
        `Cannot create LED strip: count ${String(options.count)} is not a non-negative integer`,
      );
    }
    const brightness = options.brightness ?? 1;
    if (!(brightness >= 0 && brightness <= 1)) {
      throw new RangeError(`Cannot create LED strip: brightness ${String(brightness)} is outside 0..1`);
    }
    this.count = options.count;
    this.brightness = brightness;
    this.#clock = options.clock ?? Date.now;
    this.#historyMax = options.historyMax ?? 1000;
    this.#current = Array.from({ length: this.count }, () => ({ r: 0, g: 0, b: 0 }));
  }

  /**
   * @throws {RangeError} when the frame length is not `count` or a channel is not an integer 0..255
   */
  show(pixels: readonly Rgb[]): Promise<void> {
    if (pixels.length !== this.count) {
      return Promise.reject(
        new RangeError(`Cannot show LED frame: expected ${this.count} pixels, got ${pixels.length}`),
      );
    }
    for (const [i, p] of pixels.entries()) {
      for (const ch of ["r", "g", "b"] as const) {
        const v = p?.[ch];
        if (!Number.isInteger(v) || v < 0 || v > 255) {
          return Promise.reject(
            new RangeError(
              `Cannot show LED frame: pixel ${i} channel ${ch} is ${String(v)}, not an integer 0..255`,
            ),
          );
        }
      }
    }
    const copy = pixels.map(({ r, g, b }) => ({ r, g, b }));
    const wire = copy.map(({ r, g, b }) => ({ r: this.#dim(r), g: this.#dim(g), b: this.#dim(b) }));
    this.#current = wire;
    this.frames.push({ at: this.#clock(), pixels: copy, wire });
    if (this.frames.length > this.#historyMax) {
      this.frames.shift();
      this.droppedFrames++;
    }
    return Promise.resolve();
  }

  /** What the wire last got (brightness applied); all off before the first show. */
  current(): readonly Rgb[] {
    return this.#current.map((p) => ({ ...p }));
  }

  #dim(v: number): number {
    return Math.round(v * this.brightness);
  }
}
