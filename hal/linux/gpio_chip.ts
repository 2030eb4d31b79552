/**
 * Open a GPIO chip on whichever libgpiod is installed: v2 (`libgpiod.so.3`) first, else v1
 * (`libgpiod.so.2`).
 *
 * @module
 */
import { HalError } from "../errors.ts";
import { type GpiodTable, LinuxGpioChip } from "./gpiod.ts";
import { gpiodV1 } from "./gpiod_v1.ts";
import { gpiodV2 } from "./gpiod_v2.ts";

let table: GpiodTable | undefined;

/**
 * The libgpiod binding for this machine, loaded once.
 *
 * @throws {HalError} `not_found` when neither libgpiod.so.3 nor libgpiod.so.2 loads
 */
export function gpiod(): GpiodTable {
  if (table) return table;
  const errors: string[] = [];
  for (const bind of [gpiodV2, gpiodV1]) {
    try {
      return table = bind();
    } catch (e) {
      errors.push(e instanceof Error ? e.message.split("\n")[0] : String(e));
    }
  }
  throw new HalError(
    "not_found",
    `Cannot load libgpiod (tried libgpiod.so.3 and libgpiod.so.2: ${errors.join("; ")})`,
  );
}

/**
 * Open `/dev/gpiochip<chip>` (or a path).
 *
 * @throws {HalError} `not_found` for a missing chip or library
 */
export function openGpioChip(chip: number | string): LinuxGpioChip {
  return LinuxGpioChip.open(gpiod(), typeof chip === "number" ? `/dev/gpiochip${chip}` : chip);
}

export { LinuxGpioChip };
