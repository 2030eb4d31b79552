import assert from "node:assert/strict";
import type { SpiDevice } from "../spi.ts";
import { encodeWs2812, LinuxLedStrip, scaleChannel, WS2812_RESET_BYTES } from "./led_strip.ts";

/** Decode the SPI stream back to LED bits (110 → 1, 100 → 0), failing on any other pattern. */
function decode(bytes: Uint8Array, pixels: number): number[] {
  const bits: number[] = [];
  for (let i = 0; i < pixels * 72; i++) bits.push((bytes[i >> 3] >> (7 - (i & 7))) & 1);
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 3) {
    const t = bits.slice(i, i + 3).join("");
    assert.ok(t === "110" || t === "100", `bad symbol ${t} at bit ${i}`);
    out.push(t === "110" ? 1 : 0);
  }
  const bytesOut: number[] = [];
  for (let i = 0; i < out.length; i += 8) bytesOut.push(parseInt(out.slice(i, i + 8).join(""), 2));
  return bytesOut;
}

Deno.test("encodeWs2812() sends GRB, MSB first, 3 SPI bits per LED bit, then the reset gap", () => {
  const px = [{ r: 0xff, g: 0x00, b: 0x81 }, { r: 0x12, g: 0x34, b: 0x56 }];
  const spi = encodeWs2812(px);
  assert.equal(spi.length, 2 * 9 + WS2812_RESET_BYTES);
  assert.deepEqual(decode(spi, 2), [0x00, 0xff, 0x81, 0x34, 0x12, 0x56]);
  assert.ok(spi.subarray(18).every((b) => b === 0));
  // 0x00 green → 100 100 100 100 100 100 100 100 = 0x92 0x49 0x24
  assert.deepEqual([...encodeWs2812([{ r: 0, g: 0, b: 0 }]).subarray(0, 3)], [0x92, 0x49, 0x24]);
  assert.deepEqual([...encodeWs2812([{ r: 0, g: 255, b: 0 }]).subarray(0, 3)], [0xdb, 0x6d, 0xb6]);
});

Deno.test("encodeWs2812() scales by brightness (0..1 or 0..255) and clamps", () => {
  assert.deepEqual(decode(encodeWs2812([{ r: 200, g: 100, b: 300 }], 0.5), 1), [50, 100, 128]);
  assert.equal(scaleChannel(255, 128), 128);
  assert.throws(() => scaleChannel(1, -1), /brightness must be ≥ 0, got -1/);
});

Deno.test("LinuxLedStrip.show() writes the encoded frame to SPI and remembers it", async () => {
  const sent: Uint8Array[] = [];
  const spi: SpiDevice = {
    path: "fake",
    transfer: (tx) => {
      sent.push(tx.slice());
      return Promise.resolve(new Uint8Array(tx.length));
    },
    close: () => {},
  };
  const strip = new LinuxLedStrip(() => spi, 2, 1);
  const frame = [{ r: 1, g: 2, b: 3 }, { r: 4, g: 5, b: 6 }];
  await strip.show(frame);
  assert.deepEqual(decode(sent[0], 2), [2, 1, 3, 5, 4, 6]);
  assert.deepEqual(strip.current(), frame);
  await assert.rejects(strip.show(frame.slice(1)), /got 1 pixels for a strip of 2/);
});
