import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { I2cDevice } from "../i2c.ts";
import { SimI2cBus, smbusExpressible } from "./i2c_bus.ts";
import { RegisterFileModel, type SimI2cModel } from "./model.ts";

Deno.test("SimI2cBus.transfer() routes writes and reads to the attached model", async () => {
  const bus = new SimI2cBus(1);
  bus.attach(new RegisterFileModel(0x50));
  const dev = new I2cDevice(bus, 0x50);
  await dev.writeRegister(0x10, 1, 2, 3);
  assert.deepEqual([...await dev.readRegister(0x10, 3)], [1, 2, 3]);
  assert.deepEqual(bus.addresses(), [0x50]);
});

Deno.test("SimI2cBus.transfer() NAKs an absent address naming bus and address", async () => {
  const bus = new SimI2cBus(1);
  await assert.rejects(() => bus.transfer(0x50, Uint8Array.of(0), 1), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "address_nak");
    assert.equal(e.message, "Cannot transfer to I2C device 0x50 on bus 1: address not acknowledged");
    return true;
  });
  assert.equal(bus.counters(0x50).naks, 1);
});

Deno.test("SimI2cBus.detach() makes the address NAK and attach() refuses a taken address", async () => {
  const bus = new SimI2cBus(3);
  bus.attach(new RegisterFileModel(0x77));
  assert.throws(
    () => bus.attach(new RegisterFileModel(0x77)),
    { message: "Cannot attach I2C model at 0x77 on bus 3: address is taken" },
  );
  assert.equal(bus.detach(0x77), true);
  assert.equal(bus.detach(0x77), false);
  await assert.rejects(() => bus.transfer(0x77, new Uint8Array(), 0), {
    name: "HalError",
    code: "address_nak",
  });
});

Deno.test("SimI2cBus.transfer() rejects bad addresses and read lengths", async () => {
  const bus = new SimI2cBus(1);
  await assert.rejects(() => bus.transfer(0x80, new Uint8Array(), 0), {
    name: "RangeError",
    message: "Cannot transfer to I2C device 0x80 on bus 1: address is outside 0x00..0x7f",
  });
  await assert.rejects(() => bus.transfer(0x50, new Uint8Array(), -1), {
    name: "RangeError",
    message: "Cannot transfer to I2C device 0x50 on bus 1: read length -1 is not ≥ 0",
  });
});

Deno.test("SimI2cBus counters count transfers, bytes and faults per address", async () => {
  const bus = new SimI2cBus(1);
  bus.attach(new RegisterFileModel(0x50));
  await bus.transfer(0x50, Uint8Array.of(0, 9, 9), 0);
  await bus.transfer(0x50, Uint8Array.of(0), 4);
  bus.injectFault(0x50, "io", 2);
  for (let i = 0; i < 2; i++) {
    await assert.rejects(() => bus.transfer(0x50, Uint8Array.of(0), 1), {
      message: "Cannot transfer to I2C device 0x50 on bus 1: input/output error",
    });
  }
  await bus.transfer(0x50, Uint8Array.of(0), 1); // fault exhausted
  assert.deepEqual(bus.counters(0x50), { transfers: 5, naks: 0, faults: 2, bytesWritten: 5, bytesRead: 5 });
  assert.equal(bus.transferCount(0x50), 5);
  assert.equal(bus.transferCount(0x51), 0);
});

Deno.test("SimI2cBus.transfer() wraps a model's plain exception and a short read as io errors", async () => {
  const bus = new SimI2cBus(1);
  const broken: SimI2cModel = {
    address: 0x20,
    transfer() {
      throw new Error("boom");
    },
  };
  const short: SimI2cModel = { address: 0x21, transfer: () => new Uint8Array(1) };
  bus.attach(broken);
  bus.attach(short);
  await assert.rejects(() => bus.transfer(0x20, Uint8Array.of(0), 1), {
    code: "io",
    message: "Cannot transfer to I2C device 0x20 on bus 1 (model failed: boom): input/output error",
  });
  await assert.rejects(() => bus.transfer(0x21, Uint8Array.of(0), 2), {
    code: "io",
    message: "Cannot transfer to I2C device 0x21 on bus 1 (short read: 1 of 2 bytes): input/output error",
  });
});

