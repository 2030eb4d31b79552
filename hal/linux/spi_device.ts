/**
 * `/dev/spidevB.C` through the spidev ioctls of `linux/spi/spidev.h`:
 *
 * ```c
 * struct spi_ioc_transfer { __u64 tx_buf; __u64 rx_buf; __u32 len; __u32 speed_hz;
 *   __u16 delay_usecs; __u8 bits_per_word; __u8 cs_change; __u8 tx_nbits; __u8 rx_nbits;
 *   __u8 word_delay_usecs; __u8 pad; };                                   // 32 bytes
 * ```
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { SpiDevice, SpiOptions } from "../spi.ts";
import { address, closeFd, errno, libc, O_RDWR, openPath, ptr } from "./_libc.ts";
import { errnoError } from "./errno.ts";
import { iow } from "./ioctl.ts";

/** `SPI_IOC_MAGIC` */
export const SPI_IOC_MAGIC = 0x6b; // 'k'
export const SPI_IOC_TRANSFER_SIZE = 32;
export const SPI_IOC_WR_MODE = iow(SPI_IOC_MAGIC, 1, 1);
export const SPI_IOC_WR_BITS_PER_WORD = iow(SPI_IOC_MAGIC, 3, 1);
export const SPI_IOC_WR_MAX_SPEED_HZ = iow(SPI_IOC_MAGIC, 4, 4);

/** `SPI_IOC_MESSAGE(n)`: `_IOW('k', 0, char[n * sizeof(struct spi_ioc_transfer)])` */
export function spiIocMessage(n: number): bigint {
  return iow(SPI_IOC_MAGIC, 0, n * SPI_IOC_TRANSFER_SIZE);
}

/** Fill one `spi_ioc_transfer`. */
export function encodeSpiTransfer(
  view: DataView,
  tx: bigint,
  rx: bigint,
  len: number,
  speedHz: number,
  bitsPerWord: number,
): void {
  view.setBigUint64(0, tx, true);
  view.setBigUint64(8, rx, true);
  view.setUint32(16, len, true);
  view.setUint32(20, speedHz, true);
  view.setUint16(24, 0, true);
  view.setUint8(26, bitsPerWord);
  for (let i = 27; i < SPI_IOC_TRANSFER_SIZE; i++) view.setUint8(i, 0);
}

/** Default SPI settings. */
export const SPI_DEFAULTS: SpiOptions = { mode: 0, speedHz: 1_000_000, bitsPerWord: 8 };

/** One spidev node; transfers are serialised and run on a pool thread. */
export class LinuxSpiDevice implements SpiDevice {
  readonly path: string;
  readonly options: SpiOptions;
  #fd: number;
  readonly #xfer = new ArrayBuffer(SPI_IOC_TRANSFER_SIZE);
  #tx: Uint8Array<ArrayBuffer>;
  #rx: Uint8Array<ArrayBuffer>;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(path: string, fd: number, options: SpiOptions, capacity: number) {
    this.path = path;
    this.#fd = fd;
    this.options = options;
    this.#tx = new Uint8Array(capacity);
    this.#rx = new Uint8Array(capacity);
  }

  /**
   * Open `/dev/spidev<bus>.<cs>` and set mode, bits per word and speed.
   *
   * @throws {HalError} `not_found` when the node is missing (enable SPI: `dtparam=spi=on`)
   */
  static open(bus: number, cs: number, options: Partial<SpiOptions> = {}): LinuxSpiDevice {
    const o = { ...SPI_DEFAULTS, ...options };
    if (![0, 1, 2, 3].includes(o.mode)) {
      throw new RangeError(`Cannot open SPI: mode must be 0..3, got ${o.mode}`);
    }
    if (!(o.speedHz > 0)) throw new RangeError(`Cannot open SPI: speedHz must be positive, got ${o.speedHz}`);
    const path = `/dev/spidev${bus}.${cs}`;
    const fd = openPath(path, O_RDWR);
    if (fd < 0) throw errnoError(`Cannot open SPI device ${path}`, -fd, "open");
    const set = (req: bigint, buf: Uint8Array<ArrayBuffer>, what: string) => {
      if (libc().ioctl(fd, req, ptr(buf)) < 0) {
        const e = errno();
        closeFd(fd);
        throw errnoError(`Cannot set SPI ${what} on ${path}`, e, "transfer");
      }
    };
    set(SPI_IOC_WR_MODE, Uint8Array.of(o.mode), "mode");
    set(SPI_IOC_WR_BITS_PER_WORD, Uint8Array.of(o.bitsPerWord), "bits per word");
    set(SPI_IOC_WR_MAX_SPEED_HZ, new Uint8Array(Uint32Array.of(o.speedHz).buffer), "speed");
    return new LinuxSpiDevice(path, fd, o, 4096);
  }

  /** Clock out `tx`, return what was clocked in. */
  transfer(tx: Uint8Array): Promise<Uint8Array> {
    const run = () => this.#run(tx);
    const result = this.#chain.then(run, run);
    this.#chain = result.catch(() => {});
    return result;
  }

  async #run(tx: Uint8Array): Promise<Uint8Array> {
    if (this.#fd < 0) throw new Error(`Cannot transfer on SPI ${this.path}: device is closed`);
    if (tx.length > this.#tx.length) {
      const size = Math.max(tx.length, this.#tx.length * 2);
      this.#tx = new Uint8Array(size);
      this.#rx = new Uint8Array(size);
    }
    this.#tx.set(tx);
    encodeSpiTransfer(
      new DataView(this.#xfer),
      address(this.#tx),
      address(this.#rx),
      tx.length,
      this.options.speedHz,
      this.options.bitsPerWord,
    );
    const rc = await libc().ioctlNb(this.#fd, spiIocMessage(1), ptr(this.#xfer));
    if (rc < 0) {
      // errno stays on the pool thread: repeat once on this thread to learn it.
      const again = libc().ioctl(this.#fd, spiIocMessage(1), ptr(this.#xfer));
      if (again < 0) {
        throw errnoError(`Cannot transfer ${tx.length} bytes on SPI ${this.path}`, errno(), "transfer");
      }
    }
    return this.#rx.slice(0, tx.length);
  }

  /** Release the node. */
  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }
}

export { HalError };
