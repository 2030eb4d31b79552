import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { DONE, I2cChannel } from "./_i2c_channel.ts";
import { failureError } from "./_i2c_core.ts";

/** Both ends over the same buffers, as the main thread and the worker hold them. */
function pair(maxMessage = 64): { main: I2cChannel; worker: I2cChannel } {
  const main = I2cChannel.create(maxMessage);
  return { main, worker: new I2cChannel(main.ctl.buffer, main.data.buffer) };
}

Deno.test("I2cChannel carries a request and the bytes read back", () => {
  const { main, worker } = pair();
  const seq = main.request(0x77, Uint8Array.of(0xd0, 0x01), 3);
  assert.equal(seq, 1);
  assert.equal(main.done(seq), false);
  const req = worker.takeRequest();
  assert.deepEqual([req.addr, [...req.write], req.readLen], [0x77, [0xd0, 0x01], 3]);
  worker.answer(seq, Uint8Array.of(7, 8, 9));
  assert.equal(main.done(seq), true);
  const reply = main.reply();
  assert.ok(reply instanceof Uint8Array);
  assert.deepEqual([...reply], [7, 8, 9]);
  assert.ok(reply.buffer instanceof ArrayBuffer, "the caller gets its own, unshared copy");
  assert.equal(main.request(0x3c, new Uint8Array(0), 1), 2);
});

Deno.test("I2cChannel carries a failure that becomes the same HalError on the main thread", () => {
  const { main, worker } = pair(16); // a small bus still has room for the message
  const failure = {
    code: "bus_busy" as const,
    action:
      "Cannot read I2C device 0x51 on bus 0: a kernel driver has claimed 0x51 (set i2cForce to override)",
    errno: 16,
  };
  worker.answer(main.request(0x51, Uint8Array.of(0), 1), failure);
  const reply = main.reply();
  assert.deepEqual(reply, failure);
  const e = failureError(reply as typeof failure);
  assert.ok(e instanceof HalError);
  assert.equal(e.message, `${failure.action}: bus busy (errno 16 EBUSY)`);
  // without an errno (a short block), and an unexpected error's text
  worker.answer(main.request(0x3c, Uint8Array.of(0x40), 4), { code: "io", action: "short" });
  assert.deepEqual(main.reply(), { code: "io", action: "short" });
  worker.answer(main.request(0x3c, Uint8Array.of(0x40), 4), { error: "TypeError: oops" });
  assert.deepEqual(main.reply(), { error: "TypeError: oops" });
  assert.equal(Atomics.load(main.ctl, DONE), 3);
});
