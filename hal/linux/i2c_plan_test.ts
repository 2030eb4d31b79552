import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { decodeFunctionality, I2C_FUNC, planTransfer, type SmbusPlan, smbusResult } from "./i2c_plan.ts";

/** What i2c-stub reports: SMBus quick/byte/byte data/word data/I2C block, no plain I2C. */
const STUB = 0x0c7f0000;
const target = { bus: 0, addr: 0x77 };
const b = (...x: number[]) => Uint8Array.from(x);
const plan = (w: Uint8Array, r: number, funcs = STUB) => planTransfer(funcs, w, r, target) as SmbusPlan;

Deno.test("decodeFunctionality() reads the I2C_FUNCS bits", () => {
  const f = decodeFunctionality(STUB);
  assert.deepEqual({ ...f, raw: 0 }, {
    i2c: false,
    smbusQuick: true,
    smbusByte: true,
    smbusByteData: true,
    smbusWordData: true,
    smbusI2cBlock: true,
    raw: 0,
  });
  assert.equal(decodeFunctionality(I2C_FUNC.I2C).i2c, true);
});

Deno.test("planTransfer() uses I2C_RDWR when the adapter has I2C_FUNC_I2C", () => {
  assert.deepEqual(planTransfer(I2C_FUNC.I2C | STUB, b(0x10, 1), 7, target), { kind: "rdwr" });
});

Deno.test("planTransfer() maps each write/read shape to its SMBus operation", () => {
  const cases: [Uint8Array, number, string, number, number, number[]][] = [
    [b(), 0, "quick", 0, 0, []],
    [b(), 1, "receive_byte", 1, 1, []],
    [b(0x42), 0, "send_byte", 0, 1, []],
    [b(0xd0), 1, "read_byte_data", 1, 2, []],
    [b(0xd0), 2, "read_word_data", 1, 3, []],
    [b(0x88), 24, "read_i2c_block", 1, 8, [24]],
    [b(0x74, 0x25), 0, "write_byte_data", 0, 2, [0x25]],
    [b(0x20, 0x34, 0x12), 0, "write_word_data", 0, 3, [0x34, 0x12]],
    [b(0x40, 1, 2, 3), 0, "write_i2c_block", 0, 8, [3, 1, 2, 3]],
  ];
  for (const [w, r, op, rw, size, data] of cases) {
    const p = plan(w, r);
    assert.equal(p.op, op);
    assert.equal(p.readWrite, rw, op);
    assert.equal(p.size, size, op);
    assert.equal(p.command, w[0] ?? 0, op);
    assert.deepEqual([...p.data], data, op);
    assert.equal(p.readLen, r, op);
  }
});

Deno.test("planTransfer() falls back to I2C block when word data is missing", () => {
  const noWord = STUB & ~(I2C_FUNC.SMBUS_READ_WORD_DATA | I2C_FUNC.SMBUS_WRITE_WORD_DATA);
  assert.equal(plan(b(0xd0), 2, noWord).op, "read_i2c_block");
  assert.equal(plan(b(0xd0, 1, 2), 0, noWord).op, "write_i2c_block");
});

Deno.test("planTransfer() refuses shapes without an SMBus equivalent, naming the shape", () => {
  for (const [w, r] of [[b(1, 2), 2], [b(1), 33], [b(), 3], [new Uint8Array(34), 0]] as const) {
    assert.throws(() => plan(w, r), (e: unknown) => {
      assert.ok(e instanceof HalError);
      assert.equal(e.code, "not_supported");
      assert.ok(e.message.includes(`shape 'write ${w.length} byte(s) then read ${r}'`), e.message);
      assert.ok(e.message.startsWith("Cannot "), e.message);
      return true;
    });
  }
  assert.throws(
    () => plan(b(0xd0), 1, I2C_FUNC.SMBUS_QUICK),
    /needs SMBus read_i2c_block, which the adapter lacks: not supported$/,
  );
});

Deno.test("smbusResult() unpacks byte, word and block unions", () => {
  const union = new Uint8Array(34);
  union.set([0x34, 0x12]);
  assert.deepEqual(smbusResult(plan(b(0xd0), 1), union), b(0x34));
  assert.deepEqual(smbusResult(plan(b(0xd0), 2), union), b(0x34, 0x12));
  union.set([3, 9, 8, 7]);
  assert.deepEqual(smbusResult(plan(b(0x10), 3), union), b(9, 8, 7));
  union[0] = 2;
  assert.equal(smbusResult(plan(b(0x10), 3), union), null);
});
