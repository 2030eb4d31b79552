import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { I2cDevice } from "../i2c.ts";
import type { Hal } from "../mod.ts";
import { RegisterFileModel, SimEnvironment, SimHal, type SimHalOptions } from "./mod.ts";
import { SimBme680 } from "./bme680.ts";
import { SimSsd1306 } from "./ssd1306.ts";

const base: SimHalOptions = {
  i2cBuses: [1],
  gpioChip: 0,
  ledCount: 11,
  ledPin: 18,
  ledBrightness: 1,
  buzzerPin: 17,
};

Deno.test("SimHal attaches the models the composition root passes, per bus", async () => {
  const asked: number[] = [];
  const hal: Hal = new SimHal({
    ...base,
    i2cBuses: [1, 3],
    models: (bus) => {
      asked.push(bus);
      return bus === 1 ? [new RegisterFileModel(0x77), new RegisterFileModel(0x3c)] : [];
    },
  });
  assert.deepEqual(asked, [1, 3]);
  assert.equal(hal.backend, "sim");
  const dev = new I2cDevice(hal.i2c(1), 0x77);
  await dev.writeRegister(0x10, 5);
  assert.deepEqual([...await dev.readRegister(0x10, 1)], [5]);
  await assert.rejects(() => hal.i2c(3).transfer(0x77, Uint8Array.of(0), 1), { code: "address_nak" });
  assert.equal((hal as SimHal).simBus(1).transferCount(0x77), 2);
  hal.close();
});

Deno.test("SimHal refuses buses and chips that are not configured", () => {
  const hal = new SimHal(base);
  assert.throws(() => hal.i2c(2), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.message, "Cannot open I2C bus 2 (/dev/i2c-2; configured buses: 1): no such device");
    return true;
  });
  assert.throws(() => hal.gpio(1), {
    code: "not_found",
    message: "Cannot open GPIO chip 1 (/dev/gpiochip1): no such device",
  });
  hal.close();
});

Deno.test("SimHal sensors share one environment", async () => {
  let now = 0;
  const environment = new SimEnvironment({ clock: () => now });
  const hal = new SimHal({ ...base, environment, clock: () => now });
  assert.equal(hal.environment, environment);
  environment.set({ temperatureC: 30, cpuTemperatureC: 79 });
  now = 5000;
  assert.ok(Math.abs((await hal.dht22.read(4)).temperatureC - 30) <= 0.25);
  assert.equal(await hal.system.cpuTemperatureC(), 79);
  hal.close();
});

Deno.test("SimHal buzzer holds its GPIO pin and close() leaves it off", () => {
  const hal = new SimHal(base);
  const chip = hal.gpio(0);
  assert.equal(chip.holder(17), "buzzer");
  assert.throws(() => chip.requestOutput(17, "plugin", false), { code: "bus_busy" });
  hal.buzzer.on(true);
  assert.equal(chip.level(17), false);
  hal.close();
  assert.equal(hal.buzzer.sounding, false);
  assert.equal(hal.buzzer.edges.at(-1)?.level, true);
});

Deno.test("SimHal LED strip, SPI and UART follow the options and are reused", async () => {
  const hal = new SimHal({ ...base, ledCount: 3, ledBrightness: 0.5 });
  await hal.leds.show([{ r: 200, g: 0, b: 0 }, { r: 0, g: 0, b: 0 }, { r: 0, g: 0, b: 0 }]);
  assert.deepEqual(hal.leds.current()[0], { r: 100, g: 0, b: 0 });
  assert.equal(hal.spi(0, 0), hal.spi(0, 0));
  assert.deepEqual([...await hal.spi(0, 0).transfer(Uint8Array.of(7))], [7]);
  const uart = hal.uart("/dev/serial0", 9600);
  assert.equal(hal.uart("/dev/serial0"), uart);
  assert.equal(uart.baud, 9600);
  hal.close();
  await assert.rejects(() => hal.i2c(1).transfer(0x10, new Uint8Array(), 0), { code: "not_found" });
});

Deno.test("SimHal carries the BME680 and SSD1306 models on the shared environment, as main.ts wires them", async () => {
  let now = 0;
  const hal = new SimHal({
    ...base,
    clock: () => now,
    models: (bus, environment, clock) =>
      bus === 1 ? [new SimBme680({ environment, clock }), new SimSsd1306(0x3c)] : [],
  });
  now = 1000;
  const bme = new I2cDevice(hal.i2c(1), 0x77);
  assert.deepEqual([...await bme.readRegister(0xd0, 1)], [0x61]);
  await hal.i2c(1).transfer(0x3c, Uint8Array.of(0x00, 0xaf), 0); // display on
  assert.deepEqual(hal.simBus(1).addresses(), [0x3c, 0x77]);
  assert.equal(hal.simBus(1).counters(0x3c).bytesWritten, 2);
  hal.close();
});

Deno.test("SimHal honours an active-high buzzer", () => {
  const hal = new SimHal({ ...base, buzzerActiveLow: false });
  assert.equal(hal.gpio(0).level(17), false);
  hal.buzzer.on(true);
  assert.equal(hal.gpio(0).level(17), true);
  hal.close();
});
