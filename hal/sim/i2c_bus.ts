/**
 * A simulated I2C adapter: routes each transfer to the {@link SimI2cModel} attached at the
 * address, NAKs absent addresses, serialises transfers, and can spend the wire time a real
 * bus would.
 *
 * @module
 */
import { HalError, hex } from "../errors.ts";
import type { I2cBus, I2cFunctionality } from "../i2c.ts";
import type { SimI2cModel } from "./model.ts";

/** Options for {@link SimI2cBus}. */
export interface SimI2cBusOptions {
  /**
   * Simulate wire time at this SCL rate in Hz (9 clocks per byte, address bytes included);
   * 0 (default) answers at once.
   */
  wireHz?: number;
  /** Sleep used for wire time (inject fake timers in tests); default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
  /** Behave like an SMBus-only adapter: transfers SMBus cannot express fail with `not_supported`. */
  smbusOnly?: boolean;
}

/** Per-address traffic counters. */
export interface SimI2cCounters {
  transfers: number;
  naks: number;
  faults: number;
  bytesWritten: number;
  bytesRead: number;
}

/** Bytes per SMBus block transfer (I2C_SMBUS_BLOCK_MAX). */
const SMBUS_BLOCK_MAX = 32;

/** Whether SMBus (quick, byte, byte data, word data, I2C block data) can express a transfer. */
export function smbusExpressible(writeLen: number, readLen: number): boolean {
  if (readLen === 0) return writeLen <= SMBUS_BLOCK_MAX + 1;
  if (writeLen === 0) return readLen === 1;
  return writeLen === 1 && readLen <= SMBUS_BLOCK_MAX;
}

/**
 * A simulated `/dev/i2c-N`.
 *
 * @example
 * ```ts
 * import { SimI2cBus } from "./i2c_bus.ts";
 * import { RegisterFileModel } from "./model.ts";
 * const bus = new SimI2cBus(1);
 * bus.attach(new RegisterFileModel(0x50));
 * await bus.transfer(0x50, Uint8Array.of(0, 42), 0);
 * console.assert((await bus.transfer(0x50, Uint8Array.of(0), 1))[0] === 42);
 * ```
 */
export class SimI2cBus implements I2cBus {
  readonly bus: number;
  readonly #models = new Map<number, SimI2cModel>();
  readonly #counters = new Map<number, SimI2cCounters>();
  readonly #faults = new Map<number, { code: "io" | "timeout" | "bus_busy"; left: number }>();
  readonly #wireHz: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #smbusOnly: boolean;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #wireMs = 0;

  /**
   * @param bus bus number (`/dev/i2c-N`)
   * @param options wire time and adapter kind
   * @throws {RangeError} on a negative bus number or wire rate
   */
  constructor(bus: number, options: SimI2cBusOptions = {}) {
    if (!Number.isInteger(bus) || bus < 0) {
      throw new RangeError(`Cannot create I2C bus: bus number ${String(bus)} is not a non-negative integer`);
    }
    const wireHz = options.wireHz ?? 0;
    if (!(wireHz >= 0) || !Number.isFinite(wireHz)) {
      throw new RangeError(`Cannot create I2C bus ${bus}: wire rate ${String(wireHz)} Hz is not ≥ 0`);
    }
    this.bus = bus;
    this.#wireHz = wireHz;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#smbusOnly = options.smbusOnly ?? false;
  }

  /**
   * Put a device model on the bus.
   *
   * @throws {Error} when another model already answers at that address
   */
  attach(model: SimI2cModel): void {
    if (this.#models.has(model.address)) {
      throw new Error(
        `Cannot attach I2C model at ${hex(model.address)} on bus ${this.bus}: address is taken`,
      );
    }
    this.#models.set(model.address, model);
  }

  /** Remove the model at `addr` (a device unplugged); returns whether one was there. */
  detach(addr: number): boolean {
    return this.#models.delete(addr);
  }

  /** The model at `addr`, if any. */
  model(addr: number): SimI2cModel | undefined {
    return this.#models.get(addr);
  }

