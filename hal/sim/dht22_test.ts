import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { DHT22_MIN_INTERVAL_MS, SimDht22 } from "./dht22.ts";
import { SimEnvironment } from "./environment.ts";

function setup(noise = 0.2) {
  let now = 0;
  const clock = () => now;
  const environment = new SimEnvironment({ clock });
  const dht = new SimDht22({ environment, pins: [4], noise, clock });
  return { dht, environment, advance: (ms: number) => now += ms };
}

Deno.test("SimDht22.read() follows the environment within noise at 0.1 resolution", async () => {
  const { dht, environment, advance } = setup();
  for (let i = 0; i < 20; i++) {
    advance(DHT22_MIN_INTERVAL_MS);
    const room = environment.now();
    const r = await dht.read(4);
    assert.ok(
      Math.abs(r.temperatureC - room.temperatureC) <= 0.25,
      `${r.temperatureC} vs ${room.temperatureC}`,
    );
    assert.ok(Math.abs(r.humidityPct - room.humidityPct) <= 0.25, `${r.humidityPct} vs ${room.humidityPct}`);
    assert.equal(Math.round(r.temperatureC * 10) / 10, r.temperatureC);
  }
  environment.set({ temperatureC: 31, humidityPct: 99.95 });
  advance(DHT22_MIN_INTERVAL_MS);
  const hot = await new SimDht22({ environment, noise: 0, clock: () => 0 }).read(4);
  assert.deepEqual(hot, { temperatureC: 31, humidityPct: 100 });
});

Deno.test("SimDht22.read() returns the last sample when polled faster than every 2 s", async () => {
  const { dht, environment, advance } = setup(0);
  const first = await dht.read(4);
  environment.set({ temperatureC: first.temperatureC + 5 });
  advance(DHT22_MIN_INTERVAL_MS - 1);
  assert.deepEqual(await dht.read(4), first);
  advance(1);
  assert.equal((await dht.read(4)).temperatureC, Math.round((first.temperatureC + 5) * 10) / 10);
});

Deno.test("SimDht22.read() times out on a pin without a sensor", async () => {
  const { dht } = setup();
  await assert.rejects(() => dht.read(5), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "timeout");
    assert.equal(e.message, "Cannot read DHT22 on GPIO 5 (no sensor answered): timed out");
    return true;
  });
});

Deno.test("SimDht22.injectFault() fails the next reads in order, then recovers", async () => {
  const { dht } = setup();
  dht.injectFault("checksum", "timeout");
  await assert.rejects(() => dht.read(4), {
    code: "io",
    message: "Cannot read DHT22 on GPIO 4 (checksum mismatch): input/output error",
  });
  await assert.rejects(() => dht.read(4), { code: "timeout" });
  assert.equal(typeof (await dht.read(4)).temperatureC, "number");
  assert.equal(dht.reads, 3);
});

Deno.test("SimDht22 noise is reproducible for a seed", async () => {
  const environment = new SimEnvironment({ clock: () => 0 });
  const a = new SimDht22({ environment, seed: 7, clock: () => 0 });
  const b = new SimDht22({ environment, seed: 7, clock: () => 0 });
  assert.deepEqual(await a.read(4), await b.read(4));
});
