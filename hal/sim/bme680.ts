/**
 * A register-level Bosch BME680 model: chip id, soft reset, calibration registers, forced
 * mode with a realistic measuring time, heater profile 0 and field 0 data.
 *
 * The raw ADC values are derived from a {@link SimEnvironment} by *inverting* the datasheet's
 * floating-point compensation (BST-BME680-DS001 §3.3, float version) with this model's fixed
 * calibration set, so a driver that applies the datasheet formulas recovers the room.
 *
 * @module
 */
import { HalError, hex } from "../errors.ts";
import type { SimEnvironment } from "./environment.ts";
import { RegisterFileModel } from "./model.ts";

/** Register addresses (datasheet §5.2 memory map). */
export const BME680_REG = {
  resHeatVal: 0x00,
  resHeatRange: 0x02,
  rangeSwErr: 0x04,
  measStatus0: 0x1d,
  pressMsb: 0x1f,
  tempMsb: 0x22,
  humMsb: 0x25,
  gasRMsb: 0x2a,
  gasRLsb: 0x2b,
  idacHeat0: 0x50,
  resHeat0: 0x5a,
  gasWait0: 0x64,
  ctrlGas0: 0x70,
  ctrlGas1: 0x71,
  ctrlHum: 0x72,
  ctrlMeas: 0x74,
  config: 0x75,
  coeff1: 0x89,
  chipId: 0xd0,
  reset: 0xe0,
  coeff2: 0xe1,
} as const;

/** The chip id every BME680 reports at 0xD0. */
export const BME680_CHIP_ID = 0x61;
/** Writing this to 0xE0 resets the chip. */
export const BME680_RESET_COMMAND = 0xb6;
/** Start-up time after a soft reset: the chip does not acknowledge before it (datasheet: 2 ms). */
export const BME680_STARTUP_MS = 2;

/** The fixed, plausible calibration set this model carries (values as a real part reports). */
export const SIM_BME680_CALIBRATION = {
  parT1: 26086,
  parT2: 26386,
  parT3: 3,
  parP1: 36244,
  parP2: -10458,
  parP3: 88,
  parP4: 6795,
  parP5: -137,
  parP6: 30,
  parP7: 35,
  parP8: -1525,
  parP9: -1911,
  parP10: 30,
  parH1: 755,
  parH2: 1029,
  parH3: 0,
  parH4: 45,
  parH5: 20,
  parH6: 120,
  parH7: -100,
  parGh1: -30,
  parGh2: -12832,
  parGh3: 18,
  resHeatRange: 1,
  resHeatVal: 48,
  rangeSwErr: 1,
} as const;

type Calibration = typeof SIM_BME680_CALIBRATION;

/** Gas range constants of the float formula (datasheet §3.4.1, table 16). */
const GAS_K1 = [1, 1, 1, 1, 1, 0.99, 1, 0.992, 1, 1, 0.998, 0.995, 1, 0.99, 1, 1];
const GAS_K2 = [
  8000000,
  4000000,
  2000000,
  1000000,
  499500.4995,
  248262.1648,
  125000,
  63004.03226,
  31281.28128,
  15625,
  7812.5,
  3906.25,
  1953.125,
  976.5625,
  488.28125,
  244.140625,
];

/** Measurement cycles per oversampling setting 0..5 (skip, 1x, 2x, 4x, 8x, 16x). */
const OS_CYCLES = [0, 1, 2, 4, 8, 16];

/** Registers the master may write (control page); everything else is read-only. */
function writable(reg: number): boolean {
  return (reg >= 0x50 && reg <= 0x75) || reg === BME680_REG.reset;
}

/** Options for {@link SimBme680}. */
export interface SimBme680Options {
  environment: SimEnvironment;
  /** Epoch milliseconds; default `Date.now`. Inject the fake clock in tests. */
  clock?: () => number;
  /** 0x76 or 0x77 (default). */
  address?: number;
}

/** A measurement in flight. */
interface Pending {
  doneAt: number;
  runGas: boolean;
}

/**
 * The BME680 as the bus sees it. I2C writes are register/data *pairs* (the chip does not
 * auto-increment on writes); reads auto-increment from the register pointer.
 *
 * @example
 * ```ts
 * import { SimBme680 } from "./bme680.ts";
 * import { SimEnvironment } from "./environment.ts";
 * const chip = new SimBme680({ environment: new SimEnvironment() });
 * console.assert(chip.transfer(Uint8Array.of(0xd0), 1)[0] === 0x61);
 * ```
 */
