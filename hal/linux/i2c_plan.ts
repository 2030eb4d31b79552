/**
 * How a generic write-then-read transfer is expressed on an adapter: one `I2C_RDWR` call when
 * the adapter speaks plain I2C, else the one SMBus operation with the same wire shape.
 *
 * @module
 */
import { HalError, hex } from "../errors.ts";
import type { I2cFunctionality } from "../i2c.ts";
import { I2C_SMBUS_BLOCK_MAX } from "./i2c_structs.ts";

/** `I2C_FUNC_*` bits from `linux/i2c.h`. */
export const I2C_FUNC = {
  I2C: 0x00000001,
  SMBUS_QUICK: 0x00010000,
  SMBUS_READ_BYTE: 0x00020000,
  SMBUS_WRITE_BYTE: 0x00040000,
  SMBUS_READ_BYTE_DATA: 0x00080000,
  SMBUS_WRITE_BYTE_DATA: 0x00100000,
  SMBUS_READ_WORD_DATA: 0x00200000,
  SMBUS_WRITE_WORD_DATA: 0x00400000,
  SMBUS_READ_I2C_BLOCK: 0x04000000,
  SMBUS_WRITE_I2C_BLOCK: 0x08000000,
} as const;

/** `I2C_SMBUS_READ` / `I2C_SMBUS_WRITE` */
export const I2C_SMBUS_READ = 1;
export const I2C_SMBUS_WRITE = 0;
/** Transaction sizes (`I2C_SMBUS_*` in `linux/i2c.h`). */
export const I2C_SMBUS_QUICK = 0;
export const I2C_SMBUS_BYTE = 1;
export const I2C_SMBUS_BYTE_DATA = 2;
export const I2C_SMBUS_WORD_DATA = 3;
export const I2C_SMBUS_I2C_BLOCK_DATA = 8;

/** The SMBus operations a transfer can map to. */
export type SmbusOp =
  | "quick"
  | "receive_byte"
  | "send_byte"
  | "read_byte_data"
  | "write_byte_data"
  | "read_word_data"
  | "write_word_data"
  | "read_i2c_block"
  | "write_i2c_block";

/** One SMBus ioctl: the fields of `i2c_smbus_ioctl_data` and the union's initial bytes. */
export interface SmbusPlan {
  kind: "smbus";
  op: SmbusOp;
  readWrite: number;
  command: number;
  size: number;
  /** Initial union bytes (block length and payload, or byte/word). */
  data: Uint8Array;
  /** Bytes the caller gets back. */
  readLen: number;
}

/** A transfer as one `I2C_RDWR` call. */
export interface RdwrPlan {
  kind: "rdwr";
}

/** Either way of carrying a transfer. */
export type I2cPlan = SmbusPlan | RdwrPlan;

/** Decode an `I2C_FUNCS` mask. */
export function decodeFunctionality(raw: number): I2cFunctionality {
  const has = (bit: number) => (raw & bit) === bit;
  return {
    i2c: has(I2C_FUNC.I2C),
    smbusQuick: has(I2C_FUNC.SMBUS_QUICK),
    smbusByte: has(I2C_FUNC.SMBUS_READ_BYTE) && has(I2C_FUNC.SMBUS_WRITE_BYTE),
    smbusByteData: has(I2C_FUNC.SMBUS_READ_BYTE_DATA) && has(I2C_FUNC.SMBUS_WRITE_BYTE_DATA),
    smbusWordData: has(I2C_FUNC.SMBUS_READ_WORD_DATA) && has(I2C_FUNC.SMBUS_WRITE_WORD_DATA),
    smbusI2cBlock: has(I2C_FUNC.SMBUS_READ_I2C_BLOCK) && has(I2C_FUNC.SMBUS_WRITE_I2C_BLOCK),
    raw,
  };
}

const NEEDS: Record<SmbusOp, number> = {
  quick: I2C_FUNC.SMBUS_QUICK,
  receive_byte: I2C_FUNC.SMBUS_READ_BYTE,
  send_byte: I2C_FUNC.SMBUS_WRITE_BYTE,
  read_byte_data: I2C_FUNC.SMBUS_READ_BYTE_DATA,
  write_byte_data: I2C_FUNC.SMBUS_WRITE_BYTE_DATA,
  read_word_data: I2C_FUNC.SMBUS_READ_WORD_DATA,
  write_word_data: I2C_FUNC.SMBUS_WRITE_WORD_DATA,
  read_i2c_block: I2C_FUNC.SMBUS_READ_I2C_BLOCK,
  write_i2c_block: I2C_FUNC.SMBUS_WRITE_I2C_BLOCK,
};

/** Where the transfer is going, for messages. */
export interface TransferTarget {
  bus: number;
  addr: number;
}

