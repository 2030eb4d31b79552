import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import type { Hal } from "../mod.ts";
import { LinuxHal, openPty } from "./mod.ts";
import { closeFd } from "./_libc.ts";

const options = { i2cBuses: [1], gpioChip: 99, ledCount: 3, ledPin: 10, ledBrightness: 0.5, buzzerPin: 17 };

Deno.test("LinuxHal opens nothing until used and names missing devices", () => {
  const hal: Hal = new LinuxHal({ ...options, spiBus: 9 });
  try {
    assert.equal(hal.backend, "linux");
    assert.equal(hal.leds.count, 3);
    assert.throws(() => hal.i2c(42), /^HalError: Cannot open I2C bus 42 \(\/dev\/i2c-42\): no such device/);
    assert.throws(() => hal.gpio(99), /^HalError: Cannot open GPIO chip \/dev\/gpiochip99: no such device/);
    assert.throws(() => hal.buzzer.on(true), HalError);
    assert.throws(() => hal.spi(9, 0), /^HalError: Cannot open SPI device \/dev\/spidev9.0: no such device/);
  } finally {
    hal.close();
  }
});

Deno.test("LinuxHal.uart() opens a tty once and close() releases it", () => {
  const { master, slavePath } = openPty();
  const hal = new LinuxHal(options);
  try {
    const u = hal.uart(slavePath, 115200);
    assert.equal(hal.uart(slavePath), u);
  } finally {
    hal.close();
    closeFd(master);
  }
});

Deno.test("LinuxHal.leds fails with the SPI node it tried when spidev is missing", async () => {
  const hal = new LinuxHal({ ...options, spiBus: 8 });
  try {
    await assert.rejects(
      hal.leds.show([{ r: 1, g: 1, b: 1 }, { r: 0, g: 0, b: 0 }, { r: 0, g: 0, b: 0 }]),
      /\/dev\/spidev8.0/,
    );
  } finally {
    hal.close();
  }
});
