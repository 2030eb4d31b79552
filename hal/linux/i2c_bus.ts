/**
 * `/dev/i2c-N` through libc ioctls: `I2C_FUNCS` at open, `I2C_RDWR` when the adapter speaks
 * plain I2C, else the one `I2C_SMBUS` operation with the same wire shape (after `I2C_SLAVE`).
 *
 * @module
 */
import { HalError, hex } from "../errors.ts";
import type { I2cBus, I2cFunctionality } from "../i2c.ts";
import { closeFd, errno, libc, LOCK_EX, LOCK_NB, O_RDWR, openPath } from "./_libc.ts";
import { errnoError, errnoName } from "./errno.ts";
import { I2C_FUNCS, I2C_RDWR, I2C_SLAVE, I2C_SLAVE_FORCE, I2C_SMBUS } from "./ioctl.ts";
import { decodeFunctionality, type I2cPlan, planTransfer, smbusResult } from "./i2c_plan.ts";
import { I2C_MAX_MESSAGE, I2cStructs } from "./i2c_structs.ts";

/** How a bus runs its ioctls. */
export type I2cIoMode = "nonblocking" | "sync";

/** Options for {@link LinuxI2cBus.open}. */
export interface LinuxI2cOptions {
  /** Use `I2C_SLAVE_FORCE`: talk to an address a kernel driver has claimed. Default false. */
  force?: boolean;
  /**
   * `"nonblocking"` (default): the transfer ioctl runs on a pool thread so the event loop keeps
   * running. `"sync"`: on the calling thread (lowest latency, blocks the loop for the wire time).
   */
  io?: I2cIoMode;
  /** Device node, default `/dev/i2c-<bus>`. */
  path?: string;
  /** Largest plain-I2C message, default 8192 bytes. */
  maxMessage?: number;
  /**
   * Take an exclusive `flock` on the node so a second owner (another broker) fails at open
   * with `bus_busy` instead of interleaving transfers. Default false. The lock goes with the fd.
   */
  exclusive?: boolean;
}

/**
 * One Linux I2C adapter. Transfers are serialised per bus and run off the event loop.
 *
 * A failed nonblocking ioctl is repeated once synchronously, because errno lives on the pool
 * thread that ran it and Deno cannot read it there; the repeat's errno names the cause (and a
 * repeat that succeeds returns its data).
 *
 * @example
 * ```ts ignore
 * const bus = LinuxI2cBus.open(1);
 * const [chipId] = await bus.transfer(0x77, Uint8Array.of(0xd0), 1);
 * bus.close();
 * ```
 */
