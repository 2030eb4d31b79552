/**
 * A serial port: opened with `O_NOCTTY | O_NONBLOCK`, raw mode and baud rate set through the
 * kernel `struct termios` (`TCGETS`/`TCSETS`, asm-generic layout: four u32 flags, c_line,
 * c_cc[19]; 36 bytes), reads wait with `poll(2)` on a pool thread.
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { Uart } from "../spi.ts";
import { closeFd, errno, libc, O_NOCTTY, O_NONBLOCK, O_RDWR, openPath, POLLIN, ptr } from "./_libc.ts";
import { errnoError } from "./errno.ts";
import { TCGETS, TCSETS } from "./ioctl.ts";

export const TERMIOS_SIZE = 36;
const VTIME = 5, VMIN = 6, CC = 17;

/** `Bxxxx` constants (asm-generic termbits.h). */
export const BAUD: Readonly<Record<number, number>> = {
  1200: 0o11,
  2400: 0o13,
  4800: 0o14,
  9600: 0o15,
  19200: 0o16,
  38400: 0o17,
  57600: 0o10001,
  115200: 0o10002,
  230400: 0o10003,
  460800: 0o10004,
  500000: 0o10005,
  921600: 0o10007,
  1000000: 0o10010,
};
const CBAUD = 0o10017;

/**
 * `cfmakeraw` plus `CLOCAL | CREAD` and the baud bits, applied to a kernel termios in place.
 *
 * @throws {RangeError} for a rate without a `B` constant
 */
export function makeRaw(termios: DataView, baud: number): void {
  const code = BAUD[baud];
  if (code === undefined) {
    throw new RangeError(`Cannot set baud rate ${baud}: use one of ${Object.keys(BAUD).join(", ")}`);
  }
  let iflag = termios.getUint32(0, true), oflag = termios.getUint32(4, true);
  let cflag = termios.getUint32(8, true), lflag = termios.getUint32(12, true);
  iflag &= ~(0o1 | 0o2 | 0o10 | 0o40 | 0o100 | 0o200 | 0o400 | 0o2000); // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
  oflag &= ~0o1; // OPOST
  lflag &= ~(0o10 | 0o100 | 0o2 | 0o1 | 0o100000); // ECHO ECHONL ICANON ISIG IEXTEN
  cflag &= ~(0o60 | 0o400 | CBAUD); // CSIZE PARENB CBAUD
  cflag |= 0o60 | 0o4000 | 0o200 | code; // CS8 CLOCAL CREAD baud
  termios.setUint32(0, iflag >>> 0, true);
  termios.setUint32(4, oflag >>> 0, true);
  termios.setUint32(8, cflag >>> 0, true);
  termios.setUint32(12, lflag >>> 0, true);
  termios.setUint8(CC + VMIN, 0);
  termios.setUint8(CC + VTIME, 0);
}

/** A tty in raw mode. */
export class LinuxUart implements Uart {
  readonly path: string;
  #fd: number;
  readonly #pollfd = new ArrayBuffer(8); // struct pollfd { int fd; short events; short revents; }
  #buf = new Uint8Array(256);

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
    const v = new DataView(this.#pollfd);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
  }

  /**
   * Open `path` without becoming its controlling terminal, raw, at `baud`.
   *
   * @throws {HalError} `not_found` when missing, `not_supported` when not a tty
   */
  static open(path: string, baud = 9600): LinuxUart {
    const fd = openPath(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) throw errnoError(`Cannot open UART ${path}`, -fd, "open");
    const uart = new LinuxUart(path, fd);
    try {
      uart.setBaud(baud);
    } catch (e) {
      uart.close();
      throw e;
    }
    return uart;
  }

  /** Set raw mode at `rate`. */
  setBaud(rate: number): void {
    const t = new Uint8Array(TERMIOS_SIZE + 4);
    if (libc().ioctl(this.#fd, TCGETS, ptr(t)) < 0) {
      throw errnoError(`Cannot read termios of UART ${this.path}`, errno(), "transfer");
    }
    makeRaw(new DataView(t.buffer), rate);
    if (libc().ioctl(this.#fd, TCSETS, ptr(t)) < 0) {
      throw errnoError(`Cannot set UART ${this.path} to ${rate} baud`, errno(), "transfer");
    }
  }

  /** Bytes already waiting, or the first that arrive within `timeoutMs` (default 0). */
  async read(maxLen: number, timeoutMs = 0): Promise<Uint8Array> {
    this.#open("read");
    if (maxLen > this.#buf.length) this.#buf = new Uint8Array(maxLen);
    const ready = await libc().pollNb(ptr(this.#pollfd), 1n, Math.max(0, Math.round(timeoutMs)));
    if (ready <= 0) return new Uint8Array(0);
    const n = Number(libc().read(this.#fd, ptr(this.#buf), BigInt(maxLen)));
    if (n < 0) {
      const e = errno();
      if (e === 11) return new Uint8Array(0); // EAGAIN
      throw errnoError(`Cannot read UART ${this.path}`, e, "transfer");
    }
    return this.#buf.slice(0, n);
  }

  /** Write `data` (may be partial on a full buffer); returns bytes written. */
  write(data: Uint8Array): Promise<number> {
    this.#open("write");
    const copy = data.slice();
    const n = Number(libc().write(this.#fd, ptr(copy), BigInt(copy.length)));
    if (n < 0) {
      const e = errno();
      if (e === 11) return Promise.resolve(0);
      return Promise.reject(errnoError(`Cannot write UART ${this.path}`, e, "transfer"));
    }
    return Promise.resolve(n);
  }

  /** Release the tty. */
  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }

  #open(verb: string): void {
    if (this.#fd < 0) throw new Error(`Cannot ${verb} UART ${this.path}: port is closed`);
  }
}

/**
 * Open a pseudo-terminal pair (for tests and loopback): the master fd and the slave's path.
 *
 * @throws {HalError} when the pty cannot be allocated
 */
export function openPty(): { master: number; slavePath: string } {
  const c = libc();
  const master = c.posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) throw errnoError("Cannot open a pseudo-terminal", errno(), "open");
  if (c.grantpt(master) < 0 || c.unlockpt(master) < 0) {
    const e = errno();
    closeFd(master);
    throw errnoError("Cannot unlock a pseudo-terminal", e, "open");
  }
  const name = c.ptsname(master);
  if (name === null) {
    closeFd(master);
    throw new HalError("io", "Cannot name the pseudo-terminal slave");
  }
  return { master, slavePath: Deno.UnsafePointerView.getCString(name) };
}
