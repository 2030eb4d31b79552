/**
 * The i2c-tiny-usb adapter (Till Harbaum's firmware protocol, VID 0403 / PID c631) as a
 * {@link UsbModel}, with {@link SimI2cModel}s on its bus. The kernel's `i2c-tiny-usb` driver
 * sends each `i2c_msg` as one vendor control request (`CMD_I2C_IO` | BEGIN on the first | END
 * on the last; wValue = message flags, wIndex = address), then reads the status byte (ACK/NAK).
 *
 * A model sees combined transfers as the wire carries them: a write message followed by a read
 * message in the same transaction reaches it as one `transfer(write, readLen)`.
 *
 * @module
 */
import { HalError } from "../../../hal/errors.ts";
import type { SimI2cModel } from "../../../hal/sim/model.ts";
import type { Setup, UsbModel, UsbReply } from "./usbip.ts";

const CMD_ECHO = 0;
const CMD_GET_FUNC = 1;
const CMD_SET_DELAY = 2;
const CMD_GET_STATUS = 3;
const CMD_I2C_IO = 4;
const IO_BEGIN = 1;
const IO_END = 2;
const STATUS_ACK = 1;
const STATUS_NAK = 2;
const I2C_M_RD = 1;

/** `I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL`, what the firmware reports. */
export const TINY_USB_FUNCS = 0x00000001 | 0x0eff0008;

/** One I2C message as the adapter saw it. */
export interface WireMessage {
  addr: number;
  read: boolean;
  len: number;
  begin: boolean;
  end: boolean;
  acked: boolean;
}

/** Bound on the message log (oldest dropped). */
const LOG_MAX = 4096;

/** i2c-tiny-usb with models; addresses in {@link stalling} never answer (the kernel times out). */
export class TinyUsbAdapter implements UsbModel {
  readonly vendor = 0x0403;
  readonly product = 0xc631;
  readonly bcdDevice = 0x0104;
  readonly strings = ["Till Harbaum", "i2c-tiny-usb (HARVESTER emulator)", "H16"] as const;
  readonly endpoints = [] as const;
  readonly #models = new Map<number, SimI2cModel>();
  /** Addresses whose messages are never answered. */
  readonly stalling = new Set<number>();
  /** Every I2C message, in order (bounded). */
  log: WireMessage[] = [];
  delayUs = -1;
  #status = 0;
  #pending: { addr: number; bytes: Uint8Array } | null = null;

  /** Put a model on the bus at its address. */
  add(model: SimI2cModel): void {
    this.#models.set(model.address, model);
  }

  control(setup: Setup, data: Uint8Array): UsbReply {
    const cmd = setup.request;
    if (cmd === CMD_ECHO) return Uint8Array.of(setup.value & 0xff, setup.value >> 8);
    if (cmd === CMD_GET_FUNC) {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, TINY_USB_FUNCS, true);
      return out;
    }
    if (cmd === CMD_SET_DELAY) {
      this.delayUs = setup.value;
      return new Uint8Array(0);
    }
    if (cmd === CMD_GET_STATUS) return Uint8Array.of(this.#status);
    if ((cmd & ~3) !== CMD_I2C_IO) return "stall";
    return this.#io(cmd, setup, data);
  }

  #io(cmd: number, setup: Setup, data: Uint8Array): UsbReply {
    const addr = setup.index & 0x7f;
    const read = (setup.value & I2C_M_RD) !== 0;
    const begin = (cmd & IO_BEGIN) !== 0;
    const end = (cmd & IO_END) !== 0;
    if (begin) this.#pending = null;
    if (this.stalling.has(addr)) return "hold";
    const model = this.#models.get(addr);
    const len = read ? setup.length : data.length;
    this.#record({ addr, read, len, begin, end, acked: model !== undefined });
    if (!model) {
      this.#status = STATUS_NAK;
      this.#pending = null;
      return new Uint8Array(read ? setup.length : 0); // the firmware clocks the bytes anyway
    }
    try {
      if (read) {
        const write = this.#pending?.addr === addr ? this.#pending.bytes : new Uint8Array(0);
        this.#pending = null;
        const out = model.transfer(write, setup.length);
        this.#status = STATUS_ACK;
        return out;
      }
      this.#flush();
      if (end) model.transfer(data, 0);
      else this.#pending = { addr, bytes: data.slice() };
      this.#status = STATUS_ACK;
      return new Uint8Array(0);
    } catch (err) {
      if (err instanceof HalError && err.code === "address_nak") {
        this.#status = STATUS_NAK;
        return new Uint8Array(read ? setup.length : 0);
      }
      return "stall";
    }
  }

  /** A write not followed by a read in its transaction reaches the model on its own. */
  #flush(): void {
    const p = this.#pending;
    this.#pending = null;
    if (p) this.#models.get(p.addr)?.transfer(p.bytes, 0);
  }

  #record(m: WireMessage): void {
    this.log.push(m);
    if (this.log.length > LOG_MAX) this.log.splice(0, this.log.length - LOG_MAX);
  }
}

/**
 * A 24C32 EEPROM: 4096 bytes behind a 16-bit address (high byte first), 32-byte write pages
 * (a write past the page end wraps to the page start, as the chip's page buffer does),
 * sequential reads across the whole array. An SMBus byte-data read cannot address it.
 */
export class Eeprom24c32 implements SimI2cModel {
  static readonly SIZE = 4096;
  static readonly PAGE = 32;
  readonly address: number;
  readonly memory = new Uint8Array(Eeprom24c32.SIZE);
  #pointer = 0;

  constructor(address = 0x50) {
    this.address = address;
  }

  transfer(write: Uint8Array, readLen: number): Uint8Array {
    if (write.length >= 2) {
      this.#pointer = ((write[0] << 8) | write[1]) % Eeprom24c32.SIZE;
      const page = this.#pointer - (this.#pointer % Eeprom24c32.PAGE);
      let offset = this.#pointer % Eeprom24c32.PAGE;
      for (const b of write.subarray(2)) {
        this.memory[page + offset] = b;
        offset = (offset + 1) % Eeprom24c32.PAGE;
      }
    }
    const out = new Uint8Array(readLen);
    for (let i = 0; i < readLen; i++) {
      out[i] = this.memory[this.#pointer];
      this.#pointer = (this.#pointer + 1) % Eeprom24c32.SIZE;
    }
    return out;
  }
}
