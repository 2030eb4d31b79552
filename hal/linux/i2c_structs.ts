/**
 * The I2C ioctl structs laid out exactly as `linux/i2c.h` and `linux/i2c-dev.h` (LP64):
 *
 * ```c
 * struct i2c_msg { __u16 addr; __u16 flags; __u16 len; __u8 *buf; };          // 16 bytes, buf at 8
 * struct i2c_rdwr_ioctl_data { struct i2c_msg *msgs; __u32 nmsgs; };          // 16 bytes
 * union i2c_smbus_data { __u8 byte; __u16 word; __u8 block[I2C_SMBUS_BLOCK_MAX + 2]; }; // 34 bytes
 * struct i2c_smbus_ioctl_data { __u8 read_write; __u8 command; __u32 size; union i2c_smbus_data *data; };
 * ```
 *
 * {@link I2cStructs} allocates every buffer once and writes the pointers between them once,
 * so a transfer only fills in a few fields.
 *
 * @module
 */
import { address, ptr } from "./_libc.ts";
import type { SmbusPlan } from "./i2c_plan.ts";

export const I2C_MSG_SIZE = 16;
export const I2C_RDWR_DATA_SIZE = 16;
export const I2C_SMBUS_DATA_SIZE = 34;
export const I2C_SMBUS_IOCTL_DATA_SIZE = 16;
/** `I2C_M_RD`: this message reads. */
export const I2C_M_RD = 0x0001;
/** Largest block the SMBus ioctl carries. */
export const I2C_SMBUS_BLOCK_MAX = 32;
/** Default cap on one plain-I2C message (the kernel allows up to 8192). */
export const I2C_MAX_MESSAGE = 8192;

/** Reusable, pre-linked buffers for one bus. */
export class I2cStructs {
  readonly msgs = new ArrayBuffer(2 * I2C_MSG_SIZE);
  readonly rdwr = new ArrayBuffer(I2C_RDWR_DATA_SIZE);
  readonly smbusArgs = new ArrayBuffer(I2C_SMBUS_IOCTL_DATA_SIZE);
  /** The union, padded to 40 bytes. */
  readonly smbusData = new Uint8Array(40);
  readonly writeBuf: Uint8Array<ArrayBuffer>;
  readonly readBuf: Uint8Array<ArrayBuffer>;
  readonly funcs = new BigUint64Array(1);
  readonly #msgs = new DataView(this.msgs);
  readonly #rdwr = new DataView(this.rdwr);
  readonly #smbus = new DataView(this.smbusArgs);
  readonly rdwrPtr: Deno.PointerValue;
  readonly smbusPtr: Deno.PointerValue;
  readonly funcsPtr: Deno.PointerValue;

  /** @param maxMessage largest plain-I2C message in bytes */
  constructor(maxMessage = I2C_MAX_MESSAGE) {
    this.writeBuf = new Uint8Array(maxMessage);
    this.readBuf = new Uint8Array(maxMessage);
    this.#rdwr.setBigUint64(0, address(this.msgs), true);
    this.#smbus.setBigUint64(8, address(this.smbusData), true);
    this.rdwrPtr = ptr(this.rdwr);
    this.smbusPtr = ptr(this.smbusArgs);
    this.funcsPtr = ptr(this.funcs);
  }

  /**
   * Fill `i2c_rdwr_ioctl_data` for write-then-read to `addr`.
   *
   * @returns the number of messages (0, 1 or 2)
   */
  setRdwr(addr: number, write: Uint8Array, readLen: number): number {
    let n = 0;
    if (write.length > 0 || readLen === 0) {
      this.writeBuf.set(write);
      this.#msg(n++, addr, 0, write.length, this.writeBuf);
    }
    if (readLen > 0) this.#msg(n++, addr, I2C_M_RD, readLen, this.readBuf);
    this.#rdwr.setUint32(8, n, true);
    return n;
  }

  #msg(i: number, addr: number, flags: number, len: number, buf: Uint8Array<ArrayBuffer>): void {
    const o = i * I2C_MSG_SIZE;
    this.#msgs.setUint16(o, addr, true);
    this.#msgs.setUint16(o + 2, flags, true);
    this.#msgs.setUint16(o + 4, len, true);
    this.#msgs.setUint32(o + 6, 0, true); // padding before the pointer
    this.#msgs.setBigUint64(o + 8, address(buf), true);
  }

  /** Fill `i2c_smbus_ioctl_data` and the union for one SMBus operation. */
  setSmbus(plan: SmbusPlan): void {
    this.#smbus.setUint8(0, plan.readWrite);
    this.#smbus.setUint8(1, plan.command);
    this.#smbus.setUint16(2, 0, true);
    this.#smbus.setUint32(4, plan.size, true);
    this.smbusData.fill(0);
    this.smbusData.set(plan.data);
  }
}
