import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { LinuxI2cBus } from "./i2c_bus.ts";

// The real-kernel tests (round trips through i2c-stub) are in tests/kernel/i2c_kernel.ts.

Deno.test("LinuxI2cBus.open() of a missing bus names the node and is not_found", () => {
  assert.throws(() => LinuxI2cBus.open(97), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "not_found");
    assert.equal(e.message, "Cannot open I2C bus 97 (/dev/i2c-97): no such device (errno 2 ENOENT)");
    return true;
  });
});

Deno.test("LinuxI2cBus.open() on a node that is not an I2C adapter is not_supported", () => {
  assert.throws(() => LinuxI2cBus.open(0, { path: "/dev/null" }), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "not_supported");
    assert.match(
      e.message,
      /^Cannot read functionality of I2C bus 0 \(\/dev\/null\): not supported \(errno 25 ENOTTY\)$/,
    );
    return true;
  });
});

Deno.test("LinuxI2cBus.open() rejects a bad bus number", () => {
  assert.throws(() => LinuxI2cBus.open(-1), /bus number must be a non-negative integer, got -1/);
});

// /dev/null as an "adapter" (functionality assumed): every ioctl fails with ENOTTY, which
// drives the whole transfer path, the worker protocol and the errno read on the worker thread.
const SMBUS_STUB = 0x0c7f0000; // i2c-stub: SMBus quick/byte/byte data/word data/I2C block
const PLAIN_I2C = 0x00000001 | 0x00010000; // I2C_FUNC_I2C | SMBUS_QUICK
const nullBus = (io: "worker" | "sync" | "nonblocking", funcs = SMBUS_STUB) =>
  LinuxI2cBus.open(3, { path: "/dev/null", io, assumeFuncs: funcs });
const failure = (p: Promise<unknown>) => p.then(() => assert.fail("expected a rejection"), (e: unknown) => e);

Deno.test("LinuxI2cBus.open() runs transfers on a worker by default and reports functionality synchronously", () => {
  const bus = nullBus("worker");
  try {
    assert.equal(LinuxI2cBus.open(3, { path: "/dev/null", assumeFuncs: SMBUS_STUB }).io, "worker");
    assert.equal(bus.functionality().i2c, false);
    assert.equal(bus.functionality().smbusByteData, true);
  } finally {
    bus.close();
  }
});

for (const [shape, funcs] of [["SMBus", SMBUS_STUB], ["I2C_RDWR", PLAIN_I2C]] as const) {
  Deno.test(`LinuxI2cBus worker transfers fail with the errno read on the worker thread (${shape})`, async () => {
    const errors: Record<string, unknown> = {};
    for (const io of ["worker", "sync", "nonblocking"] as const) {
      const bus = nullBus(io, funcs);
      try {
        errors[io] = await failure(bus.transfer(0x77, Uint8Array.of(0xd0), 1));
      } finally {
        bus.close();
      }
    }
    const e = errors.worker;
    assert.ok(e instanceof HalError, String(e));
    assert.equal(e.code, "not_supported");
    assert.equal(e.errno, 25);
    assert.equal(e.message, "Cannot read I2C device 0x77 on bus 3: not supported (errno 25 ENOTTY)");
    for (const io of ["sync", "nonblocking"]) {
      const other = errors[io] as HalError;
      assert.deepEqual([other.name, other.code, other.errno, other.message], [
        e.name,
        e.code,
        e.errno,
        e.message,
      ]);
    }
  });
}

Deno.test("LinuxI2cBus worker mode settles concurrent transfers in submission order", async () => {
  const bus = nullBus("worker");
  try {
    const order: string[] = [];
    const jobs = Array.from({ length: 200 }, (_, i) => {
      const addr = 0x10 + (i % 0x60);
      const write = i % 2 ? Uint8Array.of(1, 2) : Uint8Array.of(1);
      return failure(bus.transfer(addr, write, i % 2 ? 0 : 1)).then((e) =>
        void order.push((e as Error).message)
      );
    });
    await Promise.all(jobs);
    assert.deepEqual(
      order,
      Array.from(
        { length: 200 },
        (_, i) =>
          `Cannot ${i % 2 ? "write" : "read"} I2C device 0x${
            (0x10 + (i % 0x60)).toString(16)
          } on bus 3: not supported (errno 25 ENOTTY)`,
      ),
    );
  } finally {
    bus.close();
  }
});

Deno.test("LinuxI2cBus worker mode checks arguments and shapes on the calling thread", async () => {
  const bus = nullBus("worker");
  try {
    const range = await failure(bus.transfer(0x80, Uint8Array.of(0), 1));
    assert.ok(range instanceof RangeError);
    assert.equal(
      range.message,
      "Cannot read I2C device 0x80 on bus 3: address must be an integer in 0x00..0x7f, got 128",
    );
    const shape = await failure(bus.transfer(0x77, Uint8Array.of(1, 2), 2));
    assert.ok(shape instanceof HalError);
    assert.equal(shape.code, "not_supported");
    assert.match(shape.message, /shape 'write 2 byte\(s\) then read 2' has no SMBus equivalent/);
    assert.throws(() => bus.transferSync(0x77, Uint8Array.of(0), 1), /its transfers run on a worker/);
    // a view into a larger buffer is sent as its own bytes, and the bus still answers after the errors
    const big = new Uint8Array(4096);
    const e = await failure(bus.transfer(0x77, big.subarray(10, 12), 0));
    assert.equal(
      (e as Error).message,
      "Cannot write I2C device 0x77 on bus 3: not supported (errno 25 ENOTTY)",
    );
  } finally {
    bus.close();
  }
});

Deno.test("LinuxI2cBus.close() in worker mode fails queued transfers and stops the worker", async () => {
  const bus = nullBus("worker");
  const queued = [0x10, 0x11, 0x12].map((a) => failure(bus.transfer(a, Uint8Array.of(0), 1)));
  bus.close();
  bus.close(); // idempotent
  const [first, ...rest] = await Promise.all(queued);
  assert.match(String(first), /^Error: Cannot transfer on I2C bus 3: bus is closed/);
  for (const e of rest) assert.equal(String(e), "Error: Cannot transfer on I2C bus 3: bus is closed");
  assert.equal(
    String(await failure(bus.transfer(0x10, Uint8Array.of(0), 1))),
    "Error: Cannot transfer on I2C bus 3: bus is closed",
  );
});

Deno.test("LinuxI2cBus.open() rejects an unknown io mode", () => {
  assert.throws(
    () => LinuxI2cBus.open(3, { path: "/dev/null", io: "threads" as "worker" }),
    /^RangeError: Cannot open I2C bus 3: io must be 'worker', 'nonblocking' or 'sync', got 'threads'$/,
  );
});
