import assert from "node:assert/strict";
import { SimSpiDevice } from "./spi_device.ts";

Deno.test("SimSpiDevice loops MOSI back to MISO and records frames", async () => {
  const spi = new SimSpiDevice(0, 1);
  assert.equal(spi.path, "/dev/spidev0.1");
  const tx = Uint8Array.of(1, 2, 3);
  const rx = await spi.transfer(tx);
  tx[0] = 9;
  assert.deepEqual([...rx], [1, 2, 3]);
  assert.deepEqual([...spi.sent[0]], [1, 2, 3]);
  spi.close();
  await assert.rejects(() => spi.transfer(tx), {
    code: "not_found",
    message: "Cannot transfer on /dev/spidev0.1 (closed): no such device",
  });
});

Deno.test("SimSpiDevice uses a responder and checks its length and options", async () => {
  const spi = new SimSpiDevice(0, 0, { respond: (tx) => tx.map((b) => b ^ 0xff) });
  assert.deepEqual([...await spi.transfer(Uint8Array.of(0x0f))], [0xf0]);
  const bad = new SimSpiDevice(0, 0, { respond: () => new Uint8Array(0) });
  await assert.rejects(() => bad.transfer(Uint8Array.of(1)), {
    message: "Cannot transfer on /dev/spidev0.0 (device answered 0 of 1 bytes): input/output error",
  });
  assert.throws(() => new SimSpiDevice(0, 0, { mode: 4 as 0 }), {
    message: "Cannot open /dev/spidev0.0: mode 4 is not 0..3",
  });
  assert.throws(() => new SimSpiDevice(0, 0, { speedHz: 0 }), { name: "RangeError" });
});