export class SimBme680 extends RegisterFileModel {
  readonly #env: SimEnvironment;
  readonly #clock: () => number;
  #pending: Pending | null = null;
  #startingUntil = -Infinity;
  /** Completed forced-mode measurements (tests, dashboards). */
  measurements = 0;

  /**
   * @throws {RangeError} when the address is not 0x76 or 0x77
   */
  constructor(options: SimBme680Options) {
    const address = options.address ?? 0x77;
    if (address !== 0x76 && address !== 0x77) {
      throw new RangeError(`Cannot create BME680 model: address ${hex(address)} is not 0x76 or 0x77`);
    }
    super(address);
    this.#env = options.environment;
    this.#clock = options.clock ?? Date.now;
    this.#powerOn();
  }

  /** One combined transfer: register/data pairs, then reads from the pointer. */
  override transfer(write: Uint8Array, readLen: number): Uint8Array {
    if (this.#clock() < this.#startingUntil) {
      throw new HalError(
        "address_nak",
        `Cannot transfer to I2C device ${hex(this.address)}: BME680 still starting after soft reset`,
      );
    }
    this.#advance();
    let i = 0;
    for (; i + 1 < write.length; i += 2) this.#writeRegister(write[i], write[i + 1]);
    if (i < write.length) this.pointer = write[i];
    else if (write.length >= 2) this.pointer = write[write.length - 2];
    const out = new Uint8Array(readLen);
    for (let n = 0; n < readLen; n++) {
      out[n] = this.regs[this.pointer];
      this.pointer = (this.pointer + 1) & 0xff;
    }
    return out;
  }

  /** Milliseconds a forced measurement takes with the current settings (Bosch `get_profile_dur`). */
  measurementDurationMs(): number {
    const osT = OS_CYCLES[Math.min(5, this.regs[BME680_REG.ctrlMeas] >> 5)];
    const osP = OS_CYCLES[Math.min(5, (this.regs[BME680_REG.ctrlMeas] >> 2) & 0x07)];
    const osH = OS_CYCLES[Math.min(5, this.regs[BME680_REG.ctrlHum] & 0x07)];
    const tphUs = (osT + osP + osH) * 1963 + 477 * 4 + 477 * 5 + 500;
    const tphMs = Math.floor(tphUs / 1000) + 1;
    return tphMs + (this.#runGas() ? this.#gasWaitMs() : 0);
  }

  /** Target heater temperature (°C) that res_heat of the selected profile encodes (float inverse). */
  heaterTargetC(): number {
    const c = SIM_BME680_CALIBRATION;
    const code = this.regs[BME680_REG.resHeat0 + this.#profile()];
    const amb = this.#env.now().temperatureC;
    const var1 = c.parGh1 / 16 + 49;
    const var2 = (c.parGh2 / 32768) * 0.0005 + 0.00235;
    const var3 = c.parGh3 / 1024;
    const var5 = (code / 3.4 + 25) * (1 + c.resHeatVal * 0.002) * ((4 + c.resHeatRange) / 4);
    const var4 = var5 - var3 * amb;
    return (var4 / var1 - 1) / var2;
  }

  #powerOn(): void {
    this.regs.fill(0);
    this.pointer = 0;
    this.#pending = null;
    const c = SIM_BME680_CALIBRATION;
    this.regs[BME680_REG.chipId] = BME680_CHIP_ID;
    // Upper bits of these registers are chip-specific and must be masked by the driver.
    this.regs[BME680_REG.resHeatVal] = c.resHeatVal & 0xff;
    this.regs[BME680_REG.resHeatRange] = 0x8a | ((c.resHeatRange & 0x03) << 4);
    this.regs[BME680_REG.rangeSwErr] = ((c.rangeSwErr & 0x0f) << 4) | 0x03;
    writeCalibration(this.regs, c);
    this.#clearData();
  }

  #clearData(): void {
    // Reset values of the data registers: 0x80000 / 0x8000 mean "skipped".
    this.regs.fill(0, BME680_REG.measStatus0, BME680_REG.gasRLsb + 1);
    this.regs[BME680_REG.pressMsb] = 0x80;
    this.regs[BME680_REG.tempMsb] = 0x80;
    this.regs[BME680_REG.humMsb] = 0x80;
  }

