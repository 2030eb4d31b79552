/**
 * The thread of one `LinuxI2cBus` in `"worker"` mode: it runs each transfer synchronously over
 * FFI on the bus fd the main thread opened (fds are per process), so errno is read on the
 * thread that made the ioctl and a failed write is never repeated.
 *
 * Started with one {@link I2cWorkerInit} message, it then lives in a loop on the shared
 * {@link I2cChannel}: poll for the next request for `spinUs` (a read loop's next request comes
 * within microseconds, and a sleeping thread costs tens of µs to wake), else sleep in
 * `Atomics.wait`; run the request; publish the reply. It ends when the bus closes (the gate is
 * shut or the worker is terminated).
 *
 * @module
 */
import { I2cCore } from "./_i2c_core.ts";
import { GATE, GATE_BUSY, GATE_IDLE, I2cChannel, type I2cWorkerInit, REQ } from "./_i2c_channel.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<I2cWorkerInit>) => void) | null;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  scope.onmessage = null;
  serve(e.data);
  scope.close();
};

/** Answer requests until the bus closes. */
function serve(init: I2cWorkerInit): void {
  const core = new I2cCore(init.bus, init.fd, init.funcs, init.force, init.maxMessage);
  const channel = new I2cChannel(init.ctl, init.data);
  const ctl = channel.ctl;
  let seen = 0;
  for (;;) {
    if (Atomics.load(ctl, REQ) === seen && init.spinUs > 0) {
      const until = performance.now() + init.spinUs / 1000;
      while (Atomics.load(ctl, REQ) === seen && performance.now() < until) { /* poll */ }
    }
    Atomics.wait(ctl, REQ, seen);
    const seq = Atomics.load(ctl, REQ);
    if (Atomics.compareExchange(ctl, GATE, GATE_IDLE, GATE_BUSY) !== GATE_IDLE) return; // closed
    if (seq === seen) {
      release(ctl);
      continue;
    }
    seen = seq;
    const { addr, write, readLen } = channel.takeRequest();
    let reply;
    try {
      reply = core.run(addr, write, readLen);
    } catch (err) {
      reply = { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
    release(ctl);
    channel.answer(seq, reply);
  }
}

function release(ctl: Int32Array<SharedArrayBuffer>): void {
  Atomics.store(ctl, GATE, GATE_IDLE);
  Atomics.notify(ctl, GATE);
}
