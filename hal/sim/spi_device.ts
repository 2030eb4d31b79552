/**
 * A simulated SPI device: MISO wired to MOSI (loopback), or a responder function.
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { SpiDevice, SpiOptions } from "../spi.ts";

/** Options for {@link SimSpiDevice}. */
export interface SimSpiDeviceOptions extends Partial<SpiOptions> {
  /** What the device clocks back for `tx`; default loopback (a copy of `tx`). */
  respond?: (tx: Uint8Array) => Uint8Array;
}

/**
 * Simulated `/dev/spidevB.C`.
 *
 * @example
 * ```ts
 * import { SimSpiDevice } from "./spi_device.ts";
 * const spi = new SimSpiDevice(0, 0);
 * console.assert((await spi.transfer(Uint8Array.of(1, 2)))[1] === 2);
 * ```
 */
export class SimSpiDevice implements SpiDevice {
  readonly path: string;
  readonly options: SpiOptions;
  /** Every frame clocked out, oldest first. */
  readonly sent: Uint8Array[] = [];
  readonly #respond: (tx: Uint8Array) => Uint8Array;
  #closed = false;

  /** @throws {RangeError} on a bad mode, speed or word size */
  constructor(bus: number, cs: number, options: SimSpiDeviceOptions = {}) {
    this.path = `/dev/spidev${bus}.${cs}`;
    this.options = {
      mode: options.mode ?? 0,
      speedHz: options.speedHz ?? 1_000_000,
      bitsPerWord: options.bitsPerWord ?? 8,
    };
    const { mode, speedHz, bitsPerWord } = this.options;
    if (![0, 1, 2, 3].includes(mode)) {
      throw new RangeError(`Cannot open ${this.path}: mode ${mode} is not 0..3`);
    }
    if (!(Number.isInteger(speedHz) && speedHz > 0)) {
      throw new RangeError(`Cannot open ${this.path}: speed ${speedHz} Hz is not a positive integer`);
    }
    if (!(Number.isInteger(bitsPerWord) && bitsPerWord >= 1 && bitsPerWord <= 32)) {
      throw new RangeError(`Cannot open ${this.path}: ${bitsPerWord} bits per word is outside 1..32`);
    }
    this.#respond = options.respond ?? ((tx) => Uint8Array.from(tx));
  }

  /** @throws {HalError} `not_found` after close, `io` when the responder answers the wrong length */
  transfer(tx: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(new HalError("not_found", `Cannot transfer on ${this.path} (closed)`));
    }
    const frame = Uint8Array.from(tx);
    this.sent.push(frame);
    const rx = this.#respond(frame);
    if (rx.length !== frame.length) {
      return Promise.reject(
        new HalError(
          "io",
          `Cannot transfer on ${this.path} (device answered ${rx.length} of ${frame.length} bytes)`,
        ),
      );
    }
    return Promise.resolve(rx);
  }

  close(): void {
    this.#closed = true;
  }
}
