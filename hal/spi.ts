/** SPI and UART interfaces. @module */

/** SPI bus mode and speed. */
export interface SpiOptions {
  mode: 0 | 1 | 2 | 3;
  speedHz: number;
  bitsPerWord: number;
}

/** One SPI device (`/dev/spidevB.C`): full-duplex transfers. */
export interface SpiDevice {
  readonly path: string;
  /** Clock out `tx` and return the same number of bytes clocked in. */
  transfer(tx: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** One serial port. */
export interface Uart {
  readonly path: string;
  /** Read up to `maxLen` bytes that are waiting, or wait up to `timeoutMs` for some. */
  read(maxLen: number, timeoutMs?: number): Promise<Uint8Array>;
  write(data: Uint8Array): Promise<number>;
  setBaud(rate: number): void;
  close(): void;
}
