/**
 * Typed hardware errors. Every HAL backend throws only {@link HalError}, so callers
 * (the broker, the capability checker, the hub) can map causes without parsing text.
 *
 * @module
 */

/** The closed set of physical causes a HAL call can fail with. */
export type HalErrorCode =
  | "address_nak" // the device did not acknowledge its address
  | "bus_busy" // another master or process holds the bus
  | "timeout" // the transfer or the line did not answer in time
  | "not_supported" // the adapter or chip cannot do what was asked
  | "io" // any other I/O failure (EIO, short transfer, bad checksum)
  | "permission" // the OS refused access to the device node
  | "not_found"; // the bus, chip, or line does not exist

/** All codes, for validation and exhaustive tests. */
export const HAL_ERROR_CODES: readonly HalErrorCode[] = [
  "address_nak",
  "bus_busy",
  "timeout",
  "not_supported",
  "io",
  "permission",
  "not_found",
];

/** Human wording of each code, used at the end of every message. */
export const HAL_ERROR_MEANING: Record<HalErrorCode, string> = {
  address_nak: "address not acknowledged",
  bus_busy: "bus busy",
  timeout: "timed out",
  not_supported: "not supported",
  io: "input/output error",
  permission: "permission denied",
  not_found: "no such device",
};

/** Options for {@link HalError}. */
export interface HalErrorOptions {
  cause?: unknown;
  /** errno reported by the kernel, when there was one. */
  errno?: number;
  /** Symbolic errno name (`ENXIO`), shown next to the number when given. */
  errnoName?: string;
}

/**
 * A hardware failure worded for a person: `Cannot read I2C device 0x77 on bus 1: address not acknowledged`.
 *
 * @example
 * ```ts
 * import { HalError } from "./errors.ts";
 * const e = new HalError("address_nak", "Cannot read I2C device 0x77 on bus 1");
 * console.assert(e.message.endsWith("address not acknowledged"));
 * ```
 */
export class HalError extends Error {
  override name = "HalError";
  readonly code: HalErrorCode;
  readonly errno?: number;

  /**
   * @param code the physical cause
   * @param action what was attempted, e.g. `Cannot read I2C device 0x77 on bus 1`
   * @param options cause and errno
   */
  constructor(code: HalErrorCode, action: string, options: HalErrorOptions = {}) {
    const name = options.errnoName ? ` ${options.errnoName}` : "";
    const detail = options.errno !== undefined ? ` (errno ${options.errno}${name})` : "";
    super(`${action}: ${HAL_ERROR_MEANING[code]}${detail}`, { cause: options.cause });
    this.code = code;
    this.errno = options.errno;
  }
}

/** Format an I2C address the way datasheets write it: `0x77`. */
export function hex(addr: number): string {
  return `0x${addr.toString(16).padStart(2, "0")}`;
}