  #writeRegister(reg: number, value: number): void {
    if (!writable(reg)) return; // read-only: the chip ignores the write
    if (reg === BME680_REG.reset) {
      if (value === BME680_RESET_COMMAND) {
        this.#powerOn();
        this.#startingUntil = this.#clock() + BME680_STARTUP_MS;
      }
      return;
    }
    this.regs[reg] = value;
    if (reg === BME680_REG.ctrlMeas && (value & 0x03) === 0x01) this.#startForced();
  }

  #startForced(): void {
    const runGas = this.#runGas();
    this.#pending = { doneAt: this.#clock() + this.measurementDurationMs(), runGas };
    // new_data cleared, measuring (bit 5) and gas_measuring (bit 6) set while converting.
    this.regs[BME680_REG.measStatus0] = 0x20 | (runGas ? 0x40 : 0) | this.#profile();
  }

  /** Complete a measurement in flight when its time has come. */
  #advance(): void {
    const p = this.#pending;
    if (!p || this.#clock() < p.doneAt) return;
    this.#pending = null;
    this.#latch(p.runGas);
    this.regs[BME680_REG.measStatus0] = 0x80 | this.#profile();
    this.regs[BME680_REG.ctrlMeas] &= ~0x03; // back to sleep mode
    this.measurements++;
  }

  /** Latch raw ADC values for the room as it is now. */
  #latch(runGas: boolean): void {
    const room = this.#env.now();
    const c = SIM_BME680_CALIBRATION;
    const ctrlMeas = this.regs[BME680_REG.ctrlMeas];
    const tempAdc = ctrlMeas >> 5 ? temperatureAdc(room.temperatureC, c) : 0x80000;
    const tFine = tFineFor(tempAdc, c);
    const pressAdc = (ctrlMeas >> 2) & 0x07 ? pressureAdc(room.pressureHpa * 100, tFine, c) : 0x80000;
    const humAdc = this.regs[BME680_REG.ctrlHum] & 0x07
      ? humidityAdc(room.humidityPct, tFine / 5120, c)
      : 0x8000;
    put20(this.regs, BME680_REG.pressMsb, pressAdc);
    put20(this.regs, BME680_REG.tempMsb, tempAdc);
    this.regs[BME680_REG.humMsb] = humAdc >> 8;
    this.regs[BME680_REG.humMsb + 1] = humAdc & 0xff;
    if (!runGas) {
      this.regs[BME680_REG.gasRMsb] = 0;
      this.regs[BME680_REG.gasRLsb] = 0;
      return;
    }
    const target = this.heaterTargetC();
    const stable = target >= 200 && target <= 400 && this.#gasWaitMs() >= 20 &&
      (this.regs[BME680_REG.ctrlGas0] & 0x08) === 0;
    // The room's figure is what a plate at its (stable) profile temperature shows; a plate
    // that never got hot conducts far less, i.e. reads a much higher resistance.
    const cold = Math.max(25, Math.min(target, 150));
    const ohms = stable ? room.gasResistanceOhm : room.gasResistanceOhm * 2 ** ((320 - cold) / 60);
    const { adc, range } = gasAdc(ohms, c.rangeSwErr);
    this.regs[BME680_REG.gasRMsb] = adc >> 2;
    this.regs[BME680_REG.gasRLsb] = ((adc & 0x03) << 6) | 0x20 | (stable ? 0x10 : 0) | range;
  }

  #runGas(): boolean {
    return (this.regs[BME680_REG.ctrlGas1] & 0x10) !== 0;
  }

  #profile(): number {
    return Math.min(9, this.regs[BME680_REG.ctrlGas1] & 0x0f);
  }

  /** gas_wait_x: 6-bit value times 1, 4, 16 or 64 (bits 7:6). */
  #gasWaitMs(): number {
    const v = this.regs[BME680_REG.gasWait0 + this.#profile()];
    return (v & 0x3f) * 4 ** (v >> 6);
  }
}

function put20(regs: Uint8Array, at: number, adc: number): void {
  regs[at] = (adc >> 12) & 0xff;
  regs[at + 1] = (adc >> 4) & 0xff;
  regs[at + 2] = (adc & 0x0f) << 4;
}

function u16(regs: Uint8Array, at: number, v: number): void {
  regs[at] = v & 0xff;
  regs[at + 1] = (v >> 8) & 0xff;
}