Deno.test("SimI2cBus serialises concurrent transfers in call order", async () => {
  const releases: (() => void)[] = [];
  const bus = new SimI2cBus(1, {
    wireHz: 100_000,
    sleep: () => new Promise<void>((r) => releases.push(r)),
  });
  const order: number[] = [];
  bus.attach({
    address: 0x40,
    transfer(write) {
      order.push(write[0]);
      return new Uint8Array();
    },
  });
  const a = bus.transfer(0x40, Uint8Array.of(1), 0);
  const b = bus.transfer(0x40, Uint8Array.of(2), 0);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(releases.length, 1, "second transfer must wait for the first to finish on the wire");
  releases.shift()!();
  await a;
  assert.deepEqual(order, [1]);
  await new Promise((r) => setTimeout(r, 0));
  releases.shift()!();
  await b;
  assert.deepEqual(order, [1, 2]);
});

Deno.test("SimI2cBus wire time follows 9 clocks per byte at the configured rate", async () => {
  const slept: number[] = [];
  const bus = new SimI2cBus(1, {
    wireHz: 100_000,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  });
  bus.attach(new RegisterFileModel(0x77));
  // BME680 burst read: address + register, repeated start address + 15 data bytes = 18 bytes.
  await bus.transfer(0x77, Uint8Array.of(0x1d), 15);
  assert.equal(slept.length, 1);
  assert.ok(Math.abs(slept[0] - 1.62) < 1e-9, `expected 1.62 ms, got ${slept[0]}`);
  assert.equal(bus.wireMs, slept[0]);
});

Deno.test("SimI2cBus with smbusOnly refuses transfers SMBus cannot express", async () => {
  const bus = new SimI2cBus(0, { smbusOnly: true });
  bus.attach(new RegisterFileModel(0x3c));
  assert.equal(bus.functionality().i2c, false);
  assert.equal((await bus.transfer(0x3c, Uint8Array.of(0xd0), 32)).length, 32);
  await assert.rejects(() => bus.transfer(0x3c, Uint8Array.of(0, 1), 2), {
    code: "not_supported",
    message:
      "Cannot transfer to I2C device 0x3c on bus 0 (SMBus-only adapter, write 2 read 2): not supported",
  });
  assert.equal(smbusExpressible(0, 0), true);
  assert.equal(smbusExpressible(34, 0), false);
  assert.equal(smbusExpressible(0, 2), false);
  assert.equal(smbusExpressible(1, 33), false);
});

Deno.test("SimI2cBus.close() fails later transfers with not_found", async () => {
  const bus = new SimI2cBus(1);
  bus.attach(new RegisterFileModel(0x50));
  bus.close();
  await assert.rejects(() => bus.transfer(0x50, Uint8Array.of(0), 1), {
    code: "not_found",
    message: "Cannot transfer to I2C device 0x50 on bus 1 (bus closed): no such device",
  });
});

Deno.test("RegisterFileModel auto-increments, wraps at 0xff and calls its hooks", () => {
  const writes: [number, number, number][] = [];
  class Probe extends RegisterFileModel {
    protected override onWrite(reg: number, value: number, previous: number): void {
      writes.push([reg, value, previous]);
      if (reg === 0x01) this.regs[reg] = value & 0x0f; // read-only high nibble
    }
    protected override onRead(reg: number, stored: number): number {
      return reg === 0xd0 ? 0x61 : stored;
    }
  }
  const m = new Probe(0x77);
  m.poke(0xfe, 7, 8);
  m.transfer(Uint8Array.of(0x00, 0xaa, 0xff), 0);
  assert.deepEqual(writes, [[0x00, 0xaa, 0], [0x01, 0xff, 0]]);
  assert.equal(m.peek(0x01), 0x0f);
  assert.deepEqual([...m.transfer(Uint8Array.of(0xfe), 3)], [7, 8, 0xaa]);
  assert.deepEqual([...m.transfer(Uint8Array.of(0xd0), 1)], [0x61]);
  assert.throws(() => new RegisterFileModel(0x78), {
    name: "RangeError",
    message: "Cannot create I2C model: address 120 is outside 0x03..0x77",
  });
});
