/**
 * DHT22 through the kernel's dht11 IIO driver (which also speaks DHT22; on a Pi:
 * `dtoverlay=dht11,gpiopin=4`): the kernel does the µs bit timing, we read sysfs.
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { Dht22Driver, Dht22Reading } from "../drivers.ts";
import { codeForErrno, errnoName } from "./errno.ts";

/** Options for {@link LinuxDht22}. */
export interface LinuxDht22Options {
  /** IIO devices folder, default `/sys/bus/iio/devices`. */
  root?: string;
  /** Map a GPIO pin to its IIO device folder name (`iio:device0`); default: the first dht11 device. */
  devices?: Record<number, string>;
}

/** Reads `in_temp_input` (m°C) and `in_humidityrelative_input` (m%RH). */
export class LinuxDht22 implements Dht22Driver {
  readonly #root: string;
  readonly #devices: Record<number, string>;

  constructor(options: LinuxDht22Options = {}) {
    this.#root = options.root ?? "/sys/bus/iio/devices";
    this.#devices = options.devices ?? {};
  }

  /**
   * @throws {HalError} `not_found` without a dht11 IIO device, `timeout` when the sensor does not
   *   answer (ETIMEDOUT), `io` on a bad checksum (EIO)
   */
  async read(pin: number): Promise<Dht22Reading> {
    const dir = `${this.#root}/${this.#devices[pin] ?? await this.#find(pin)}`;
    const action = `Cannot read DHT22 on GPIO ${pin} (${dir})`;
    const temp = await readMilli(`${dir}/in_temp_input`, action);
    const hum = await readMilli(`${dir}/in_humidityrelative_input`, action);
    return { temperatureC: temp / 1000, humidityPct: hum / 1000 };
  }

  async #find(pin: number): Promise<string> {
    try {
      for await (const e of Deno.readDir(this.#root)) {
        const name = await Deno.readTextFile(`${this.#root}/${e.name}/name`).catch(() => "");
        if (name.trim().startsWith("dht11")) return e.name;
      }
    } catch { /* no IIO folder at all */ }
    throw new HalError(
      "not_found",
      `Cannot read DHT22 on GPIO ${pin}: no dht11 IIO device under ${this.#root} (add dtoverlay=dht11,gpiopin=${pin})`,
    );
  }
}

async function readMilli(path: string, action: string): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const errno = osErrno(e);
    const code = errno === undefined ? "io" : codeForErrno(errno, "transfer");
    throw new HalError(code === "address_nak" ? "timeout" : code, action, {
      cause: e,
      errno,
      errnoName: errno === undefined ? undefined : errnoName(errno),
    });
  }
  const v = Number(text.trim());
  if (!Number.isFinite(v)) {
    throw new HalError("io", `${action}: ${path} holds '${text.trim()}', not a number`);
  }
  return v;
}

/** errno from a Deno error message `… (os error 110)`. */
export function osErrno(e: unknown): number | undefined {
  if (e instanceof Deno.errors.NotFound) return 2;
  const m = /\(os error (\d+)\)/.exec(e instanceof Error ? e.message : String(e));
  return m ? Number(m[1]) : undefined;
}
