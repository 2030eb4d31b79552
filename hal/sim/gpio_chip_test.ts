import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { HalError } from "../errors.ts";
import { SimGpioChip } from "./gpio_chip.ts";

Deno.test("SimGpioChip output lines drive the level and inputs read it", () => {
  const chip = new SimGpioChip();
  const out = chip.requestOutput(17, "buzzer", true);
  assert.equal(chip.level(17), true);
  out.write(false);
  assert.equal(out.value, false);
  assert.equal(chip.level(17), false);
  const input = chip.requestInput(4, "dht22");
  assert.equal(input.read(), false);
  chip.inject(4, true);
  assert.equal(input.read(), true);
  chip.close();
});

Deno.test("SimGpioChip refuses a second holder naming the first consumer", () => {
  const chip = new SimGpioChip();
  const held = chip.requestInput(4, "dht22");
  assert.throws(() => chip.requestOutput(4, "rogue", false), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "bus_busy");
    assert.equal(
      e.message,
      'Cannot request GPIO line 4 of gpiochip0 for "rogue": line 4 is held by consumer "dht22": bus busy',
    );
    return true;
  });
  assert.equal(chip.holder(4), "dht22");
  held.release();
  assert.equal(chip.holder(4), undefined);
  chip.requestOutput(4, "rogue", false).release();
  assert.throws(() => held.read(), {
    code: "not_found",
    message: "Cannot read GPIO line 4 of gpiochip0 (line released): no such device",
  });
});

Deno.test("SimGpioChip rejects out-of-range lines, injection on outputs and use after close", () => {
  const chip = new SimGpioChip({ lines: 8, name: "gpiochip1" });
  assert.throws(() => chip.requestInput(8, "x"), {
    code: "not_found",
    message: "Cannot request GPIO line 8 of gpiochip1 (lines are 0..7): no such device",
  });
  assert.throws(() => chip.requestInput(-1, "x"), { code: "not_found" });
  chip.requestOutput(2, "led", false);
  assert.throws(() => chip.inject(2, true), {
    code: "bus_busy",
    message:
      'Cannot inject a level on GPIO line 2 of gpiochip1: line 2 is driven as output by consumer "led": bus busy',
  });
  chip.close();
  assert.throws(() => chip.requestInput(1, "x"), {
    message: "Cannot request GPIO line 1 of gpiochip1 (chip closed): no such device",
  });
  assert.throws(() => chip.requestEdge(1, "x", "up" as "rising"), { name: "RangeError" });
});

Deno.test("SimGpioChip.inject() wakes a waiting edge listener with the edge and timestamp", async () => {
  let now = 1000;
  const chip = new SimGpioChip({ clock: () => now });
  const line = chip.requestEdge(27, "button", "both");
  const waiting = line.waitEdge(5000);
  now = 1002.5;
  chip.inject(27, true);
  assert.deepEqual(await waiting, { line: 27, edge: "rising", timestampNs: 1_002_500_000n });
  chip.inject(27, true); // no change, no edge
  chip.inject(27, false);
  assert.equal((await line.waitEdge(0))?.edge, "falling");
  assert.equal(await line.waitEdge(0), null);
  chip.close();
});

Deno.test("SimGpioChip edge filter ignores the other edge", async () => {
  const chip = new SimGpioChip();
  const line = chip.requestEdge(5, "pir", "falling");
  chip.inject(5, true);
  assert.equal(await line.waitEdge(0), null);
  chip.inject(5, false);
  assert.equal((await line.waitEdge(0))?.edge, "falling");
  chip.close();
});

Deno.test("SimGpioChip.waitEdge() times out on fake time and release wakes waiters with null", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const chip = new SimGpioChip();
    const line = chip.requestEdge(6, "sensor", "rising");
    let result: unknown = "pending";
    line.waitEdge(100).then((e) => result = e);
    await clock.tickAsync(99);
    assert.equal(result, "pending");
    await clock.tickAsync(1);
    assert.equal(result, null);
    const second = line.waitEdge(1000);
    line.release();
    assert.equal(await second, null);
    chip.close();
  } finally {
    clock.uninstall();
  }
});
