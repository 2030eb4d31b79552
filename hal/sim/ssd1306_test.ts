import assert from "node:assert/strict";
import { SimSsd1306 } from "./ssd1306.ts";

const cmd = (oled: SimSsd1306, ...bytes: number[]) => oled.transfer(Uint8Array.of(0x00, ...bytes), 0);
const data = (oled: SimSsd1306, ...bytes: number[]) => oled.transfer(Uint8Array.of(0x40, ...bytes), 0);

Deno.test("SimSsd1306 starts asleep in page mode with a blank framebuffer", () => {
  const oled = new SimSsd1306();
  assert.equal(oled.displayOn, false);
  assert.equal(oled.addressingMode, "page");
  assert.equal(oled.framebuffer().length, 1024);
  assert.ok(oled.framebuffer().every((b) => b === 0));
  assert.deepEqual([...oled.transfer(new Uint8Array(0), 1)], [0x40]); // status: display off
});

Deno.test("SimSsd1306 parses commands with their argument bytes", () => {
  const oled = new SimSsd1306();
  cmd(oled, 0xae, 0xd5, 0x80, 0xa8, 0x3f, 0xd3, 0x05, 0x40 | 3, 0x8d, 0x14, 0x20, 0x00, 0xa1, 0xc8);
  cmd(oled, 0xda, 0x12, 0x81, 0xcf, 0xd9, 0xf1, 0xdb, 0x40, 0xa4, 0xa7, 0xaf);
  assert.equal(oled.multiplex, 63);
  assert.equal(oled.displayOffset, 5);
  assert.equal(oled.startLine, 3);
  assert.equal(oled.chargePump, true);
  assert.equal(oled.addressingMode, "horizontal");
  assert.equal(oled.segmentRemap, true);
  assert.equal(oled.comScanReversed, true);
  assert.equal(oled.contrast, 0xcf);
  assert.equal(oled.inverted, true);
  assert.equal(oled.entireOn, false);
  assert.equal(oled.displayOn, true);
  assert.equal(oled.unknownCommands, 0);
  // 0xDB's argument 0x40 must not have been taken as "start line 0".
  assert.equal(oled.startLine, 3);
});

Deno.test("SimSsd1306 keeps a command's arguments across transfers and Co-framed bytes", () => {
  const oled = new SimSsd1306();
  oled.transfer(Uint8Array.of(0x80, 0x81), 0); // Co=1, one command byte
  oled.transfer(Uint8Array.of(0x80, 0x10, 0x80, 0xaf), 0); // its argument, then display on
  assert.equal(oled.contrast, 0x10);
  assert.equal(oled.displayOn, true);
  oled.transfer(Uint8Array.of(0xc0, 0xff, 0x80, 0xa7), 0); // Co=1 data byte, then a command
  assert.equal(oled.framebuffer()[0], 0xff);
  assert.equal(oled.inverted, true);
});

Deno.test("SimSsd1306 horizontal mode wraps columns into the next page within the window", () => {
  const oled = new SimSsd1306();
  cmd(oled, 0x20, 0x00, 0x21, 10, 12, 0x22, 2, 3);
  data(oled, 1, 2, 3, 4, 5, 6, 7);
  const fb = oled.framebuffer();
  // The 7th byte wrapped back to the window's first cell (page 2, column 10).
  assert.deepEqual([...fb.slice(2 * 128 + 10, 2 * 128 + 13)], [7, 2, 3]);
  assert.deepEqual([...fb.slice(3 * 128 + 10, 3 * 128 + 13)], [4, 5, 6]);
  assert.equal(fb[2 * 128 + 13], 0);
  assert.equal(fb[2 * 128 + 9], 0);
});

Deno.test("SimSsd1306 horizontal mode wraps from the last page back to the first", () => {
  const oled = new SimSsd1306();
  cmd(oled, 0x20, 0x00, 0x21, 0, 1, 0x22, 0, 1);
  data(oled, 1, 2, 3, 4, 9);
  const fb = oled.framebuffer();
  assert.deepEqual([fb[0], fb[1], fb[128], fb[129]], [9, 2, 3, 4]);
});

Deno.test("SimSsd1306 vertical mode walks pages first", () => {
  const oled = new SimSsd1306();
  cmd(oled, 0x20, 0x01, 0x21, 5, 6, 0x22, 0, 1);
  data(oled, 1, 2, 3, 4);
  const fb = oled.framebuffer();
  assert.deepEqual([fb[5], fb[128 + 5], fb[6], fb[128 + 6]], [1, 2, 3, 4]);
});

Deno.test("SimSsd1306 page mode uses 0xB0 page and nibble column commands and stays on the page", () => {
  const oled = new SimSsd1306();
  cmd(oled, 0x20, 0x02, 0xb3, 0x0e, 0x17); // page 3, column 0x7e
  data(oled, 0xaa, 0xbb, 0xcc); // 0x7e, 0x7f, then back to 0x7e on the same page
  const fb = oled.framebuffer();
  assert.equal(fb[3 * 128 + 0x7e], 0xcc);
  assert.equal(fb[3 * 128 + 0x7f], 0xbb);
  assert.equal(fb[4 * 128], 0);
});

Deno.test("SimSsd1306.pixel() maps page bits to rows", () => {
  const oled = new SimSsd1306();
  cmd(oled, 0x20, 0x00, 0x21, 0, 127, 0x22, 1, 7);
  data(oled, 0b1000_0001);
  assert.equal(oled.pixel(0, 8), true);
  assert.equal(oled.pixel(0, 15), true);
  assert.equal(oled.pixel(0, 9), false);
  assert.equal(oled.pixel(1, 8), false);
  assert.throws(() => oled.pixel(128, 0), {
    name: "RangeError",
    message: "Cannot read pixel: (128, 0) is outside 128×64",
  });
});

Deno.test("SimSsd1306 counts unknown commands and rejects bad addresses", () => {
  const oled = new SimSsd1306(0x3d);
  cmd(oled, 0xe3, 0xf0);
  assert.equal(oled.unknownCommands, 1);
  assert.throws(() => new SimSsd1306(0x3e), {
    name: "RangeError",
    message: "Cannot create SSD1306 model: address 0x3e is not 0x3c or 0x3d",
  });
});
