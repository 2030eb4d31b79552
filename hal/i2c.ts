/**
 * I2C interfaces: a bus that takes an address, and an address-bound device that a plugin holds.
 * Holding an {@link I2cDevice} *is* the permission to talk to that one address (tock's `I2CDevice`).
 *
 * @module
 */
import { HalError, hex } from "./errors.ts";

/** What an adapter can do, from `I2C_FUNCS` (linux) or the model (sim). */
export interface I2cFunctionality {
  /** Plain I2C messages (`I2C_RDWR`): arbitrary combined write-then-read transfers. */
  i2c: boolean;
  smbusQuick: boolean;
  smbusByte: boolean;
  smbusByteData: boolean;
  smbusWordData: boolean;
  smbusI2cBlock: boolean;
  /** The raw `I2C_FUNCS` bit mask, 0 where not applicable. */
  raw: number;
}

/** One I2C adapter. Transfers on one bus are serialised by the implementation. */
export interface I2cBus {
  /** Bus number (`/dev/i2c-N`). */
  readonly bus: number;
  /** What the adapter supports. */
  functionality(): I2cFunctionality;
  /**
   * Write `write` to `addr`, then (repeated start) read `readLen` bytes. Either part may be empty.
   * Runs off the event loop's thread on real hardware.
   *
   * @throws {HalError} `address_nak` when nothing answers, `not_supported` when the adapter
   *   cannot express the transfer, `io`/`timeout`/`bus_busy` otherwise
   */
  transfer(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array>;
  /** Release the device node. */
  close(): void;
}

/**
 * An address-bound view of a bus: the only I2C object a plugin ever reaches.
 *
 * @example
 * ```ts ignore
 * const dev = new I2cDevice(bus, 0x77);
 * const [chipId] = await dev.readRegister(0xd0, 1);
 * ```
 */
export class I2cDevice {
  readonly #bus: I2cBus;
  readonly address: number;

  constructor(bus: I2cBus, address: number) {
    if (!Number.isInteger(address) || address < 0x03 || address > 0x77) {
      throw new RangeError(`Cannot bind I2C device: address ${hex(address)} is outside 0x03..0x77`);
    }
    this.#bus = bus;
    this.address = address;
  }

  /** Bus number this device lives on. */
  get bus(): number {
    return this.#bus.bus;
  }

  /** Generic write-then-read transfer to this device's address. */
  transfer(write: Uint8Array, readLen: number): Promise<Uint8Array> {
    return this.#bus.transfer(this.address, write, readLen);
  }

  /** Read `length` bytes starting at register `reg`. */
  readRegister(reg: number, length: number): Promise<Uint8Array> {
    return this.transfer(Uint8Array.of(reg), length);
  }

  /** Write `data` starting at register `reg`. */
  async writeRegister(reg: number, ...data: number[]): Promise<void> {
    await this.transfer(Uint8Array.of(reg, ...data), 0);
  }
}

export { HalError };
