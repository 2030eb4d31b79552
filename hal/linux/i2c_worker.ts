/**
 * The thread of one `LinuxI2cBus` in `"worker"` mode: it runs each transfer synchronously over
 * FFI on the bus fd the main thread opened (fds are per process), so errno is read on the
 * thread that made the ioctl and a failed write is never repeated. One request at a time:
 * the main thread posts the next only after this one's reply.
 *
 * Protocol: first message {@link I2cWorkerInit}, then {@link I2cWorkerRequest}s; each gets one
 * {@link I2cWorkerReply}: the bytes (buffer transferred), an {@link I2cFailure}, or `{ error }`.
 *
 * @module
 */
import { I2cCore, type I2cFailure } from "./_i2c_core.ts";

/** What the worker needs to run transfers on the main thread's fd. */
export interface I2cWorkerInit {
  bus: number;
  fd: number;
  funcs: number;
  force: boolean;
  maxMessage: number;
  /**
   * `Int32Array` over it, index 0: {@link GATE_IDLE}, {@link GATE_BUSY} while an ioctl may run,
   * {@link GATE_CLOSED} once the main thread closes the bus (then no ioctl starts again).
   */
  gate: SharedArrayBuffer;
}

/** One transfer, already checked on the main thread. */
export interface I2cWorkerRequest {
  addr: number;
  write: Uint8Array;
  readLen: number;
}

/** The answer to one request. */
export type I2cWorkerReply = Uint8Array | I2cFailure | { error: string };

export const GATE_IDLE = 0;
export const GATE_BUSY = 1;
export const GATE_CLOSED = 2;

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
let core: I2cCore | undefined;
let gate: Int32Array;

scope.onmessage = (e: MessageEvent) => {
  if (core === undefined) {
    const init = e.data as I2cWorkerInit;
    core = new I2cCore(init.bus, init.fd, init.funcs, init.force, init.maxMessage);
    gate = new Int32Array(init.gate);
    return;
  }
  const { addr, write, readLen } = e.data as I2cWorkerRequest;
  if (Atomics.compareExchange(gate, 0, GATE_IDLE, GATE_BUSY) !== GATE_IDLE) {
    scope.close(); // the bus closed: its fd may already belong to someone else
    return;
  }
  let reply: I2cWorkerReply;
  try {
    reply = core.run(addr, write, readLen);
  } catch (err) {
    reply = { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  } finally {
    Atomics.store(gate, 0, GATE_IDLE);
    Atomics.notify(gate, 0);
  }
  if (reply instanceof Uint8Array) scope.postMessage(reply, [reply.buffer as ArrayBuffer]);
  else scope.postMessage(reply);
};
