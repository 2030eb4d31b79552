/**
 * A pure TypeScript BME680 driver over an address-bound I2C device.
 *
 * Compensation is the datasheet's *integer* (fixed-point) version — BST-BME680-DS001 §3.3 and
 * Bosch's reference driver `BME680_driver` (`calc_temperature`, `calc_pressure`,
 * `calc_humidity`, `calc_gas_resistance`, `calc_heater_res`, `calc_heater_dur`) — reproduced
 * with the same shifts, truncating divisions and 64-bit gas arithmetic (BigInt).
 *
 * Registers are written one per transfer: the chip takes register/data pairs, while
 * SMBus-only adapters (and i2c-stub) would auto-increment a longer write. The transfers of one
 * step (id check, reset and calibration, trigger-wait-read) go as one I2C transaction: one round
 * trip to the broker in the sandbox, the waits kept by the broker between the transfers.
 *
 * @module
 */

/**
 * The slice of the SDK's `I2cDeviceCap` the driver uses. Declared here (structurally equal)
 * so this file has no type-only import edge, which the plugin bundler's graph check refuses.
 */
export interface I2cRegisters {
  readonly address: number;
  readRegister(reg: number, length: number): Promise<Uint8Array>;
  writeRegister(reg: number, ...data: number[]): Promise<void>;
  transaction(steps: ({ write?: number[]; read?: number } | { delayMs: number })[]): Promise<Uint8Array[]>;
}

const write = (reg: number, value: number) => ({ write: [reg, value] });
const read = (reg: number, length: number) => ({ write: [reg], read: length });

/** The slice of the SDK's `ClockCap` the driver uses. */
export interface Sleeper {
  sleep(ms: number): Promise<void>;
}

/** Register addresses used by the driver (datasheet §5.2). */
export const REG = {
  resHeatVal: 0x00,
  resHeatRange: 0x02,
  rangeSwErr: 0x04,
  field0: 0x1d,
  resHeat0: 0x5a,
  gasWait0: 0x64,
  ctrlGas1: 0x71,
  ctrlHum: 0x72,
  ctrlMeas: 0x74,
  config: 0x75,
  coeff1: 0x89,
  chipId: 0xd0,
  reset: 0xe0,
  variantId: 0xf0,
  coeff2: 0xe1,
} as const;

export const CHIP_ID = 0x61;
/**
 * `variant_id` (0xF0) of a BME680 (Bosch `BME68X_VARIANT_GAS_LOW`). The BME688 shares chip id
 * 0x61 but reports 0x01 (`GAS_HIGH`): its gas ADC, range and heater registers differ, so the
 * BME680 gas formula would give wrong resistances on it.
 */
export const VARIANT_BME680 = 0x00;
/** `variant_id` of a BME688 (`BME68X_VARIANT_GAS_HIGH`). */
export const VARIANT_BME688 = 0x01;
/** The chip needs up to 10 ms after a soft reset before it answers reliably. */
export const RESET_WAIT_MS = 10;
/** Period between status polls while the chip is still measuring (Bosch `BME680_POLL_PERIOD_MS`). */
export const POLL_PERIOD_MS = 10;
/** Status polls before giving up on a measurement. */
export const POLL_TRIES = 10;

/** Oversampling codes: skip, 1x, 2x, 4x, 8x, 16x. */
export type Oversampling = 0 | 1 | 2 | 3 | 4 | 5;

/** Calibration parameters as the datasheet names them. */
export interface Calibration {
  parT1: number;
  parT2: number;
  parT3: number;
  parP1: number;
  parP2: number;
  parP3: number;
  parP4: number;
  parP5: number;
  parP6: number;
  parP7: number;
  parP8: number;
  parP9: number;
  parP10: number;
  parH1: number;
  parH2: number;
  parH3: number;
  parH4: number;
  parH5: number;
  parH6: number;
  parH7: number;
  parGh1: number;
  parGh2: number;
  parGh3: number;
  resHeatRange: number;
  resHeatVal: number;
  rangeSwErr: number;
}

/** Raw field 0 contents. */
export interface RawField {
  newData: boolean;
  tempAdc: number;
  pressAdc: number;
  humAdc: number;
  gasAdc: number;
  gasRange: number;
  gasValid: boolean;
  heatStable: boolean;
}

/** One compensated measurement. */
export interface Measurement {
  /** °C, 0.01 resolution. */
  temperatureC: number;
  /** hPa. */
  pressureHpa: number;
  /** %RH, 0..100. */
  humidityPct: number;
  /** Ω, or null when no valid, heat-stable gas conversion happened. */
  gasResistanceOhm: number | null;
  heatStable: boolean;
}

