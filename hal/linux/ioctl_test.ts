import assert from "node:assert/strict";
import { ioc, iow } from "./ioctl.ts";

Deno.test("ioc() encodes _IOC(dir, type, nr, size) as asm-generic/ioctl.h", () => {
  assert.equal(iow(0x6b, 1, 1), 0x40016b01n); // SPI_IOC_WR_MODE
  assert.equal(iow(0x6b, 4, 4), 0x40046b04n); // SPI_IOC_WR_MAX_SPEED_HZ
  assert.equal(iow(0x6b, 0, 32), 0x40206b00n); // SPI_IOC_MESSAGE(1)
  assert.equal(ioc(2, 0x6b, 1, 1), 0x80016b01n); // SPI_IOC_RD_MODE
  assert.throws(() => ioc(1, 0x6b, 0, 1 << 14), /size 16384 exceeds 14 bits/);
  assert.throws(() => ioc(1, 0x100, 0, 1), RangeError);
});
