/**
 * Register-level device models that a {@link SimI2cBus} routes transfers to.
 *
 * A model sees exactly what the wire would carry: the bytes written after the address
 * (including the register pointer) and how many bytes the master clocks in afterwards.
 *
 * @module
 */
import { HalError, hex } from "../errors.ts";

/** A device on a simulated I2C bus. Throw {@link HalError} for device-level faults. */
export interface SimI2cModel {
  /** 7-bit address the model answers on. */
  readonly address: number;
  /**
   * One combined transfer: `write` bytes, then (repeated start) `readLen` bytes back.
   *
   * @param write bytes the master sent (may be empty)
   * @param readLen number of bytes the master reads (may be 0)
   * @returns exactly `readLen` bytes
   */
  transfer(write: Uint8Array, readLen: number): Uint8Array;
}

/** Number of registers in a {@link RegisterFileModel}. */
export const REGISTER_COUNT = 256;

/**
 * A 256-register device: the first written byte sets the register pointer, further written
 * bytes store at the pointer with auto-increment, reads return bytes from the pointer with
 * auto-increment (wrapping at 0xff), as most sensors (BME680, SHT, EEPROM-like) behave.
 * Subclasses override {@link RegisterFileModel.onWrite} and {@link RegisterFileModel.onRead}.
 *
 * @example
 * ```ts
 * import { RegisterFileModel } from "./model.ts";
 * const m = new RegisterFileModel(0x50);
 * m.transfer(Uint8Array.of(0x10, 1, 2, 3), 0);
 * console.assert(m.transfer(Uint8Array.of(0x11), 2).join() === "2,3");
 * ```
 */
export class RegisterFileModel implements SimI2cModel {
  readonly address: number;
  /** The register file; subclasses may read and write it directly. */
  protected readonly regs: Uint8Array = new Uint8Array(REGISTER_COUNT);
  /** The register pointer: set by the first written byte. */
  protected pointer = 0;

  /**
   * @param address 7-bit I2C address, 0x03..0x77
   * @throws {RangeError} when the address is not a valid 7-bit address
   */
  constructor(address: number) {
    if (!Number.isInteger(address) || address < 0x03 || address > 0x77) {
      throw new RangeError(`Cannot create I2C model: address ${String(address)} is outside 0x03..0x77`);
    }
    this.address = address;
  }

  /** Run one combined transfer (see {@link SimI2cModel.transfer}). */
  transfer(write: Uint8Array, readLen: number): Uint8Array {
    if (write.length > 0) {
      this.pointer = write[0];
      for (let i = 1; i < write.length; i++) {
        const reg = this.pointer;
        const previous = this.regs[reg];
        this.regs[reg] = write[i];
        this.onWrite(reg, write[i], previous);
        this.pointer = (this.pointer + 1) & 0xff;
      }
    }
    const out = new Uint8Array(readLen);
    for (let i = 0; i < readLen; i++) {
      out[i] = this.onRead(this.pointer, this.regs[this.pointer]);
      this.pointer = (this.pointer + 1) & 0xff;
    }
    return out;
  }

  /** Peek at a register without side effects (tests, dashboards). */
  peek(reg: number): number {
    return this.regs[reg & 0xff];
  }

  /** Set a register without firing {@link RegisterFileModel.onWrite} (power-on values, sensor outputs). */
  poke(reg: number, ...values: number[]): void {
    values.forEach((v, i) => this.regs[(reg + i) & 0xff] = v & 0xff);
  }

  /**
   * Called after a byte was stored by the master; override to react (commands, mode changes).
   * The stored value is already in `regs[reg]`; a hook may overwrite it (read-only bits).
   */
  protected onWrite(_reg: number, _value: number, _previous: number): void {}

  /** Called for every byte read; returns the byte put on the wire. Default: the stored value. */
  protected onRead(_reg: number, stored: number): number {
    return stored;
  }

  /** A device-level fault worded like the bus would: for models to throw from hooks. */
  protected fault(code: "io" | "timeout" | "not_supported", what: string): HalError {
    return new HalError(code, `Cannot ${what} on I2C device ${hex(this.address)}`);
  }
}
