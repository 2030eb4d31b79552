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
