/**
 * `/dev/i2c-N` through libc ioctls: `I2C_FUNCS` at open, `I2C_RDWR` when the adapter speaks
 * plain I2C, else the one `I2C_SMBUS` operation with the same wire shape (after `I2C_SLAVE`).
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { I2cBus, I2cFunctionality } from "../i2c.ts";
import { closeFd, errno, libc, LOCK_EX, LOCK_NB, O_RDWR, openPath } from "./_libc.ts";
import { errnoError } from "./errno.ts";
import { I2C_FUNCS } from "./ioctl.ts";
import { decodeFunctionality } from "./i2c_plan.ts";
import { I2C_MAX_MESSAGE } from "./i2c_structs.ts";
import { checkTransfer, failureError, I2cCore, unwrap } from "./_i2c_core.ts";
import {
  DONE,
  GATE,
  GATE_BUSY,
  GATE_CLOSED,
  GATE_IDLE,
  I2cChannel,
  type I2cReply,
  type I2cWorkerInit,
  REQ,
} from "./_i2c_channel.ts";

/** How a bus runs its ioctls. */
export type I2cIoMode = "worker" | "nonblocking" | "sync";

/** Options for {@link LinuxI2cBus.open}. */
export interface LinuxI2cOptions {
  /** Use `I2C_SLAVE_FORCE`: talk to an address a kernel driver has claimed. Default false. */
  force?: boolean;
  /**
   * `"worker"` (default): a dedicated Worker per bus runs each ioctl synchronously and reads
   * errno on its own thread. `"nonblocking"`: the ioctl runs on Deno's FFI pool (a failed call
   * is repeated once on the main thread to learn errno). `"sync"`: on the calling thread (lowest
   * latency, blocks the event loop for the wire time).
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
  /**
   * Skip `I2C_FUNCS` and take this mask as the adapter's functionality. For tests that drive
   * the whole path against a node that is not an adapter (`/dev/null` answers ENOTTY).
   */
  assumeFuncs?: number;
  /**
   * `"worker"` mode: how long the worker polls for the next request before it sleeps (a
   * sleeping thread takes tens of µs to wake, ~0.2 ms in the QEMU guest). Default 200 µs when
   * the machine has more than one CPU, else 0 (polling would only steal the one core).
   */
  spinUs?: number;
}

/** How long {@link LinuxI2cBus.close} waits for an ioctl running on the worker (adapters time out in ~1 s). */
const CLOSE_WAIT_MS = 5000;

interface Job {
  addr: number;
  write: Uint8Array;
  readLen: number;
  resolve: (bytes: Uint8Array) => void;
  reject: (err: unknown) => void;
}

