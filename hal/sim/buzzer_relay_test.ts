import assert from "node:assert/strict";
import { SimBuzzerRelay } from "./buzzer_relay.ts";
import { SimGpioChip } from "./gpio_chip.ts";

Deno.test("SimBuzzerRelay drives the pin low to sound an active-low relay", () => {
  const chip = new SimGpioChip();
  const buzzer = new SimBuzzerRelay({ pin: 17, gpio: chip, clock: () => 0 });
  assert.equal(chip.level(17), true, "idle level is high");
  assert.equal(chip.holder(17), "buzzer");
  buzzer.on(true);
  assert.equal(buzzer.sounding, true);
  assert.equal(chip.level(17), false);
  buzzer.close();
  assert.equal(chip.level(17), true);
  assert.equal(chip.holder(17), undefined);
});

Deno.test("SimBuzzerRelay active-high drives the pin high to sound", () => {
  const buzzer = new SimBuzzerRelay({ pin: 17, activeLow: false, clock: () => 0 });
  assert.equal(buzzer.level, false);
  buzzer.on(true);
  assert.equal(buzzer.level, true);
  buzzer.close();
});

Deno.test("SimBuzzerRelay records edges so a triple-beep pattern can be checked", () => {
  let now = 0;
  const buzzer = new SimBuzzerRelay({ pin: 17, clock: () => now });
  for (let i = 0; i < 3; i++) {
    buzzer.on(true);
    now += 100;
    buzzer.on(false);
    now += 100;
  }
  buzzer.on(false); // no change, no edge
  assert.equal(buzzer.edges.length, 6);
  assert.deepEqual(buzzer.edges[0], { at: 0, sounding: true, level: false });
  assert.deepEqual(buzzer.pulses(), [
    { start: 0, durationMs: 100 },
    { start: 200, durationMs: 100 },
    { start: 400, durationMs: 100 },
  ]);
  buzzer.close();
});

Deno.test("SimBuzzerRelay refuses a pin another consumer holds", () => {
  const chip = new SimGpioChip();
  chip.requestInput(17, "button");
  assert.throws(() => new SimBuzzerRelay({ pin: 17, gpio: chip }), {
    code: "bus_busy",
    message:
      'Cannot request GPIO line 17 of gpiochip0 for "buzzer": line 17 is held by consumer "button": bus busy',
  });
  chip.close();
});
