import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { SimBme680 } from "./bme680.ts";
import { SimEnvironment } from "./environment.ts";

function setup() {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const environment = new SimEnvironment({ seed: 3, clock });
  const chip = new SimBme680({ environment, clock });
  const w = (reg: number, value: number) => chip.transfer(Uint8Array.of(reg, value), 0);
  const r = (reg: number, len: number) => chip.transfer(Uint8Array.of(reg), len);
  return { chip, environment, w, r, advance: (ms: number) => now += ms };
}

const s8 = (v: number) => (v << 24) >> 24;
const s16 = (lo: number, hi: number) => ((hi << 8 | lo) << 16) >> 16;

/** Float compensation straight from the datasheet, reading calibration off the registers. */
function decode(r: (reg: number, len: number) => Uint8Array) {
  const a = r(0x89, 25);
  const b = r(0xe1, 16);
  const at = (reg: number) => reg >= 0xe1 ? b[reg - 0xe1] : a[reg - 0x89];
  const t1 = at(0xe9) | at(0xea) << 8, t2 = s16(at(0x8a), at(0x8b)), t3 = s8(at(0x8c));
  const p1 = at(0x8e) | at(0x8f) << 8, p2 = s16(at(0x90), at(0x91)), p3 = s8(at(0x92));
  const p4 = s16(at(0x94), at(0x95)), p5 = s16(at(0x96), at(0x97)), p6 = s8(at(0x99)), p7 = s8(at(0x98));
  const p8 = s16(at(0x9c), at(0x9d)), p9 = s16(at(0x9e), at(0x9f)), p10 = at(0xa0);
  const h1 = at(0xe3) << 4 | (at(0xe2) & 0x0f), h2 = at(0xe1) << 4 | at(0xe2) >> 4;
  const h3 = s8(at(0xe4)), h4 = s8(at(0xe5)), h5 = s8(at(0xe6)), h6 = at(0xe7), h7 = s8(at(0xe8));
  const rse = s8(r(0x04, 1)[0] & 0xf0) / 16;
  const f = r(0x1d, 15);
  const tAdc = f[5] << 12 | f[6] << 4 | f[7] >> 4;
  const pAdc = f[2] << 12 | f[3] << 4 | f[4] >> 4;
  const hAdc = f[8] << 8 | f[9];
  const gAdc = f[13] << 2 | f[14] >> 6;
  const range = f[14] & 0x0f;
  const tf = (tAdc / 16384 - t1 / 1024) * t2 + (tAdc / 131072 - t1 / 8192) ** 2 * t3 * 16;
  const temp = tf / 5120;
  let v1 = tf / 2 - 64000;
  let v2 = v1 * v1 * p6 / 131072 + v1 * p5 * 2;
  v2 = v2 / 4 + p4 * 65536;
  v1 = (p3 * v1 * v1 / 16384 + p2 * v1) / 524288;
  v1 = (1 + v1 / 32768) * p1;
  let p = ((1048576 - pAdc - v2 / 4096) * 6250) / v1;
  p += (p9 * p * p / 2147483648 + p * p8 / 32768 + (p / 256) ** 3 * p10 / 131072 + p7 * 128) / 16;
  const hv1 = hAdc - (h1 * 16 + h3 / 2 * temp);
  const hv2 = hv1 * (h2 / 262144 * (1 + h4 / 16384 * temp + h5 / 1048576 * temp * temp));
  const hum = hv2 + (h6 / 16384 + h7 / 2097152 * temp) * hv2 * hv2;
  const k1 = [1, 1, 1, 1, 1, 0.99, 1, 0.992, 1, 1, 0.998, 0.995, 1, 0.99, 1, 1][range];
  const gv1 = (1340 + 5 * rse) * k1;
  const gas = gv1 * (8e6 / 2 ** range) / (gAdc - 512 + gv1);
  return { status: f[0], temp, pressHpa: p / 100, hum, gas, gasLsb: f[14] };
}

/** The heater setup a driver would do: 320 °C / 150 ms in profile 0, T×8 P×4 H×2, forced. */
function configure(w: (reg: number, v: number) => void) {
  w(0x72, 0x02);
  w(0x5a, 113); // res_heat_0 for 320 °C with this calibration (see plugins/bme680)
  w(0x64, 0x65); // 37 × 4 = 148 ms
  w(0x71, 0x10); // run_gas, profile 0
  w(0x74, (4 << 5) | (3 << 2) | 0x01);
}

