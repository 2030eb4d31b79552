/** Linux HAL (in progress). @module */
import type { HalOptions } from "../mod.ts";
import type { I2cBus } from "../i2c.ts";
import { LinuxI2cBus } from "./i2c_bus.ts";

export class LinuxHal {
  readonly backend = "linux";
  readonly #buses = new Map<number, LinuxI2cBus>();
  constructor(readonly options: HalOptions & { i2cForce?: boolean }) {}
  i2c(bus: number): I2cBus {
    let b = this.#buses.get(bus);
    if (!b) {
      b = LinuxI2cBus.open(bus, { force: this.options.i2cForce });
      this.#buses.set(bus, b);
    }
    return b;
  }
  close(): void {
    for (const b of this.#buses.values()) b.close();
    this.#buses.clear();
  }
}
