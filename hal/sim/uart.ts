/**
 * A simulated serial port: TX looped back to RX (a jumper between pins 8 and 10), plus
 * {@link SimUart.inject} for bytes a remote device sends.
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { Uart } from "../spi.ts";

/** Baud rates a Pi UART accepts. */
export const STANDARD_BAUD_RATES: readonly number[] = [
  1200,
  2400,
  4800,
  9600,
  19200,
  38400,
  57600,
  115200,
  230400,
  460800,
  921600,
];

/**
 * Simulated UART.
 *
 * @example
 * ```ts
 * import { SimUart } from "./uart.ts";
 * const uart = new SimUart("/dev/serial0");
 * await uart.write(Uint8Array.of(0x42));
 * console.assert((await uart.read(8))[0] === 0x42);
 * uart.close();
 * ```
 */
export class SimUart implements Uart {
  readonly path: string;
  /** Loop TX back into RX; default true. */
  loopback: boolean;
  /** Every byte written, in order (what a remote device would have received). */
  readonly transmitted: number[] = [];
  #baud: number;
  #rx: number[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;

  /** @throws {RangeError} on a non-standard baud rate */
  constructor(path: string, baud = 115200, options: { loopback?: boolean } = {}) {
    this.path = path;
    this.#baud = checkBaud(path, baud);
    this.loopback = options.loopback ?? true;
  }

  get baud(): number {
    return this.#baud;
  }

  setBaud(rate: number): void {
    this.#baud = checkBaud(this.path, rate);
  }

  /** Bytes arriving from the remote side. */
  inject(data: Uint8Array): void {
    this.#rx.push(...data);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** @throws {HalError} `not_found` after close */
  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(this.#closedError("write"));
    this.transmitted.push(...data);
    if (this.loopback) this.inject(data);
    return Promise.resolve(data.length);
  }

  /** Bytes waiting now, else wait up to `timeoutMs` (default 0) for some; empty on timeout. */
  async read(maxLen: number, timeoutMs = 0): Promise<Uint8Array> {
    if (this.#closed) throw this.#closedError("read");
    if (this.#rx.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(done), 1);
          resolve();
        }, timeoutMs);
        this.#waiters.push(done);
      });
    }
    return Uint8Array.from(this.#rx.splice(0, Math.max(0, maxLen)));
  }

  /** Close the port; a pending read returns empty. */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  #closedError(action: string): HalError {
    return new HalError("not_found", `Cannot ${action} ${this.path} (port closed)`);
  }
}

function checkBaud(path: string, rate: number): number {
  if (!STANDARD_BAUD_RATES.includes(rate)) {
    throw new RangeError(
      `Cannot set baud rate of ${path}: ${String(rate)} is not one of ${STANDARD_BAUD_RATES.join(", ")}`,
    );
  }
  return rate;
}