Deno.test("SimBme680 answers chip id 0x61 and its calibration layout", () => {
  const { r } = setup();
  assert.equal(r(0xd0, 1)[0], 0x61);
  const b = r(0xe1, 16);
  assert.equal(b[0xe9 - 0xe1] | b[0xea - 0xe1] << 8, 26086); // par_t1
  assert.equal(b[0xe3 - 0xe1] << 4 | (b[0xe2 - 0xe1] & 0x0f), 755); // par_h1 shares 0xE2
  assert.equal(b[0xe1 - 0xe1] << 4 | b[0xe2 - 0xe1] >> 4, 1029); // par_h2
  assert.equal((r(0x02, 1)[0] & 0x30) >> 4, 1); // res_heat_range
});

Deno.test("SimBme680 ignores writes to read-only registers and resets on 0xB6", () => {
  const { r, w, advance } = setup();
  w(0xd0, 0x12);
  assert.equal(r(0xd0, 1)[0], 0x61);
  w(0x72, 0x05);
  assert.equal(r(0x72, 1)[0], 0x05);
  w(0xe0, 0x00); // not the reset command
  assert.equal(r(0x72, 1)[0], 0x05);
  w(0xe0, 0xb6);
  assert.throws(() => r(0xd0, 1), (e) => e instanceof HalError && e.code === "address_nak");
  advance(2);
  assert.equal(r(0x72, 1)[0], 0x00);
  assert.deepEqual([...r(0x1d, 8)], [0, 0, 0x80, 0, 0, 0x80, 0, 0]);
});

Deno.test("SimBme680 forced mode shows measuring until the TPH and heater time elapsed", () => {
  const { chip, r, w, advance } = setup();
  configure(w);
  const duration = chip.measurementDurationMs();
  assert.equal(duration, 33 + 148);
  assert.equal(r(0x1d, 1)[0] & 0xe0, 0x60); // measuring + gas_measuring, no new_data
  assert.equal(r(0x74, 1)[0] & 0x03, 0x01);
  advance(duration - 1);
  assert.equal(r(0x1d, 1)[0] & 0x80, 0);
  advance(1);
  assert.equal(r(0x1d, 1)[0] & 0xe0, 0x80); // new_data only
  assert.equal(r(0x74, 1)[0] & 0x03, 0x00); // back to sleep
  assert.equal(chip.measurements, 1);
});

Deno.test("SimBme680 raw values invert the datasheet compensation back to the room", () => {
  const { environment, r, w, advance, chip } = setup();
  environment.set({ temperatureC: 23.4, humidityPct: 51.2, pressureHpa: 1002.7, gasResistanceOhm: 87_000 });
  configure(w);
  advance(chip.measurementDurationMs());
  const d = decode(r);
  assert.ok(Math.abs(d.temp - 23.4) < 0.01, `temperature ${d.temp}`);
  assert.ok(Math.abs(d.hum - 51.2) < 0.05, `humidity ${d.hum}`);
  assert.ok(Math.abs(d.pressHpa - 1002.7) < 0.05, `pressure ${d.pressHpa}`);
  assert.ok(Math.abs(d.gas / 87_000 - 1) < 0.01, `gas ${d.gas}`);
  assert.equal(d.gasLsb & 0x30, 0x30); // gas_valid + heat_stab
});

Deno.test("SimBme680 reports no heater stability without a heater profile", () => {
  const { r, w, advance, chip } = setup();
  w(0x72, 0x01);
  w(0x71, 0x10); // run_gas but res_heat_0 = 0, gas_wait_0 = 0
  w(0x74, (1 << 5) | (1 << 2) | 0x01);
  advance(chip.measurementDurationMs());
  const lsb = r(0x2b, 1)[0];
  assert.equal(lsb & 0x20, 0x20);
  assert.equal(lsb & 0x10, 0);
});

Deno.test("SimBme680 skips quantities whose oversampling is 0", () => {
  const { r, w, advance, chip } = setup();
  w(0x74, (1 << 5) | 0x01); // temperature only, no gas
  advance(chip.measurementDurationMs());
  const f = r(0x1d, 15);
  assert.deepEqual([f[2], f[3], f[4]], [0x80, 0, 0]);
  assert.deepEqual([f[8], f[9]], [0x80, 0]);
  assert.equal(f[14] & 0x20, 0); // no gas measured
  assert.notEqual(f[5], 0x80);
});

Deno.test("SimBme680 rejects addresses other than 0x76/0x77", () => {
  assert.throws(
    () => new SimBme680({ environment: new SimEnvironment(), address: 0x3c }),
    { name: "RangeError", message: "Cannot create BME680 model: address 0x3c is not 0x76 or 0x77" },
  );
});
