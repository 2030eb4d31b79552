/**
 * errno numbers (Linux asm-generic, identical on x86_64 and arm64) and their mapping to
 * {@link HalErrorCode}s.
 *
 * @module
 */
import { HalError, type HalErrorCode } from "../errors.ts";

/** errno values `hal/linux` names in messages. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  19: "ENODEV",
  22: "EINVAL",
  25: "ENOTTY",
  38: "ENOSYS",
  71: "EPROTO",
  74: "EBADMSG",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  121: "EREMOTEIO",
};

/** Symbolic name of an errno, `E?` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? "E?";
}

/**
 * Where the errno came from: opening a node (ENODEV means no such device) or a transfer
 * (ENODEV/ENXIO/EREMOTEIO mean nobody acknowledged the address; i2c-stub answers ENODEV).
 */
export type ErrnoContext = "open" | "transfer";

/**
 * Map an errno to a {@link HalErrorCode}.
 *
 * @param errno the positive errno
 * @param context what failed
 * @returns the code
 */
export function codeForErrno(errno: number, context: ErrnoContext): HalErrorCode {
  switch (errno) {
    case 6: // ENXIO
    case 121: // EREMOTEIO
      return context === "open" ? "not_found" : "address_nak";
    case 19: // ENODEV
      return context === "open" ? "not_found" : "address_nak";
    case 2: // ENOENT
      return "not_found";
    case 16: // EBUSY
    case 11: // EAGAIN (arbitration lost on several adapters)
      return "bus_busy";
    case 110: // ETIMEDOUT
      return "timeout";
    case 95: // EOPNOTSUPP
    case 25: // ENOTTY
    case 22: // EINVAL
    case 38: // ENOSYS
      return "not_supported";
    case 13: // EACCES
    case 1: // EPERM
      return "permission";
    default:
      return "io";
  }
}

/**
 * Build the {@link HalError} for a failed call.
 *
 * @param action `Cannot read I2C device 0x50 on bus 0`
 * @param errno the positive errno
 * @param context what failed
 */
export function errnoError(action: string, errno: number, context: ErrnoContext): HalError {
  return new HalError(codeForErrno(errno, context), action, { errno, errnoName: errnoName(errno) });
}