const s8 = (v: number) => (v << 24) >> 24;
const s16 = (lo: number, hi: number) => (((hi << 8) | lo) << 16) >> 16;
const u16 = (lo: number, hi: number) => (hi << 8) | lo;
/** C's arithmetic `>>` on a 64-bit value (floor division by 2^n). */
const shr = (x: number, n: number) => Math.floor(x / 2 ** n);
/** C's truncating integer division. */
const div = (a: number, b: number) => Math.trunc(a / b);

/**
 * Decode the two calibration blocks and the three single registers (Bosch `get_calib_data`).
 *
 * @param c1 25 bytes from 0x89
 * @param c2 16 bytes from 0xE1
 * @param resHeatRange register 0x02, resHeatVal register 0x00, rangeSwErr register 0x04
 */
export function parseCalibration(
  c1: Uint8Array,
  c2: Uint8Array,
  regs: { resHeatRange: number; resHeatVal: number; rangeSwErr: number },
): Calibration {
  if (c1.length !== 25 || c2.length !== 16) {
    throw new RangeError(
      `Cannot parse BME680 calibration: got ${c1.length} + ${c2.length} bytes, expected 25 + 16`,
    );
  }
  const a = (reg: number) => reg >= 0xe1 ? c2[reg - 0xe1] : c1[reg - 0x89];
  return {
    parT1: u16(a(0xe9), a(0xea)),
    parT2: s16(a(0x8a), a(0x8b)),
    parT3: s8(a(0x8c)),
    parP1: u16(a(0x8e), a(0x8f)),
    parP2: s16(a(0x90), a(0x91)),
    parP3: s8(a(0x92)),
    parP4: s16(a(0x94), a(0x95)),
    parP5: s16(a(0x96), a(0x97)),
    parP6: s8(a(0x99)),
    parP7: s8(a(0x98)),
    parP8: s16(a(0x9c), a(0x9d)),
    parP9: s16(a(0x9e), a(0x9f)),
    parP10: a(0xa0),
    // H1 and H2 share register 0xE2: H1 takes its low nibble, H2 its high nibble.
    parH1: (a(0xe3) << 4) | (a(0xe2) & 0x0f),
    parH2: (a(0xe1) << 4) | (a(0xe2) >> 4),
    parH3: s8(a(0xe4)),
    parH4: s8(a(0xe5)),
    parH5: s8(a(0xe6)),
    parH6: a(0xe7),
    parH7: s8(a(0xe8)),
    parGh1: s8(a(0xed)),
    parGh2: s16(a(0xeb), a(0xec)),
    parGh3: s8(a(0xee)),
    resHeatRange: (regs.resHeatRange & 0x30) >> 4,
    resHeatVal: s8(regs.resHeatVal),
    rangeSwErr: div(s8(regs.rangeSwErr & 0xf0), 16),
  };
}

/** t_fine and temperature in 0.01 °C (integer `calc_temperature`). */
export function compensateTemperature(adc: number, c: Calibration): { tFine: number; centiC: number } {
  const var1 = shr(adc, 3) - c.parT1 * 2;
  const var2 = shr(var1 * c.parT2, 11);
  let var3 = shr(shr(var1, 1) * shr(var1, 1), 12);
  var3 = shr(var3 * (c.parT3 * 16), 14);
  const tFine = var2 + var3;
  return { tFine, centiC: shr(tFine * 5 + 128, 8) };
}

/** Pressure in Pa (integer `calc_pressure`, datasheet branch on 2^30). */
export function compensatePressure(adc: number, tFine: number, c: Calibration): number {
  let var1 = shr(tFine, 1) - 64000;
  let var2 = shr(shr(shr(var1, 2) * shr(var1, 2), 11) * c.parP6, 2);
  var2 = var2 + var1 * c.parP5 * 2;
  var2 = shr(var2, 2) + c.parP4 * 65536;
  var1 = shr(shr(shr(var1, 2) * shr(var1, 2), 13) * (c.parP3 * 32), 3) + shr(c.parP2 * var1, 1);
  var1 = shr(var1, 18);
  var1 = shr((32768 + var1) * c.parP1, 15);
  let p = 1048576 - adc;
  p = (p - shr(var2, 12)) * 3125;
  p = p >= 2 ** 30 ? div(p, var1) * 2 : div(p * 2, var1);
  var1 = shr(c.parP9 * shr(shr(p, 3) * shr(p, 3), 13), 12);
  var2 = shr(shr(p, 2) * c.parP8, 13);
  const var3 = shr(shr(p, 8) * shr(p, 8) * shr(p, 8) * c.parP10, 17);
  return p + shr(var1 + var2 + var3 + c.parP7 * 128, 4);
}