/** Lay the calibration out as the chip does (Bosch API `get_calib_data` offsets). */
function writeCalibration(regs: Uint8Array, c: Calibration): void {
  u16(regs, 0x8a, c.parT2);
  regs[0x8c] = c.parT3 & 0xff;
  u16(regs, 0x8e, c.parP1);
  u16(regs, 0x90, c.parP2);
  regs[0x92] = c.parP3 & 0xff;
  u16(regs, 0x94, c.parP4);
  u16(regs, 0x96, c.parP5);
  regs[0x98] = c.parP7 & 0xff;
  regs[0x99] = c.parP6 & 0xff;
  u16(regs, 0x9c, c.parP8);
  u16(regs, 0x9e, c.parP9);
  regs[0xa0] = c.parP10 & 0xff;
  regs[0xe1] = (c.parH2 >> 4) & 0xff;
  regs[0xe2] = ((c.parH2 & 0x0f) << 4) | (c.parH1 & 0x0f);
  regs[0xe3] = (c.parH1 >> 4) & 0xff;
  regs[0xe4] = c.parH3 & 0xff;
  regs[0xe5] = c.parH4 & 0xff;
  regs[0xe6] = c.parH5 & 0xff;
  regs[0xe7] = c.parH6 & 0xff;
  regs[0xe8] = c.parH7 & 0xff;
  u16(regs, 0xe9, c.parT1);
  u16(regs, 0xeb, c.parGh2);
  regs[0xed] = c.parGh1 & 0xff;
  regs[0xee] = c.parGh3 & 0xff;
}

// --- float compensation (datasheet §3.3) and its inverses -------------------------------

function tFineFor(adc: number, c: Calibration): number {
  const var1 = (adc / 16384 - c.parT1 / 1024) * c.parT2;
  const d = adc / 131072 - c.parT1 / 8192;
  return var1 + d * d * (c.parT3 * 16);
}

function pressurePa(adc: number, tFine: number, c: Calibration): number {
  let var1 = tFine / 2 - 64000;
  let var2 = var1 * var1 * (c.parP6 / 131072);
  var2 = var2 + var1 * c.parP5 * 2;
  var2 = var2 / 4 + c.parP4 * 65536;
  var1 = ((c.parP3 * var1 * var1) / 16384 + c.parP2 * var1) / 524288;
  var1 = (1 + var1 / 32768) * c.parP1;
  let p = 1048576 - adc;
  p = ((p - var2 / 4096) * 6250) / var1;
  const v1 = (c.parP9 * p * p) / 2147483648;
  const v2 = p * (c.parP8 / 32768);
  const v3 = (p / 256) ** 3 * (c.parP10 / 131072);
  return p + (v1 + v2 + v3 + c.parP7 * 128) / 16;
}

function humidityPct(adc: number, tempC: number, c: Calibration): number {
  const var1 = adc - (c.parH1 * 16 + (c.parH3 / 2) * tempC);
  const var2 = var1 *
    ((c.parH2 / 262144) * (1 + (c.parH4 / 16384) * tempC + (c.parH5 / 1048576) * tempC * tempC));
  const var3 = c.parH6 / 16384;
  const var4 = c.parH7 / 2097152;
  return var2 + (var3 + var4 * tempC) * var2 * var2;
}

/** Smallest integer in [lo, hi] where the increasing `f` reaches `target` (bisection). */
function searchUp(f: (x: number) => number, target: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (f(mid) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function temperatureAdc(tempC: number, c: Calibration): number {
  return searchUp((adc) => tFineFor(adc, c) / 5120, tempC, 0, 0xfffff);
}

function pressureAdc(pa: number, tFine: number, c: Calibration): number {
  // Compensated pressure falls as the ADC value rises: search on the negated function.
  return searchUp((adc) => -pressurePa(adc, tFine, c), -pa, 0, 0xfffff);
}

function humidityAdc(pct: number, tempC: number, c: Calibration): number {
  return searchUp((adc) => humidityPct(adc, tempC, c), pct, 0, 0xffff);
}

/** 10-bit ADC and range whose float formula gives `ohms` (range picked to keep the ADC mid-scale). */
function gasAdc(ohms: number, rangeSwErr: number): { adc: number; range: number } {
  let best = { adc: 0, range: 0, err: Infinity };
  for (let range = 0; range < 16; range++) {
    const var1 = (1340 + 5 * rangeSwErr) * GAS_K1[range];
    const adc = Math.round(var1 * GAS_K2[range] / ohms - var1 + 512);
    if (adc < 0 || adc > 1023) continue;
    const err = Math.abs(adc - 512);
    if (err < best.err) best = { adc, range, err };
  }
  if (best.err === Infinity) {
    best = ohms > 1e6 ? { adc: 0, range: 0, err: 0 } : { adc: 1023, range: 15, err: 0 };
  }
  return { adc: best.adc, range: best.range };
}
