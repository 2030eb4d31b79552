import assert from "node:assert/strict";
import { I2C_TRANSACTION_LIMITS } from "../../plugins/sdk/mod.ts";
import { describeStep, parseTransaction, transactionWeight } from "./i2c_transaction.ts";

Deno.test("parseTransaction() reads transfers and waits in order", () => {
  const steps = parseTransaction([{ address: 0x77, write: [0x74, 0x91] }, { delayMs: 10 }, {
    address: 0x77,
    write: [0x1d],
    read: 15,
  }]);
  assert.deepEqual(steps, [
    { kind: "transfer", address: 0x77, write: Uint8Array.of(0x74, 0x91), readLen: 0 },
    { kind: "delay", ms: 10 },
    { kind: "transfer", address: 0x77, write: Uint8Array.of(0x1d), readLen: 15 },
  ]);
  assert.equal(describeStep(steps[0]), "write 0x74 0x91 at 0x77");
  assert.equal(describeStep(steps[2]), "write 0x1d, then read 15 bytes at 0x77");
});

Deno.test("parseTransaction() names the malformed step", () => {
  assert.throws(
    () => parseTransaction("x"),
    new TypeError('Cannot call "i2c.transaction": steps must be an array, got string'),
  );
  assert.throws(
    () => parseTransaction([{ address: 0x77 }, 5]),
    new TypeError('Cannot call "i2c.transaction": step 2 of 2 must be an object, got number'),
  );
  assert.throws(
    () => parseTransaction([{ address: 0x77, write: [256] }]),
    new TypeError('Cannot call "i2c.transaction": step 1 of 1: write must be an array of bytes 0..255'),
  );
  assert.throws(
    () => parseTransaction([{ address: 0x77 }, { address: 0x77, read: -1 }]),
    new TypeError('Cannot call "i2c.transaction": step 2 of 2: read must be an integer 0..4096, got -1'),
  );
  assert.throws(
    () => parseTransaction([{ delayMs: 1.5 }]),
    new TypeError('Cannot call "i2c.transaction": step 1 of 1: delayMs must be an integer 0..5000, got 1.5'),
  );
});

Deno.test("parseTransaction() caps steps, bytes and waits per transaction", () => {
  const L = I2C_TRANSACTION_LIMITS;
  const one = { address: 0x77, write: [0] };
  assert.equal(parseTransaction(Array(L.steps).fill(one)).length, L.steps);
  assert.throws(() => parseTransaction([]), /takes 1\.\.64 steps, got 0/);
  assert.throws(() => parseTransaction(Array(L.steps + 1).fill(one)), /takes 1\.\.64 steps, got 65/);
  // Two reads of 2048 fit exactly; one byte more does not.
  parseTransaction([{ address: 0x77, read: 2048 }, { address: 0x77, read: 2048 }]);
  assert.throws(
    () => parseTransaction([{ address: 0x77, read: 2048 }, { address: 0x77, write: [1], read: 2048 }]),
    new RangeError(
      'Cannot call "i2c.transaction": more than 4096 bytes written plus read in total at step 2 of 2',
    ),
  );
  assert.throws(
    () => parseTransaction([{ delayMs: 3000 }, one, { delayMs: 2001 }]),
    new RangeError('Cannot call "i2c.transaction": waits add up to more than 5000 ms at step 3 of 3'),
  );
});

Deno.test("transactionWeight() counts every step, a malformed list as one", () => {
  assert.equal(transactionWeight([{}, {}, {}]), 3);
  assert.equal(transactionWeight("x"), 1);
  assert.equal(transactionWeight([]), 1);
  assert.equal(transactionWeight(Array(1000).fill({})), I2C_TRANSACTION_LIMITS.steps);
});
