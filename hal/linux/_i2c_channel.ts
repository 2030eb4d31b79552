/**
 * The shared memory between a `LinuxI2cBus` and its worker: one request and one reply at a
 * time in two `SharedArrayBuffer`s, signalled with `Atomics` (the worker blocks in
 * `Atomics.wait`, the main thread awaits `Atomics.waitAsync`). A `postMessage` round trip costs
 * ~65 µs on the dev host and ~0.9 ms in the QEMU guest; this hand-off avoids the message
 * queues and the structured clone.
 *
 * Control words (`Int32Array`):
 * - `REQ`: sequence number of the latest request; the main thread bumps it and notifies.
 * - `DONE`: sequence number of the latest reply; the worker sets it and notifies.
 * - `GATE`: {@link GATE_IDLE}, {@link GATE_BUSY} while the worker may run an ioctl, or
 *   {@link GATE_CLOSED}: the bus closed and no ioctl may start (its fd may be reused).
 * - request fields `ADDR`, `WRITE_LEN`, `READ_LEN`; reply fields `KIND`, `LEN`, `CODE`, `ERRNO`.
 *
 * The data buffer carries the write bytes in, and out either the bytes read, the failure's
 * message prefix (UTF-8) or an unexpected error's text.
 *
 * @module
 */
import { HAL_ERROR_CODES } from "../errors.ts";
import type { I2cFailure } from "./_i2c_core.ts";

export const REQ = 0;
export const DONE = 1;
export const GATE = 2;
const ADDR = 3;
const WRITE_LEN = 4;
const READ_LEN = 5;
const KIND = 6;
const LEN = 7;
const CODE = 8;
const ERRNO = 9;
const WORDS = 10;

export const GATE_IDLE = 0;
export const GATE_BUSY = 1;
export const GATE_CLOSED = 2;

const KIND_BYTES = 0;
const KIND_FAILURE = 1;
const KIND_ERROR = 2;

/** Room for a failure message even when the bus caps messages below it. */
const MIN_DATA = 1024;

/** A reply as the main thread reads it. */
export type I2cReply = Uint8Array<ArrayBuffer> | I2cFailure | { error: string };

/** What the worker is started with (posted once). */
export interface I2cWorkerInit {
  bus: number;
  fd: number;
  funcs: number;
  force: boolean;
  maxMessage: number;
  /** How long the worker polls for the next request before it sleeps in `Atomics.wait`. */
  spinUs: number;
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One side's view of the shared buffers. */
export class I2cChannel {
  readonly ctl: Int32Array<SharedArrayBuffer>;
  readonly data: Uint8Array<SharedArrayBuffer>;

  constructor(ctl: SharedArrayBuffer, data: SharedArrayBuffer) {
    this.ctl = new Int32Array(ctl);
    this.data = new Uint8Array(data);
  }

  /** Fresh buffers for a bus whose messages are at most `maxMessage` bytes. */
  static create(maxMessage: number): I2cChannel {
    return new I2cChannel(
      new SharedArrayBuffer(WORDS * 4),
      new SharedArrayBuffer(Math.max(maxMessage, MIN_DATA)),
    );
  }

  /**
   * Main thread: publish a request and wake the worker.
   *
   * @returns its sequence number
   */
  request(addr: number, write: Uint8Array, readLen: number): number {
    const c = this.ctl;
    c[ADDR] = addr;
    c[WRITE_LEN] = write.length;
    c[READ_LEN] = readLen;
    this.data.set(write);
    const seq = (c[REQ] + 1) | 0;
    Atomics.store(c, REQ, seq);
    Atomics.notify(c, REQ);
    return seq;
  }

  /** Main thread: whether the reply to `seq` is in. */
  done(seq: number): boolean {
    return Atomics.load(this.ctl, DONE) === seq;
  }

  /** Main thread: read the reply (call once {@link done}). */
  reply(): I2cReply {
    const c = this.ctl;
    const len = c[LEN];
    if (c[KIND] === KIND_BYTES) return this.data.slice(0, len) as Uint8Array<ArrayBuffer>;
    const text = decoder.decode(this.data.slice(0, len));
    if (c[KIND] === KIND_ERROR) return { error: text };
    const failure: I2cFailure = { code: HAL_ERROR_CODES[c[CODE]], action: text };
    if (c[ERRNO] >= 0) failure.errno = c[ERRNO];
    return failure;
  }

  /** Worker: the request's fields (the write bytes as a view into the shared buffer). */
  takeRequest(): { addr: number; write: Uint8Array; readLen: number } {
    const c = this.ctl;
    return { addr: c[ADDR], write: this.data.subarray(0, c[WRITE_LEN]), readLen: c[READ_LEN] };
  }

  /** Worker: publish the reply to `seq` and wake the main thread. */
  answer(seq: number, reply: Uint8Array | I2cFailure | { error: string }): void {
    const c = this.ctl;
    if (reply instanceof Uint8Array) {
      this.data.set(reply);
      c[KIND] = KIND_BYTES;
      c[LEN] = reply.length;
    } else if ("error" in reply) {
      c[KIND] = KIND_ERROR;
      c[LEN] = this.#text(reply.error);
    } else {
      c[KIND] = KIND_FAILURE;
      c[LEN] = this.#text(reply.action);
      c[CODE] = HAL_ERROR_CODES.indexOf(reply.code);
      c[ERRNO] = reply.errno ?? -1;
    }
    Atomics.store(c, DONE, seq);
    Atomics.notify(c, DONE);
  }

  #text(s: string): number {
    return encoder.encodeInto(s, this.data).written;
  }
}
