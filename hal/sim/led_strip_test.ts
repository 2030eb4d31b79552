import assert from "node:assert/strict";
import { SimLedStrip } from "./led_strip.ts";

const off = { r: 0, g: 0, b: 0 };

Deno.test("SimLedStrip.show() records every frame with its time and the wire colours", async () => {
  let now = 10;
  const strip = new SimLedStrip({ count: 3, brightness: 0.5, clock: () => now });
  assert.deepEqual(strip.current(), [off, off, off]);
  await strip.show([{ r: 255, g: 100, b: 1 }, off, off]);
  now = 20;
  await strip.show([off, { r: 0, g: 200, b: 0 }, off]);
  assert.equal(strip.frames.length, 2);
  assert.deepEqual(strip.frames[0].at, 10);
  assert.deepEqual(strip.frames[0].pixels[0], { r: 255, g: 100, b: 1 });
  assert.deepEqual(strip.frames[0].wire[0], { r: 128, g: 50, b: 1 });
  assert.deepEqual(strip.current(), [off, { r: 0, g: 100, b: 0 }, off]);
});

Deno.test("SimLedStrip.show() copies the frame so later mutation does not change history", async () => {
  const strip = new SimLedStrip({ count: 1 });
  const frame = [{ r: 1, g: 2, b: 3 }];
  await strip.show(frame);
  frame[0].r = 99;
  assert.equal(strip.frames[0].pixels[0].r, 1);
  assert.equal(strip.current()[0].r, 1);
});

Deno.test("SimLedStrip.show() rejects wrong lengths and bad channels", async () => {
  const strip = new SimLedStrip({ count: 2 });
  await assert.rejects(() => strip.show([off]), {
    name: "RangeError",
    message: "Cannot show LED frame: expected 2 pixels, got 1",
  });
  await assert.rejects(() => strip.show([off, { r: 256, g: 0, b: 0 }]), {
    message: "Cannot show LED frame: pixel 1 channel r is 256, not an integer 0..255",
  });
  await assert.rejects(() => strip.show([{ r: 0, g: 1.5, b: 0 }, off]), {
    message: "Cannot show LED frame: pixel 0 channel g is 1.5, not an integer 0..255",
  });
  assert.equal(strip.frames.length, 0);
  assert.throws(() => new SimLedStrip({ count: 2, brightness: 2 }), {
    message: "Cannot create LED strip: brightness 2 is outside 0..1",
  });
});

Deno.test("SimLedStrip keeps a bounded history and counts what it drops", async () => {
  const strip = new SimLedStrip({ count: 1, historyMax: 2 });
  for (let i = 0; i < 5; i++) await strip.show([{ r: i, g: 0, b: 0 }]);
  assert.deepEqual(strip.frames.map((f) => f.pixels[0].r), [3, 4]);
  assert.equal(strip.droppedFrames, 3);
});