/** Humidity in 0.001 %RH, clamped to 0..100000 (integer `calc_humidity`). */
export function compensateHumidity(adc: number, tFine: number, c: Calibration): number {
  const t = shr(tFine * 5 + 128, 8);
  const var1 = adc - c.parH1 * 16 - shr(div(t * c.parH3, 100), 1);
  const var2 = shr(
    c.parH2 * (div(t * c.parH4, 100) + div(shr(t * div(t * c.parH5, 100), 6), 100) + (1 << 14)),
    10,
  );
  const var3 = var1 * var2;
  let var4 = c.parH6 * 128;
  var4 = shr(var4 + div(t * c.parH7, 100), 4);
  const var5 = shr(shr(var3, 14) * shr(var3, 14), 10);
  const var6 = shr(var4 * var5, 1);
  const hum = shr(shr(var3 + var6, 10) * 1000, 12);
  return Math.min(100000, Math.max(0, hum));
}

/** Bosch's integer gas range tables (`lookupTable1`, `lookupTable2`). */
const GAS_T1 = [
  2147483647,
  2147483647,
  2147483647,
  2147483647,
  2147483647,
  2126008810,
  2147483647,
  2130303777,
  2147483647,
  2147483647,
  2143188679,
  2136746228,
  2147483647,
  2126008810,
  2147483647,
  2147483647,
].map(BigInt);
const GAS_T2 = [
  4096000000,
  2048000000,
  1024000000,
  512000000,
  255744255,
  127110228,
  64000000,
  32258064,
  16016016,
  8000000,
  4000000,
  2000000,
  1000000,
  500000,
  250000,
  125000,
].map(BigInt);

/** Gas resistance in Ω (integer `calc_gas_resistance`, 64-bit intermediates). */
export function compensateGas(adc: number, range: number, c: Calibration): number {
  const var1 = ((1340n + 5n * BigInt(c.rangeSwErr)) * GAS_T1[range]) >> 16n;
  const var2 = (BigInt(adc) << 15n) - 16777216n + var1;
  const var3 = (GAS_T2[range] * var1) >> 9n;
  return Number((var3 + (var2 >> 1n)) / var2);
}

/** res_heat_x code for a target heater temperature (integer `calc_heater_res`). */
export function heaterResistance(targetC: number, ambientC: number, c: Calibration): number {
  const temp = Math.min(400, Math.max(200, Math.round(targetC)));
  const amb = Math.round(ambientC);
  const var1 = div(amb * c.parGh3, 1000) * 256;
  const var2 = (c.parGh1 + 784) * div(div((c.parGh2 + 154009) * temp * 5, 100) + 3276800, 10);
  const var3 = var1 + div(var2, 2);
  const var4 = div(var3, c.resHeatRange + 4);
  const var5 = 131 * c.resHeatVal + 65536;
  const x100 = (div(var4, var5) - 250) * 34;
  return div(x100 + 50, 100) & 0xff;
}

/** gas_wait_x code for a heating time: 6-bit value times 1/4/16/64 (integer `calc_heater_dur`). */
export function heaterDuration(ms: number): number {
  let dur = Math.round(ms);
  if (dur >= 0xfc0) return 0xff;
  let factor = 0;
  while (dur > 0x3f) {
    dur = div(dur, 4);
    factor++;
  }
  return dur + factor * 64;
}

/** Decode a gas_wait_x code back to milliseconds. */
export function decodeHeaterDuration(code: number): number {
  return (code & 0x3f) * 4 ** (code >> 6);
}

/** TPH conversion time in ms for the given oversampling (Bosch `get_profile_dur`, without the heater). */
export function tphDurationMs(osT: Oversampling, osP: Oversampling, osH: Oversampling): number {
  const cycles = [0, 1, 2, 4, 8, 16];
  const us = (cycles[osT] + cycles[osP] + cycles[osH]) * 1963 + 477 * 4 + 477 * 5 + 500;
  return Math.floor(us / 1000) + 1;
}

/** Decode the 15 bytes of field 0 (0x1D..0x2B). */
export function parseField(f: Uint8Array): RawField {
  return {
    newData: (f[0] & 0x80) !== 0,
    pressAdc: (f[2] << 12) | (f[3] << 4) | (f[4] >> 4),
    tempAdc: (f[5] << 12) | (f[6] << 4) | (f[7] >> 4),
    humAdc: (f[8] << 8) | f[9],
    gasAdc: (f[13] << 2) | (f[14] >> 6),
    gasRange: f[14] & 0x0f,
    gasValid: (f[14] & 0x20) !== 0,
    heatStable: (f[14] & 0x10) !== 0,
  };
}

/** Driver options. */
export interface Bme680Options {
  heaterTempC: number;
  heaterMs: number;
  osT: Oversampling;
  osP: Oversampling;
  osH: Oversampling;
}

const DEFAULTS: Bme680Options = { heaterTempC: 320, heaterMs: 150, osT: 4, osP: 3, osH: 2 };

