/**
 * Host drivers for timing-critical parts that a plugin cannot bit-bang from a sandbox:
 * DHT22 (µs bit timing), WS2812B strip (400 ns pulses), buzzer relay, and system information.
 *
 * @module
 */

/** One DHT22 measurement. */
export interface Dht22Reading {
  temperatureC: number;
  humidityPct: number;
}

/** DHT22 on a GPIO pin. */
export interface Dht22Driver {
  /** @throws {HalError} `timeout` when the sensor does not answer, `io` on a bad checksum */
  read(pin: number): Promise<Dht22Reading>;
}

/** An RGB colour, each channel 0..255. */
export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** A WS2812B strip: the whole strip is written at once. */
export interface LedStrip {
  readonly count: number;
  /** Push all pixels to the wire (length === count). */
  show(pixels: readonly Rgb[]): Promise<void>;
  /** What the wire last got (for the dashboard and tests). */
  current(): readonly Rgb[];
}

/** A buzzer behind a relay. `on(true)` sounds it; the active-low inversion lives in the driver. */
export interface BuzzerRelay {
  readonly pin: number;
  on(sounding: boolean): void;
  readonly sounding: boolean;
}

/** Memory figures in MiB. */
export interface MemoryInfo {
  totalMb: number;
  usedMb: number;
  availableMb: number;
}

/** CPU temperature, usage, memory, uptime. */
export interface SystemInfo {
  /** Thermal zone 0 in °C. */
  cpuTemperatureC(): Promise<number>;
  /** CPU busy share 0..100 since the previous call. */
  cpuUsagePct(): Promise<number>;
  memory(): Promise<MemoryInfo>;
  uptimeSeconds(): Promise<number>;
}
