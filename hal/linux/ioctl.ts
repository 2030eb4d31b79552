/**
 * ioctl request numbers, computed as `_IOC(dir, type, nr, size)` in `asm-generic/ioctl.h`
 * (x86_64 and arm64 share this encoding), and the fixed numbers from the headers.
 *
 * @module
 */

/** `_IOC_NONE`, `_IOC_WRITE`, `_IOC_READ` */
export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

/**
 * `_IOC(dir, type, nr, size)`: dir in bits 30..31, size 16..29, type 8..15, nr 0..7.
 *
 * @throws {RangeError} when a field does not fit
 */
export function ioc(dir: number, type: number, nr: number, size: number): bigint {
  if (size < 0 || size >= 1 << 14) throw new RangeError(`Cannot encode ioctl: size ${size} exceeds 14 bits`);
  if (type < 0 || type > 0xff || nr < 0 || nr > 0xff) {
    throw new RangeError(`Cannot encode ioctl: type ${type} or nr ${nr} exceeds 8 bits`);
  }
  return (BigInt(dir) << 30n) | (BigInt(size) << 16n) | (BigInt(type) << 8n) | BigInt(nr);
}

/** `_IOW(type, nr, size)` */
export function iow(type: number, nr: number, size: number): bigint {
  return ioc(IOC_WRITE, type, nr, size);
}

/** `linux/i2c-dev.h` */
export const I2C_SLAVE = 0x0703n;
export const I2C_SLAVE_FORCE = 0x0706n;
export const I2C_FUNCS = 0x0705n;
export const I2C_RDWR = 0x0707n;
export const I2C_SMBUS = 0x0720n;

/** `asm-generic/ioctls.h` */
export const TCGETS = 0x5401n;
export const TCSETS = 0x5402n;
export const TCFLSH = 0x540bn;
