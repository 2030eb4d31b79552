import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { encodeSpiTransfer, LinuxSpiDevice, SPI_IOC_TRANSFER_SIZE, spiIocMessage } from "./spi_device.ts";

Deno.test("spiIocMessage() computes SPI_IOC_MESSAGE(n) from the 32-byte spi_ioc_transfer", () => {
  assert.equal(SPI_IOC_TRANSFER_SIZE, 32);
  assert.equal(spiIocMessage(1), 0x40206b00n);
  assert.equal(spiIocMessage(2), 0x40406b00n);
});

Deno.test("encodeSpiTransfer() lays out struct spi_ioc_transfer as linux/spi/spidev.h", () => {
  const buf = new ArrayBuffer(32);
  new Uint8Array(buf).fill(0xee);
  encodeSpiTransfer(new DataView(buf), 0x1122334455667788n, 0x99aabbccddeeff00n, 27, 2_400_000, 8);
  const v = new DataView(buf);
  assert.equal(v.getBigUint64(0, true), 0x1122334455667788n);
  assert.equal(v.getBigUint64(8, true), 0x99aabbccddeeff00n);
  assert.equal(v.getUint32(16, true), 27);
  assert.equal(v.getUint32(20, true), 2_400_000);
  assert.equal(v.getUint16(24, true), 0); // delay_usecs
  assert.equal(v.getUint8(26), 8); // bits_per_word
  assert.deepEqual([...new Uint8Array(buf, 27)], [0, 0, 0, 0, 0]); // cs_change, nbits, word delay, pad
});

Deno.test("LinuxSpiDevice.open() of a missing spidev is not_found naming the node", () => {
  assert.throws(() => LinuxSpiDevice.open(9, 3), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "not_found");
    assert.equal(e.message, "Cannot open SPI device /dev/spidev9.3: no such device (errno 2 ENOENT)");
    return true;
  });
  assert.throws(() => LinuxSpiDevice.open(0, 0, { mode: 5 as 0 }), /mode must be 0..3, got 5/);
});
