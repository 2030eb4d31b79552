import assert from "node:assert/strict";
import { SIM_BME680_CALIBRATION, SimBme680 } from "../../hal/sim/bme680.ts";
import { RegisterFileModel, SimEnvironment, SimI2cBus } from "../../hal/sim/mod.ts";
import type { I2cDeviceCap } from "../sdk/mod.ts";
import { FakeClock, runSteps } from "../_testing/harness.ts";
import {
  Bme680,
  decodeHeaterDuration,
  heaterDuration,
  heaterResistance,
  type Sleeper,
  tphDurationMs,
} from "./driver.ts";

function device(bus: SimI2cBus, address: number, clock: Sleeper): I2cDeviceCap {
  const transfer = (w: Uint8Array | number[], n: number) => bus.transfer(address, Uint8Array.from(w), n);
  return {
    address,
    transfer,
    readRegister: (reg, n) => transfer([reg], n),
    writeRegister: async (reg, ...data) => void await transfer([reg, ...data], 0),
    transaction: (steps) => runSteps(steps, transfer, clock.sleep),
  };
}

function rig(options: { smbusOnly?: boolean } = {}) {
  const clock = new FakeClock();
  const environment = new SimEnvironment({ seed: 11, clock: clock.now });
  const bus = new SimI2cBus(1, { smbusOnly: options.smbusOnly });
  const chip = new SimBme680({ environment, clock: clock.now });
  bus.attach(chip);
  return { clock, environment, bus, chip, bme: new Bme680(device(bus, 0x77, clock), clock) };
}

Deno.test("Bme680 integer compensation recovers the simulated room", async () => {
  const { environment, bme } = rig();
  await bme.init();
  const rooms = [
    { temperatureC: 21.3, humidityPct: 38.5, pressureHpa: 1013.2, gasResistanceOhm: 120_000 },
    { temperatureC: 28.9, humidityPct: 66.0, pressureHpa: 987.4, gasResistanceOhm: 45_000 },
    { temperatureC: 16.2, humidityPct: 24.1, pressureHpa: 1031.0, gasResistanceOhm: 310_000 },
  ];
  for (const room of rooms) {
    environment.set(room);
    const m = await bme.measure();
    assert.ok(
      Math.abs(m.temperatureC - room.temperatureC) <= 0.1,
      `temperature ${m.temperatureC} vs ${room.temperatureC}`,
    );
    assert.ok(
      Math.abs(m.humidityPct - room.humidityPct) <= 0.5,
      `humidity ${m.humidityPct} vs ${room.humidityPct}`,
    );
    assert.ok(
      Math.abs(m.pressureHpa - room.pressureHpa) <= 0.5,
      `pressure ${m.pressureHpa} vs ${room.pressureHpa}`,
    );
    assert.ok(m.gasResistanceOhm !== null && Math.abs(m.gasResistanceOhm / room.gasResistanceOhm - 1) < 0.03);
    assert.equal(m.heatStable, true);
  }
});

Deno.test("Bme680.init() soft-resets, waits 10 ms, and measure() waits for the conversion", async () => {
  const { clock, bme, chip } = rig();
  await bme.init();
  assert.deepEqual(clock.sleeps, [10]);
  await bme.measure();
  // 8x T + 4x P + 2x H = 33 ms, heater 150 ms encodes as 37 × 4 = 148 ms.
  assert.deepEqual(clock.sleeps, [10, 33 + 148]);
  assert.equal(chip.measurements, 1);
});

Deno.test("Bme680 heater codes follow the datasheet for the sim calibration", () => {
  assert.equal(heaterResistance(320, 22, SIM_BME680_CALIBRATION), 113);
  assert.equal(heaterDuration(150), 0x65);
  assert.equal(decodeHeaterDuration(0x65), 148);
  assert.equal(heaterDuration(63), 63);
  assert.equal(heaterDuration(5000), 0xff);
  assert.equal(tphDurationMs(1, 1, 1), 11);
});

Deno.test("Bme680.init() refuses a device whose chip id is not 0x61", async () => {
  const clock = new FakeClock();
  const bus = new SimI2cBus(1);
  const impostor = new RegisterFileModel(0x76);
  impostor.poke(0xd0, 0x60); // a BME280
  bus.attach(impostor);
  await assert.rejects(() => new Bme680(device(bus, 0x76, clock), clock).init(), {
    message: "Cannot start BME680 at 0x76: chip id is 0x60, expected 0x61",
  });
});

Deno.test("Bme680.measure() gives up when the chip never reports new data", async () => {
  const { bus, clock } = rig();
  // A clock whose sleeps last at most 2 ms: enough for the reset, never for a conversion.
  const slow = { now: clock.now, sleep: (ms: number) => clock.sleep(Math.min(ms, 2)) };
  const stuck = new Bme680(device(bus, 0x77, slow), slow);
  await stuck.init();
  await assert.rejects(() => stuck.measure(), {
    message: "Cannot read BME680 at 0x77: no new data after 10 polls",
  });
});

Deno.test("Bme680 works through an SMBus-only adapter (i2c-stub style)", async () => {
  const { bme } = rig({ smbusOnly: true });
  await bme.init();
  const m = await bme.measure();
  assert.ok(m.temperatureC > 10 && m.temperatureC < 35);
});

Deno.test("Bme680.measure() before init() names the problem", async () => {
  await assert.rejects(() => rig().bme.measure(), {
    message: "Cannot measure with BME680: init() has not completed",
  });
});

Deno.test("Bme680.init() refuses a BME688 and an unknown BME68x variant by the variant id register", async () => {
  for (const [variant, what] of [[0x01, "a BME688"], [0x07, "an unknown BME68x variant"]] as const) {
    const { chip, bme, bus } = rig();
    chip.poke(0xf0, variant); // same chip id 0x61, different variant_id
    const before = bus.transferCount(0x77);
    await assert.rejects(
      bme.init(),
      new Error(
        `Cannot start BME680 at 0x77: variant id is 0x${
          variant.toString(16).padStart(2, "0")
        } (${what}); only the BME680 (variant 0x00) gas compensation is implemented`,
      ),
    );
    assert.equal(bus.transferCount(0x77) - before, 2, "refused after reading the ids, before any reset");
    await assert.rejects(bme.measure(), /init\(\) has not completed/);
  }
  const { bme } = rig(); // the control: variant 0x00 starts
  await bme.init();
});