/**
 * Choose how to carry `write` then `readLen` bytes.
 *
 * @param funcs the adapter's `I2C_FUNCS` mask
 * @throws {HalError} `not_supported` naming the shape when an SMBus-only adapter cannot carry it
 */
export function planTransfer(
  funcs: number,
  write: Uint8Array,
  readLen: number,
  target: TransferTarget,
): I2cPlan {
  const smbusOnly = (funcs & I2C_FUNC.I2C) === 0;
  if (!smbusOnly && (write.length > 0 || readLen > 0 || (funcs & I2C_FUNC.SMBUS_QUICK) === 0)) {
    return { kind: "rdwr" };
  }
  const plan = smbusPlan(funcs, write, readLen);
  if (plan !== null && (funcs & NEEDS[plan.op]) === NEEDS[plan.op]) return plan;
  const shape = `write ${write.length} byte(s) then read ${readLen}`;
  const where = `Cannot ${readLen > 0 ? "read" : "write"} I2C device ${
    hex(target.addr)
  } on bus ${target.bus}`;
  if (plan === null) {
    throw new HalError(
      "not_supported",
      `${where}: shape '${shape}' has no SMBus equivalent and the adapter lacks I2C_FUNC_I2C`,
    );
  }
  throw new HalError(
    "not_supported",
    `${where}: shape '${shape}' needs SMBus ${plan.op}, which the adapter lacks`,
  );
}

const EMPTY: Uint8Array = new Uint8Array(0);
/** `block[0]` = length for I2C block reads, preallocated so a read plans without allocating. */
const BLOCK_LEN: readonly Uint8Array[] = Array.from(
  { length: I2C_SMBUS_BLOCK_MAX + 1 },
  (_, n) => Uint8Array.of(n),
);

function can(funcs: number, op: SmbusOp): boolean {
  return (funcs & NEEDS[op]) === NEEDS[op];
}

function make(
  op: SmbusOp,
  readWrite: number,
  command: number,
  size: number,
  data: Uint8Array,
  readLen: number,
): SmbusPlan {
  return { kind: "smbus", op, readWrite, command, size, data, readLen };
}

function smbusPlan(funcs: number, write: Uint8Array, readLen: number): SmbusPlan | null {
  const R = I2C_SMBUS_READ, W = I2C_SMBUS_WRITE;
  const w = write.length;
  if (w === 0 && readLen === 0) return make("quick", W, 0, I2C_SMBUS_QUICK, EMPTY, 0);
  if (w === 0 && readLen === 1) return make("receive_byte", R, 0, I2C_SMBUS_BYTE, EMPTY, 1);
  if (w === 1 && readLen === 0) return make("send_byte", W, write[0], I2C_SMBUS_BYTE, EMPTY, 0);
  if (w === 1 && readLen > 0 && readLen <= I2C_SMBUS_BLOCK_MAX) {
    if (readLen === 1 && can(funcs, "read_byte_data")) {
      return make("read_byte_data", R, write[0], I2C_SMBUS_BYTE_DATA, EMPTY, 1);
    }
    if (readLen === 2 && can(funcs, "read_word_data")) {
      return make("read_word_data", R, write[0], I2C_SMBUS_WORD_DATA, EMPTY, 2);
    }
    return make("read_i2c_block", R, write[0], I2C_SMBUS_I2C_BLOCK_DATA, BLOCK_LEN[readLen], readLen);
  }
  if (readLen === 0 && w >= 2 && w <= I2C_SMBUS_BLOCK_MAX + 1) {
    const payload = write.subarray(1);
    if (w === 2 && can(funcs, "write_byte_data")) {
      return make("write_byte_data", W, write[0], I2C_SMBUS_BYTE_DATA, payload, 0);
    }
    if (w === 3 && can(funcs, "write_word_data")) {
      return make("write_word_data", W, write[0], I2C_SMBUS_WORD_DATA, payload, 0);
    }
    const block = new Uint8Array(w);
    block[0] = w - 1;
    block.set(payload, 1);
    return make("write_i2c_block", W, write[0], I2C_SMBUS_I2C_BLOCK_DATA, block, 0);
  }
  return null;
}

/**
 * The bytes the caller gets from the union after a successful SMBus read.
 *
 * @returns `null` when the adapter returned a short block
 */
export function smbusResult(plan: SmbusPlan, union: Uint8Array): Uint8Array | null {
  if (plan.readLen === 0) return new Uint8Array(0);
  if (plan.size === I2C_SMBUS_I2C_BLOCK_DATA) {
    if (union[0] < plan.readLen) return null;
    return union.slice(1, 1 + plan.readLen);
  }
  return union.slice(0, plan.readLen); // byte, or word little-endian (SMBus sends the low byte first)
}