export class LinuxI2cBus implements I2cBus {
  readonly bus: number;
  readonly path: string;
  readonly #force: boolean;
  readonly #io: I2cIoMode;
  readonly #funcs: number;
  readonly #structs: I2cStructs;
  #fd: number;
  #slave = -1;
  #pending = 0;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(bus: number, path: string, fd: number, funcs: number, options: LinuxI2cOptions) {
    this.bus = bus;
    this.path = path;
    this.#fd = fd;
    this.#funcs = funcs;
    this.#force = options.force ?? false;
    this.#io = options.io ?? "nonblocking";
    this.#structs = new I2cStructs(options.maxMessage ?? I2C_MAX_MESSAGE);
  }

  /**
   * Open `/dev/i2c-<bus>` and read its functionality.
   *
   * @throws {RangeError} when `bus` is not a non-negative integer
   * @throws {HalError} `not_found` when the node is missing, `permission` when access is refused
   */
  static open(bus: number, options: LinuxI2cOptions = {}): LinuxI2cBus {
    if (!Number.isInteger(bus) || bus < 0) {
      throw new RangeError(`Cannot open I2C bus: bus number must be a non-negative integer, got ${bus}`);
    }
    const path = options.path ?? `/dev/i2c-${bus}`;
    const fd = openPath(path, O_RDWR);
    if (fd < 0) throw errnoError(`Cannot open I2C bus ${bus} (${path})`, -fd, "open");
    if (options.exclusive && libc().flock(fd, LOCK_EX | LOCK_NB) < 0) {
      const e = errno();
      closeFd(fd);
      if (e === 11) { // EWOULDBLOCK
        throw new HalError(
          "bus_busy",
          `Cannot open I2C bus ${bus} (${path}): another process holds it exclusively`,
          {
            errno: e,
            errnoName: "EWOULDBLOCK",
          },
        );
      }
      throw errnoError(`Cannot lock I2C bus ${bus} (${path})`, e, "open");
    }
    const funcs = new BigUint64Array(1);
    if (libc().ioctl(fd, I2C_FUNCS, Deno.UnsafePointer.of(funcs)) < 0) {
      const e = errno();
      closeFd(fd);
      throw errnoError(`Cannot read functionality of I2C bus ${bus} (${path})`, e, "open");
    }
    return new LinuxI2cBus(bus, path, fd, Number(funcs[0]), options);
  }

  /** What the adapter supports (`I2C_FUNCS`, read at open). */
  functionality(): I2cFunctionality {
    return decodeFunctionality(this.#funcs);
  }

  /**
   * Write `write` then read `readLen` bytes, serialised behind earlier transfers on this bus.
   *
   * @throws {RangeError} on a bad address or length
   * @throws {HalError} `address_nak`, `not_supported`, `bus_busy`, `timeout`, `io`
   */
  transfer(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    const run = () =>
      this.#io === "sync" ? this.transferSync(addr, write, readLen) : this.#transferNb(addr, write, readLen);
    this.#pending++;
    const result = this.#chain.then(run, run);
    this.#chain = result.catch(() => {}).finally(() => this.#pending--);
    return result;
  }

  /**
   * The same transfer on the calling thread, bypassing the queue (benchmarks, start-up probes).
   * Do not mix with pending {@link transfer} calls.
   */
  transferSync(addr: number, write: Uint8Array, readLen: number): Uint8Array {
    const call = this.#prepare(addr, write, readLen);
    const rc = libc().ioctl(this.#fd, call.request, call.arg);
    return this.#finish(call, rc, rc < 0 ? errno() : 0);
  }

  async #transferNb(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    const call = this.#prepare(addr, write, readLen);
    let rc = await libc().ioctlNb(this.#fd, call.request, call.arg);
    let err = 0;
    if (rc < 0) {
      // errno stayed on the pool thread: repeat once here to learn it.
      const again = this.#prepare(addr, write, readLen);
      rc = libc().ioctl(this.#fd, again.request, again.arg);
      err = rc < 0 ? errno() : 0;
    }
    return this.#finish(call, rc, err);
  }

  /**
   * Release the device node. Later transfers fail; transfers already queued fail too, and the
   * fd closes after the one in flight on a pool thread returns (never under its feet).
   */
  close(): void {
    const fd = this.#fd;
    this.#fd = -1;
    if (this.#pending === 0) closeFd(fd);
    else this.#chain = this.#chain.finally(() => closeFd(fd));
  }

  #prepare(addr: number, write: Uint8Array, readLen: number): PreparedCall {
    const action = new Action(this.bus, addr, readLen);
    if (this.#fd < 0) throw new Error(`Cannot transfer on I2C bus ${this.bus}: bus is closed`);
    if (!Number.isInteger(addr) || addr < 0 || addr > 0x7f) {
      throw new RangeError(`${action}: address must be an integer in 0x00..0x7f, got ${addr}`);
    }
    const max = this.#structs.readBuf.length;
    if (!Number.isInteger(readLen) || readLen < 0 || readLen > max) {
      throw new RangeError(`${action}: read length must be an integer in 0..${max}, got ${readLen}`);
    }
    if (write.length > max) throw new RangeError(`${action}: write of ${write.length} bytes exceeds ${max}`);
    const plan = planTransfer(this.#funcs, write, readLen, { bus: this.bus, addr });
    if (plan.kind === "rdwr") {
      const n = this.#structs.setRdwr(addr, write, readLen);
      return { plan, action, readLen, nmsgs: n, request: I2C_RDWR, arg: this.#structs.rdwrPtr };
    }
    this.#select(addr, action);
    this.#structs.setSmbus(plan);
    return { plan, action, readLen, nmsgs: 1, request: I2C_SMBUS, arg: this.#structs.smbusPtr };
  }

  /** `I2C_SLAVE` only when the address changes (it costs a syscall, no bus traffic). */
  #select(addr: number, action: Action): void {
    if (this.#slave === addr) return;
    if (libc().ioctlInt(this.#fd, this.#force ? I2C_SLAVE_FORCE : I2C_SLAVE, BigInt(addr)) < 0) {
      const e = errno();
      this.#slave = -1;
      if (e === 16) {
        throw new HalError(
          "bus_busy",
          `${action}: a kernel driver has claimed ${hex(addr)} (set i2cForce to override)`,
          {
            errno: e,
            errnoName: errnoName(e),
          },
        );
      }
      throw errnoError(`${action}`, e, "transfer");
    }
    this.#slave = addr;
  }

  #finish(call: PreparedCall, rc: number, err: number): Uint8Array {
    if (rc < 0) throw errnoError(`${call.action}`, err, "transfer");
    if (call.plan.kind === "rdwr") {
      if (rc !== call.nmsgs) {
        throw new HalError("io", `${call.action}: ${rc} of ${call.nmsgs} messages transferred`);
      }
      return this.#structs.readBuf.slice(0, call.readLen);
    }
    const out = smbusResult(call.plan, this.#structs.smbusData);
    if (out === null) {
      throw new HalError(
        "io",
        `${call.action}: short block of ${this.#structs.smbusData[0]} of ${call.readLen} bytes`,
      );
    }
    return out;
  }
}

/** The failure message prefix, built only when something fails (hot path stays string-free). */
class Action {
  constructor(readonly bus: number, readonly addr: number, readonly readLen: number) {}
  toString(): string {
    const verb = this.readLen > 0 ? "read" : "write";
    return `Cannot ${verb} I2C device ${hex(this.addr)} on bus ${this.bus}`;
  }
}

interface PreparedCall {
  plan: I2cPlan;
  action: Action;
  readLen: number;
  nmsgs: number;
  request: bigint;
  arg: Deno.PointerValue;
}