/**
 * The chip: `init()` once (id check, soft reset, calibration), then `measure()` per poll.
 *
 * @example
 * ```ts ignore
 * const bme = new Bme680(ctx.i2c!.device(0x77), ctx.clock);
 * await bme.init();
 * const { temperatureC } = await bme.measure();
 * ```
 */
export class Bme680 {
  readonly #dev: I2cRegisters;
  readonly #clock: Sleeper;
  readonly #options: Bme680Options;
  #calibration: Calibration | null = null;
  #ambientC = 25;

  constructor(dev: I2cRegisters, clock: Sleeper, options: Partial<Bme680Options> = {}) {
    this.#dev = dev;
    this.#clock = clock;
    this.#options = { ...DEFAULTS, ...options };
  }

  /** The calibration read by {@link Bme680.init}. */
  get calibration(): Calibration | null {
    return this.#calibration;
  }

  /**
   * Check the chip id and variant, soft-reset, wait, and read the calibration.
   *
   * @throws {Error} when the device at the address is not a BME680 (another chip, a BME688)
   */
  async init(): Promise<void> {
    const at = `0x${this.#dev.address.toString(16).padStart(2, "0")}`;
    const [[id], [variant]] = await this.#dev.transaction([read(REG.chipId, 1), read(REG.variantId, 1)]);
    if (id !== CHIP_ID) {
      throw new Error(
        `Cannot start BME680 at ${at}: chip id is 0x${id.toString(16).padStart(2, "0")}, expected 0x61`,
      );
    }
    if (variant !== VARIANT_BME680) {
      const what = variant === VARIANT_BME688 ? "a BME688" : "an unknown BME68x variant";
      throw new Error(
        `Cannot start BME680 at ${at}: variant id is 0x${
          variant.toString(16).padStart(2, "0")
        } (${what}); only the BME680 (variant 0x00) gas compensation is implemented`,
      );
    }
    const [, , c1, c2, [resHeatRange], [resHeatVal], [rangeSwErr]] = await this.#dev.transaction([
      write(REG.reset, 0xb6),
      { delayMs: RESET_WAIT_MS },
      read(REG.coeff1, 25),
      read(REG.coeff2, 16),
      read(REG.resHeatRange, 1),
      read(REG.resHeatVal, 1),
      read(REG.rangeSwErr, 1),
    ]);
    this.#calibration = parseCalibration(c1, c2, { resHeatRange, resHeatVal, rangeSwErr });
  }

  /**
   * One forced-mode measurement with the heater profile: configure, trigger, wait until
   * new data, compensate.
   *
   * @throws {Error} before {@link Bme680.init}, or when no new data arrives in time
   */
  async measure(): Promise<Measurement> {
    const c = this.#calibration;
    if (!c) throw new Error("Cannot measure with BME680: init() has not completed");
    const o = this.#options;
    const wait = heaterDuration(o.heaterMs);
    const steps = await this.#dev.transaction([
      write(REG.ctrlHum, o.osH),
      write(REG.resHeat0, heaterResistance(o.heaterTempC, this.#ambientC, c)),
      write(REG.gasWait0, wait),
      write(REG.ctrlGas1, 0x10), // run_gas, heater profile 0
      write(REG.ctrlMeas, (o.osT << 5) | (o.osP << 2) | 0x01), // forced mode
      // The chip converts T, P, H, then heats the plate for gas_wait before the gas conversion.
      { delayMs: tphDurationMs(o.osT, o.osP, o.osH) + decodeHeaterDuration(wait) },
      read(REG.field0, 15),
    ]);
    let field = steps[6];
    for (let tries = 1;; tries++) {
      const raw = parseField(field);
      if (raw.newData) return this.#compensate(raw, c);
      if (tries >= POLL_TRIES) break;
      await this.#clock.sleep(POLL_PERIOD_MS);
      field = await this.#dev.readRegister(REG.field0, 15);
    }
    throw new Error(
      `Cannot read BME680 at 0x${this.#dev.address.toString(16)}: no new data after ${POLL_TRIES} polls`,
    );
  }

  #compensate(raw: RawField, c: Calibration): Measurement {
    const { tFine, centiC } = compensateTemperature(raw.tempAdc, c);
    const temperatureC = centiC / 100;
    this.#ambientC = temperatureC;
    const gasOk = raw.gasValid && raw.heatStable;
    return {
      temperatureC,
      pressureHpa: compensatePressure(raw.pressAdc, tFine, c) / 100,
      humidityPct: compensateHumidity(raw.humAdc, tFine, c) / 1000,
      gasResistanceOhm: gasOk ? compensateGas(raw.gasAdc, raw.gasRange, c) : null,
      heatStable: raw.heatStable,
    };
  }
}
