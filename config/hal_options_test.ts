import assert from "node:assert/strict";
import { halOptionsFrom } from "./hal_options.ts";
import { parseConfig } from "./schema.ts";

Deno.test("halOptionsFrom() maps [hal], [leds], [buzzer] and [sensors]", () => {
  const config = parseConfig({
    hal: { i2c_buses: [0, 1], gpio_chip: 4 },
    leds: { count: 8, pin: 12, brightness: 0.5 },
    buzzer: { pin: 22, active_low: false },
    sensors: { dht22_pin: 5 },
  }, "inline");
  assert.deepEqual(halOptionsFrom(config), {
    i2cBuses: [0, 1],
    gpioChip: 4,
    ledCount: 8,
    ledPin: 12,
    ledBrightness: 0.5,
    buzzerPin: 22,
    buzzerActiveLow: false,
    dht22Pins: [5],
  });
});