/**
 * One Linux I2C adapter. Transfers are serialised per bus and run off the event loop.
 *
 * The node is opened, locked and its functionality read on the calling thread, so `open()`
 * fails synchronously. In `"worker"` mode a Worker then runs the transfers on that fd with sync
 * FFI, one in flight (handed over in shared memory, see `_i2c_channel.ts`), the rest queued
 * here; its errno is read on its own thread. `"nonblocking"` repeats a failed ioctl once synchronously,
 * because errno lives on the pool thread that ran it (so a failed write reaches the device
 * twice, and a repeat that succeeds returns its data); `"worker"` has no such repeat.
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
  readonly io: I2cIoMode;
  readonly #core: I2cCore;
  #fd: number;
  #pending = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #worker: Worker | undefined;
  #channel: I2cChannel | undefined;
  #seq = 0;
  #jobs: Job[] = [];
  #broken: Error | undefined;

  private constructor(bus: number, path: string, fd: number, funcs: number, options: LinuxI2cOptions) {
    this.bus = bus;
    this.path = path;
    this.#fd = fd;
    this.io = options.io ?? "worker";
    const maxMessage = options.maxMessage ?? I2C_MAX_MESSAGE;
    this.#core = new I2cCore(bus, fd, funcs, options.force ?? false, maxMessage);
    if (this.io === "worker") this.#startWorker(options, maxMessage);
  }

  /**
   * Open `/dev/i2c-<bus>` and read its functionality (and, in `"worker"` mode, start its worker).
   *
   * @throws {RangeError} when `bus` is not a non-negative integer or `io` is unknown
   * @throws {HalError} `not_found` when the node is missing, `permission` when access is refused,
   *   `bus_busy` when `exclusive` and another process holds it, `not_supported` when not an adapter
   */
  static open(bus: number, options: LinuxI2cOptions = {}): LinuxI2cBus {
    if (!Number.isInteger(bus) || bus < 0) {
      throw new RangeError(`Cannot open I2C bus: bus number must be a non-negative integer, got ${bus}`);
    }
    if (options.io !== undefined && !["worker", "nonblocking", "sync"].includes(options.io)) {
      throw new RangeError(
        `Cannot open I2C bus ${bus}: io must be 'worker', 'nonblocking' or 'sync', got '${options.io}'`,
      );
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
          { errno: e, errnoName: "EWOULDBLOCK" },
        );
      }
      throw errnoError(`Cannot lock I2C bus ${bus} (${path})`, e, "open");
    }
    const funcs = BigUint64Array.of(BigInt(options.assumeFuncs ?? 0));
    if (options.assumeFuncs === undefined && libc().ioctl(fd, I2C_FUNCS, Deno.UnsafePointer.of(funcs)) < 0) {
      const e = errno();
      closeFd(fd);
      throw errnoError(`Cannot read functionality of I2C bus ${bus} (${path})`, e, "open");
    }
    try {
      return new LinuxI2cBus(bus, path, fd, Number(funcs[0]), options);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
  }

  /** What the adapter supports (`I2C_FUNCS`, read at open on the calling thread). */
  functionality(): I2cFunctionality {
    return decodeFunctionality(this.#core.funcs);
  }

  /**
   * Write `write` then read `readLen` bytes, serialised behind earlier transfers on this bus.
   *
   * @throws {RangeError} on a bad address or length
   * @throws {HalError} `address_nak`, `not_supported`, `bus_busy`, `timeout`, `io`
   * @throws {Error} when the bus is closed (also for transfers queued when it closes)
   */
  transfer(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    if (this.io === "worker") return this.#transferWorker(addr, write, readLen);
    const run = () =>
      this.io === "sync" ? this.transferSync(addr, write, readLen) : this.#transferNb(addr, write, readLen);
    this.#pending++;
    const result = this.#chain.then(run, run);
    this.#chain = result.catch(() => {}).finally(() => this.#pending--);
    return result;
  }

  /**
   * The same transfer on the calling thread, bypassing the queue (benchmarks, start-up probes).
   * Do not mix with pending {@link transfer} calls.
   *
   * @throws {Error} in `"worker"` mode: the worker owns the fd's selected address
   */
  transferSync(addr: number, write: Uint8Array, readLen: number): Uint8Array {
    if (this.io === "worker") {
      throw new Error(`Cannot transfer synchronously on I2C bus ${this.bus}: its transfers run on a worker`);
    }
    return unwrap(this.#core.run(addr, write, readLen));
  }

  async #transferNb(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    const call = this.#core.prepare(addr, write, readLen);
    if (!("request" in call)) throw failureError(call);
    let rc = await libc().ioctlNb(this.#core.fd, call.request, call.arg);
    let err = 0;
    if (rc < 0) {
      // errno stayed on the pool thread: repeat once here to learn it.
      const again = this.#core.prepare(addr, write, readLen);
      if (!("request" in again)) throw failureError(again);
      rc = libc().ioctl(this.#core.fd, again.request, again.arg);
      err = rc < 0 ? errno() : 0;
    }
    return unwrap(this.#core.finish(call, rc, err));
  }

  #transferWorker(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    try {
      if (this.#fd < 0) throw this.#closedError();
      if (this.#broken) throw this.#broken;
      checkTransfer(this.bus, this.#core.funcs, this.#core.max, addr, write, readLen);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.#jobs.push({ addr, write, readLen, resolve, reject });
      if (this.#jobs.length === 1) this.#post();
    });
  }

  #startWorker(options: LinuxI2cOptions, maxMessage: number): void {
    const channel = I2cChannel.create(maxMessage);
    const init: I2cWorkerInit = {
      bus: this.bus,
      fd: this.#fd,
      funcs: this.#core.funcs,
      force: options.force ?? false,
      maxMessage,
      spinUs: options.spinUs ?? (navigator.hardwareConcurrency > 1 ? 200 : 0),
      ctl: channel.ctl.buffer,
      data: channel.data.buffer,
    };
    const worker = new Worker(new URL("./i2c_worker.ts", import.meta.url), { type: "module" });
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(new Error(`Cannot transfer on I2C bus ${this.bus}: its worker failed: ${e.message}`));
    };
    worker.postMessage(init);
    this.#worker = worker;
    this.#channel = channel;
  }

  /** Hand the head of the queue to the worker and await its reply off the event loop. */
  #post(): void {
    const channel = this.#channel!;
    const { addr, write, readLen } = this.#jobs[0];
    const seq = this.#seq = channel.request(addr, write, readLen);
    const wait = Atomics.waitAsync(channel.ctl, DONE, (seq - 1) | 0);
    if (wait.async) wait.value.then(() => this.#settle(seq));
    else queueMicrotask(() => this.#settle(seq)); // already answered: still settle in order
  }

  #settle(seq: number): void {
    const channel = this.#channel!;
    if (seq !== this.#seq || this.#fd < 0 || this.#broken || !channel.done(seq)) return; // closed or failed
    const reply: I2cReply = channel.reply();
    const job = this.#jobs.shift()!;
    if (reply instanceof Uint8Array) job.resolve(reply);
    else if ("error" in reply) job.reject(new Error(reply.error));
    else job.reject(failureError(reply));
    if (this.#jobs.length > 0) this.#post(); // after settling: callers see replies in order
  }

  /** The worker is gone: every transfer, queued or later, fails with `err`. */
  #fail(err: Error): void {
    this.#broken = err;
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#wakeWaiter();
    for (const job of this.#jobs.splice(0)) job.reject(err);
  }

  /** Resolve a pending `Atomics.waitAsync` (its `#settle` then sees the bus closed or failed). */
  #wakeWaiter(): void {
    if (this.#channel) Atomics.notify(this.#channel.ctl, DONE);
  }

  #closedError(): Error {
    return new Error(`Cannot transfer on I2C bus ${this.bus}: bus is closed`);
  }

  /**
   * Release the device node. Later transfers fail; transfers already queued fail too. In
   * `"worker"` mode close waits (blocking, at most 5 s) for an ioctl the worker is running, so
   * the fd never closes under its feet, then terminates the worker; the transfer in flight
   * fails as closed (it may have reached the device).
   * In `"nonblocking"` mode the fd closes after the call on a pool thread returns.
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    this.#core.fd = -1;
    if (this.#channel) {
      this.#closeWorker(fd);
      return;
    }
    if (this.#pending === 0) closeFd(fd);
    else this.#chain = this.#chain.finally(() => closeFd(fd));
  }

  #closeWorker(fd: number): void {
    const ctl = this.#channel!.ctl;
    const deadline = performance.now() + CLOSE_WAIT_MS;
    // Shut the gate so no ioctl starts on the worker again; wait out one that is running.
    while (Atomics.compareExchange(ctl, GATE, GATE_IDLE, GATE_CLOSED) === GATE_BUSY) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(ctl, GATE, GATE_BUSY, left);
    }
    const safe = Atomics.load(ctl, GATE) === GATE_CLOSED;
    Atomics.add(ctl, REQ, 1); // wake a sleeping worker: it finds the gate shut and ends
    Atomics.notify(ctl, REQ);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#wakeWaiter();
    const jobs = this.#jobs.splice(0);
    const closed = this.#closedError();
    if (jobs.length > 0) {
      jobs[0].reject(
        new Error(`${closed.message} (while this transfer was in flight: it may have reached the device)`),
      );
      for (const job of jobs.slice(1)) job.reject(closed);
    }
    // A hung ioctl still holds the fd: leaking it beats letting a reused fd number be ioctl'd.
    if (safe) closeFd(fd);
  }
}