  /** Addresses that acknowledge, ascending (what `i2cdetect` would show). */
  addresses(): number[] {
    return [...this.#models.keys()].sort((a, b) => a - b);
  }

  /** Make the next `times` transfers to `addr` fail with `code` (glitches, clock stretching). */
  injectFault(addr: number, code: "io" | "timeout" | "bus_busy", times = 1): void {
    this.#faults.set(addr, { code, left: times });
  }

  /** Traffic counters for `addr` (zeros when never addressed). */
  counters(addr: number): SimI2cCounters {
    return { ...(this.#counters.get(addr) ?? emptyCounters()) };
  }

  /** Transfers addressed to `addr`, acknowledged or not. */
  transferCount(addr: number): number {
    return this.#counters.get(addr)?.transfers ?? 0;
  }

  /** Total simulated wire time so far, in milliseconds. */
  get wireMs(): number {
    return this.#wireMs;
  }

  /** See {@link I2cFunctionality}; an SMBus-only adapter reports `i2c: false`. */
  functionality(): I2cFunctionality {
    return {
      i2c: !this.#smbusOnly,
      smbusQuick: true,
      smbusByte: true,
      smbusByteData: true,
      smbusWordData: true,
      smbusI2cBlock: true,
      raw: 0,
    };
  }

  /**
   * One combined transfer, serialised with every other transfer on this bus.
   *
   * @throws {HalError} `address_nak` when no model answers, `not_supported` for what an
   *   SMBus-only adapter cannot express, `not_found` after close, a model's own fault otherwise
   * @throws {RangeError} on a bad address or read length
   */
  transfer(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    const action = `Cannot transfer to I2C device ${hex(addr)} on bus ${this.bus}`;
    if (!Number.isInteger(addr) || addr < 0 || addr > 0x7f) {
      return Promise.reject(new RangeError(`${action}: address is outside 0x00..0x7f`));
    }
    if (!Number.isInteger(readLen) || readLen < 0) {
      return Promise.reject(new RangeError(`${action}: read length ${String(readLen)} is not ≥ 0`));
    }
    const data = Uint8Array.from(write); // the caller may reuse its buffer
    const run = this.#tail.then(() => this.#run(action, addr, data, readLen));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #run(action: string, addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    if (this.#closed) throw new HalError("not_found", `${action} (bus closed)`);
    if (this.#smbusOnly && !smbusExpressible(write.length, readLen)) {
      throw new HalError(
        "not_supported",
        `${action} (SMBus-only adapter, write ${write.length} read ${readLen})`,
      );
    }
    const c = this.#counters.get(addr) ?? emptyCounters();
    this.#counters.set(addr, c);
    c.transfers++;
    const model = this.#models.get(addr);
    await this.#spendWire(model ? write.length + (readLen > 0 ? 1 + readLen : 0) : 0);
    if (!model) {
      c.naks++;
      throw new HalError("address_nak", action);
    }
    const fault = this.#faults.get(addr);
    if (fault) {
      if (--fault.left <= 0) this.#faults.delete(addr);
      c.faults++;
      throw new HalError(fault.code, action);
    }
    let out: Uint8Array;
    try {
      out = model.transfer(write, readLen);
    } catch (e) {
      c.faults++;
      if (e instanceof HalError) throw e;
      throw new HalError("io", `${action} (model failed: ${e instanceof Error ? e.message : String(e)})`, {
        cause: e,
      });
    }
    if (out.length !== readLen) {
      c.faults++;
      throw new HalError("io", `${action} (short read: ${out.length} of ${readLen} bytes)`);
    }
    c.bytesWritten += write.length;
    c.bytesRead += readLen;
    return out;
  }

  /** Address byte plus `bytes` more, 9 clocks each. */
  async #spendWire(bytes: number): Promise<void> {
    if (this.#wireHz === 0) return;
    const ms = ((1 + bytes) * 9 * 1000) / this.#wireHz;
    this.#wireMs += ms;
    await this.#sleep(ms);
  }

  /** Close the bus: pending and later transfers fail with `not_found`. */
  close(): void {
    this.#closed = true;
  }
}

function emptyCounters(): SimI2cCounters {
  return { transfers: 0, naks: 0, faults: 0, bytesWritten: 0, bytesRead: 0 };
}
