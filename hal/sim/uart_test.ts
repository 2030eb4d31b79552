import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { SimUart } from "./uart.ts";

Deno.test("SimUart loops written bytes back and reads at most maxLen", async () => {
  const uart = new SimUart("/dev/serial0");
  assert.equal(await uart.write(Uint8Array.of(1, 2, 3)), 3);
  assert.deepEqual([...await uart.read(2)], [1, 2]);
  assert.deepEqual([...await uart.read(8)], [3]);
  assert.deepEqual([...await uart.read(8)], []);
  assert.deepEqual(uart.transmitted, [1, 2, 3]);
  uart.close();
  await assert.rejects(() => uart.read(1), {
    message: "Cannot read /dev/serial0 (port closed): no such device",
  });
});

Deno.test("SimUart.read() waits for injected bytes up to its timeout on fake time", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const uart = new SimUart("/dev/ttyAMA0", 9600, { loopback: false });
    let got: Uint8Array | undefined;
    uart.read(4, 500).then((b) => got = b);
    await clock.tickAsync(100);
    assert.equal(got, undefined);
    uart.inject(Uint8Array.of(0x55));
    await clock.tickAsync(0);
    assert.deepEqual([...got!], [0x55]);
    got = undefined;
    uart.read(4, 500).then((b) => got = b);
    await clock.tickAsync(500);
    assert.deepEqual([...got!], []);
    await uart.write(Uint8Array.of(1));
    assert.deepEqual([...await uart.read(4)], [], "no loopback");
    uart.close();
  } finally {
    clock.uninstall();
  }
});

Deno.test("SimUart.setBaud() accepts standard rates only", () => {
  const uart = new SimUart("/dev/serial0");
  uart.setBaud(9600);
  assert.equal(uart.baud, 9600);
  assert.throws(() => uart.setBaud(12345), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /^Cannot set baud rate of \/dev\/serial0: 12345 is not one of 1200, /);
    return true;
  });
  uart.close();
});
