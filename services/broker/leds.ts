/**
 * The LED buffer: plugins write single LEDs into it, the broker pushes the whole strip to the
 * wire once per cycle (no flicker), with a heartbeat on LED 0.
 *
 * @module
 */
import type { LedStrip, Rgb } from "../../hal/mod.ts";
import type { EventSink } from "../events/event.ts";

const OFF: Rgb = { r: 0, g: 0, b: 0 };
/** Heartbeat colours on LED 0, alternating each cycle (blue ↔ cyan, as on the original host). */
const HEARTBEAT: readonly Rgb[] = [{ r: 0, g: 0, b: 40 }, { r: 0, g: 40, b: 40 }];

/** `#rrggbb` of a colour. */
export function toHex(c: Rgb): string {
  const h = (v: number) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0");
  return `#${h(c.r)}${h(c.g)}${h(c.b)}`;
}

/** Whole-strip buffer with one sync per cycle. */
export class LedBuffer {
  readonly #strip: LedStrip;
  readonly #emit: EventSink;
  readonly #pixels: Rgb[];
  readonly #heartbeat: boolean;
  #beat = 0;
  #lastSynced = "";

  /**
   * @param strip the strip driver (sim or linux)
   * @param emit event sink for `led.sync`
   * @param options `heartbeat`: drive LED 0 as a heartbeat (default true)
   */
  constructor(strip: LedStrip, emit: EventSink, options: { heartbeat?: boolean } = {}) {
    this.#strip = strip;
    this.#emit = emit;
    this.#pixels = Array.from({ length: strip.count }, () => ({ ...OFF }));
    this.#heartbeat = options.heartbeat ?? true;
  }

  /** Number of LEDs. */
  get count(): number {
    return this.#pixels.length;
  }

  /**
   * Write one LED into the buffer (nothing reaches the wire until {@link sync}).
   *
   * @throws {RangeError} when the index or a channel is out of range
   */
  set(index: number, rgb: Rgb): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#pixels.length) {
      throw new RangeError(
        `Cannot set LED ${index}: the strip has LEDs 0..${this.#pixels.length - 1}`,
      );
    }
    for (const [k, v] of Object.entries(rgb)) {
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        throw new RangeError(`Cannot set LED ${index}: ${k} must be an integer 0..255, got ${v}`);
      }
    }
    this.#pixels[index] = { r: rgb.r, g: rgb.g, b: rgb.b };
  }

  /** The buffer as `#rrggbb` strings. */
  hex(): string[] {
    return this.#pixels.map(toHex);
  }

  /** Advance the heartbeat and push the whole strip in one write; emits `led.sync` when it changed. */
  async sync(): Promise<void> {
    if (this.#heartbeat && this.#pixels.length > 0) {
      this.#pixels[0] = { ...HEARTBEAT[this.#beat++ % HEARTBEAT.length] };
    }
    await this.#strip.show(this.#pixels.map((p) => ({ ...p })));
    const hex = this.hex();
    const key = hex.join(",");
    if (key !== this.#lastSynced) {
      this.#lastSynced = key;
      this.#emit.emit("led.sync", { leds: hex });
    }
  }

  /** Turn every LED off on the wire (shutdown). */
  async off(): Promise<void> {
    this.#pixels.fill(OFF);
    await this.#strip.show(this.#pixels.map((p) => ({ ...p })));
  }
}
