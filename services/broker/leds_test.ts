import assert from "node:assert/strict";
import type { LedStrip, Rgb } from "../../hal/mod.ts";
import { LedBuffer, toHex } from "./leds.ts";

class RecordingStrip implements LedStrip {
  shows: Rgb[][] = [];
  constructor(readonly count: number) {}
  show(pixels: readonly Rgb[]): Promise<void> {
    this.shows.push(pixels.map((p) => ({ ...p })));
    return Promise.resolve();
  }
  current(): readonly Rgb[] {
    return this.shows.at(-1) ?? [];
  }
}

const sink = () => {
  const events: { type: string; data?: Record<string, unknown> }[] = [];
  return { events, emit: (type: string, data?: Record<string, unknown>) => void events.push({ type, data }) };
};

Deno.test("LedBuffer.set() changes nothing on the wire until sync()", async () => {
  const strip = new RecordingStrip(11);
  const leds = new LedBuffer(strip, sink());
  leds.set(2, { r: 255, g: 0, b: 0 });
  leds.set(3, { r: 0, g: 255, b: 0 });
  assert.equal(strip.shows.length, 0);
  await leds.sync();
  assert.equal(strip.shows.length, 1, "whole strip written once per sync");
  assert.deepEqual(strip.shows[0][2], { r: 255, g: 0, b: 0 });
  assert.deepEqual(strip.shows[0][3], { r: 0, g: 255, b: 0 });
  assert.equal(strip.shows[0].length, 11);
});

Deno.test("LedBuffer.sync() alternates the heartbeat on LED 0 and events only on change", async () => {
  const strip = new RecordingStrip(4);
  const events = sink();
  const leds = new LedBuffer(strip, events);
  await leds.sync();
  await leds.sync();
  assert.notDeepEqual(strip.shows[0][0], strip.shows[1][0]);
  assert.equal(events.events.filter((e) => e.type === "led.sync").length, 2);
  const noBeat = new LedBuffer(new RecordingStrip(4), events, { heartbeat: false });
  events.events.length = 0;
  await noBeat.sync();
  await noBeat.sync();
  assert.equal(events.events.length, 1, "an unchanged strip is not evented twice");
  assert.deepEqual(events.events[0].data, { leds: ["#000000", "#000000", "#000000", "#000000"] });
});

Deno.test("LedBuffer.set() names the bad index or channel", () => {
  const leds = new LedBuffer(new RecordingStrip(11), sink());
  assert.throws(() => leds.set(11, { r: 0, g: 0, b: 0 }), /Cannot set LED 11: the strip has LEDs 0\.\.10/);
  assert.throws(
    () => leds.set(1, { r: 256, g: 0, b: 0 }),
    /Cannot set LED 1: r must be an integer 0\.\.255, got 256/,
  );
});

Deno.test("LedBuffer.off() darkens the strip and toHex() formats colours", async () => {
  const strip = new RecordingStrip(3);
  const leds = new LedBuffer(strip, sink());
  leds.set(1, { r: 10, g: 20, b: 30 });
  await leds.off();
  assert.deepEqual(strip.current(), [{ r: 0, g: 0, b: 0 }, { r: 0, g: 0, b: 0 }, { r: 0, g: 0, b: 0 }]);
  assert.equal(toHex({ r: 255, g: 128, b: 1 }), "#ff8001");
});
