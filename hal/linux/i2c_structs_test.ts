import assert from "node:assert/strict";
import { address } from "./_libc.ts";
import { planTransfer, type SmbusPlan } from "./i2c_plan.ts";
import { I2C_M_RD, I2cStructs } from "./i2c_structs.ts";

Deno.test("I2cStructs.setRdwr() lays out i2c_msg[] and i2c_rdwr_ioctl_data as linux/i2c.h", () => {
  const s = new I2cStructs(64);
  const n = s.setRdwr(0x77, Uint8Array.of(0xd0, 0x01), 3);
  assert.equal(n, 2);
  const rdwr = new DataView(s.rdwr);
  assert.equal(rdwr.getBigUint64(0, true), address(s.msgs));
  assert.equal(rdwr.getUint32(8, true), 2);
  const m = new DataView(s.msgs);
  // msg 0: addr, flags 0, len 2, buf -> writeBuf
  assert.deepEqual([m.getUint16(0, true), m.getUint16(2, true), m.getUint16(4, true)], [0x77, 0, 2]);
  assert.equal(m.getBigUint64(8, true), address(s.writeBuf));
  assert.deepEqual([...s.writeBuf.subarray(0, 2)], [0xd0, 0x01]);
  // msg 1: addr, I2C_M_RD, len 3, buf -> readBuf
  assert.deepEqual([m.getUint16(16, true), m.getUint16(18, true), m.getUint16(20, true)], [
    0x77,
    I2C_M_RD,
    3,
  ]);
  assert.equal(m.getBigUint64(24, true), address(s.readBuf));
  assert.equal(s.setRdwr(0x3c, new Uint8Array(0), 4), 1);
  assert.equal(m.getUint16(2, true), I2C_M_RD);
});

Deno.test("I2cStructs.setSmbus() lays out i2c_smbus_ioctl_data and the union", () => {
  const s = new I2cStructs(64);
  const plan = planTransfer(0x0c7f0000, Uint8Array.of(0x40, 7, 8), 0, { bus: 0, addr: 0x77 }) as SmbusPlan;
  s.setSmbus(plan);
  const v = new DataView(s.smbusArgs);
  assert.equal(v.getUint8(0), 0); // I2C_SMBUS_WRITE
  assert.equal(v.getUint8(1), 0x40); // command
  assert.equal(v.getUint32(4, true), 3); // I2C_SMBUS_WORD_DATA
  assert.equal(v.getBigUint64(8, true), address(s.smbusData));
  assert.deepEqual([...s.smbusData.subarray(0, 3)], [7, 8, 0]);
});

Deno.test("I2cStructs keeps its pointers across calls (allocated once)", () => {
  const s = new I2cStructs(64);
  const before = [s.rdwrPtr, s.smbusPtr].map((p) => Deno.UnsafePointer.value(p));
  for (let i = 0; i < 100; i++) s.setRdwr(0x10, Uint8Array.of(i), 1);
  assert.deepEqual([s.rdwrPtr, s.smbusPtr].map((p) => Deno.UnsafePointer.value(p)), before);
  assert.equal(new DataView(s.rdwr).getBigUint64(0, true), address(s.msgs));
});
