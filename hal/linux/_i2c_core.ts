/**
 * The synchronous heart of an I2C transfer, shared by every I/O mode of `LinuxI2cBus`: check
 * and plan on the calling thread, fill the reused structs, run the ioctl, read errno on the
 * same thread right after a failure, and describe a failure as plain data ({@link I2cFailure})
 * so it can cross a worker boundary and become the same {@link HalError} on the other side.
 *
 * @module
 */
import { HalError, type HalErrorCode, hex } from "../errors.ts";
import { errno, libc } from "./_libc.ts";
import { codeForErrno, errnoName } from "./errno.ts";
import { I2C_RDWR, I2C_SLAVE, I2C_SLAVE_FORCE, I2C_SMBUS } from "./ioctl.ts";
import { type I2cPlan, planTransfer, smbusResult } from "./i2c_plan.ts";
import { I2cStructs } from "./i2c_structs.ts";

/** A failed transfer as structured-cloneable data: `code`, the message prefix, the errno. */
export interface I2cFailure {
  code: HalErrorCode;
  /** `Cannot read I2C device 0x50 on bus 0` (plus a detail for non-errno failures). */
  action: string;
  errno?: number;
}

/** The {@link HalError} for a failure, identical whichever thread ran the ioctl. */
export function failureError(f: I2cFailure): HalError {
  return f.errno === undefined
    ? new HalError(f.code, f.action)
    : new HalError(f.code, f.action, { errno: f.errno, errnoName: errnoName(f.errno) });
}

/** The failure message prefix, built only when something fails (hot path stays string-free). */
export class Action {
  constructor(readonly bus: number, readonly addr: number, readonly readLen: number) {}
  toString(): string {
    const verb = this.readLen > 0 ? "read" : "write";
    return `Cannot ${verb} I2C device ${hex(this.addr)} on bus ${this.bus}`;
  }
}

/**
 * Check a transfer's arguments and plan it, without touching the bus.
 *
 * @returns how the adapter carries it
 * @throws {RangeError} on a bad address or length
 * @throws {HalError} `not_supported` when an SMBus-only adapter cannot carry the shape
 */
export function checkTransfer(
  bus: number,
  funcs: number,
  max: number,
  addr: number,
  write: Uint8Array,
  readLen: number,
): I2cPlan {
  if (!Number.isInteger(addr) || addr < 0 || addr > 0x7f) {
    throw new RangeError(
      `${new Action(bus, addr, readLen)}: address must be an integer in 0x00..0x7f, got ${addr}`,
    );
  }
  if (!Number.isInteger(readLen) || readLen < 0 || readLen > max) {
    throw new RangeError(
      `${new Action(bus, addr, readLen)}: read length must be an integer in 0..${max}, got ${readLen}`,
    );
  }
  if (write.length > max) {
    throw new RangeError(`${new Action(bus, addr, readLen)}: write of ${write.length} bytes exceeds ${max}`);
  }
  return planTransfer(funcs, write, readLen, { bus, addr });
}

/** One prepared ioctl: what to call and how to read its result. */
export interface PreparedCall {
  plan: I2cPlan;
  addr: number;
  readLen: number;
  nmsgs: number;
  request: bigint;
  arg: Deno.PointerValue;
}

/** An open bus fd with its reused structs and the `I2C_SLAVE` address last selected on it. */
export class I2cCore {
  readonly bus: number;
  readonly funcs: number;
  readonly force: boolean;
  readonly structs: I2cStructs;
  fd: number;
  #slave = -1;

  constructor(bus: number, fd: number, funcs: number, force: boolean, maxMessage: number) {
    this.bus = bus;
    this.fd = fd;
    this.funcs = funcs;
    this.force = force;
    this.structs = new I2cStructs(maxMessage);
  }

  /** Largest read or write this bus accepts. */
  get max(): number {
    return this.structs.readBuf.length;
  }

  /**
   * Run one transfer on the calling thread; errno is read right after a failing ioctl.
   *
   * @returns the bytes read, or the failure as data
   * @throws {RangeError}/{HalError} from {@link checkTransfer}, `Error` when closed
   */
  run(addr: number, write: Uint8Array, readLen: number): Uint8Array | I2cFailure {
    const call = this.prepare(addr, write, readLen);
    if (!("request" in call)) return call;
    const rc = libc().ioctl(this.fd, call.request, call.arg);
    return this.finish(call, rc, rc < 0 ? errno() : 0);
  }

  /**
   * Check, plan, select the address (SMBus) and fill the structs.
   *
   * @returns the call, or the failure of `I2C_SLAVE`
   */
  prepare(addr: number, write: Uint8Array, readLen: number): PreparedCall | I2cFailure {
    if (this.fd < 0) throw new Error(`Cannot transfer on I2C bus ${this.bus}: bus is closed`);
    const plan = checkTransfer(this.bus, this.funcs, this.max, addr, write, readLen);
    if (plan.kind === "rdwr") {
      const n = this.structs.setRdwr(addr, write, readLen);
      return { plan, addr, readLen, nmsgs: n, request: I2C_RDWR, arg: this.structs.rdwrPtr };
    }
    const failed = this.#select(addr, readLen);
    if (failed) return failed;
    this.structs.setSmbus(plan);
    return { plan, addr, readLen, nmsgs: 1, request: I2C_SMBUS, arg: this.structs.smbusPtr };
  }

  /** `I2C_SLAVE` only when the address changes (it costs a syscall, no bus traffic). */
  #select(addr: number, readLen: number): I2cFailure | undefined {
    if (this.#slave === addr) return undefined;
    if (libc().ioctlInt(this.fd, this.force ? I2C_SLAVE_FORCE : I2C_SLAVE, BigInt(addr)) < 0) {
      const e = errno();
      this.#slave = -1;
      const action = `${new Action(this.bus, addr, readLen)}`;
      if (e === 16) {
        return {
          code: "bus_busy",
          action: `${action}: a kernel driver has claimed ${hex(addr)} (set i2cForce to override)`,
          errno: e,
        };
      }
      return { code: codeForErrno(e, "transfer"), action, errno: e };
    }
    this.#slave = addr;
    return undefined;
  }

  /**
   * Turn the ioctl's return code (and the errno read on its thread) into bytes or a failure.
   *
   * @param err errno of the failed call, 0 when it succeeded
   */
  finish(call: PreparedCall, rc: number, err: number): Uint8Array | I2cFailure {
    if (rc < 0) {
      return {
        code: codeForErrno(err, "transfer"),
        action: `${new Action(this.bus, call.addr, call.readLen)}`,
        errno: err,
      };
    }
    if (call.plan.kind === "rdwr") {
      if (rc !== call.nmsgs) {
        return {
          code: "io",
          action: `${new Action(
            this.bus,
            call.addr,
            call.readLen,
          )}: ${rc} of ${call.nmsgs} messages transferred`,
        };
      }
      return this.structs.readBuf.slice(0, call.readLen);
    }
    const out = smbusResult(call.plan, this.structs.smbusData);
    if (out === null) {
      return {
        code: "io",
        action: `${new Action(this.bus, call.addr, call.readLen)}: short block of ${
          this.structs.smbusData[0]
        } of ${call.readLen} bytes`,
      };
    }
    return out;
  }
}

/** Bytes, or throw the failure's {@link HalError}. */
export function unwrap(r: Uint8Array | I2cFailure): Uint8Array {
  if (r instanceof Uint8Array) return r;
  throw failureError(r);
}
