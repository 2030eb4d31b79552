/**
 * GPIO interfaces: a chip hands out lines for one direction each. A line requested as input
 * has no `write`; holding an output line is the permission to drive it.
 *
 * @module
 */

/** Which edges to watch. */
export type GpioEdge = "rising" | "falling" | "both";

/** One edge seen on a line. */
export interface GpioEdgeEvent {
  line: number;
  edge: "rising" | "falling";
  /** Monotonic timestamp in nanoseconds, as the kernel reports it. */
  timestampNs: bigint;
}

/** A line requested for input. */
export interface GpioInputLine {
  readonly line: number;
  read(): boolean;
  release(): void;
}

/** A line requested for output. */
export interface GpioOutputLine {
  readonly line: number;
  write(value: boolean): void;
  /** The value last written. */
  readonly value: boolean;
  release(): void;
}

/** A line requested for edge events. */
export interface GpioEdgeLine {
  readonly line: number;
  read(): boolean;
  /** Wait up to `timeoutMs` for the next edge; `null` on timeout. */
  waitEdge(timeoutMs: number): Promise<GpioEdgeEvent | null>;
  release(): void;
}

/** A GPIO chip (`/dev/gpiochipN`). */
export interface GpioChip {
  readonly name: string;
  readonly lines: number;
  requestInput(line: number, consumer: string): GpioInputLine;
  requestOutput(line: number, consumer: string, initial: boolean): GpioOutputLine;
  requestEdge(line: number, consumer: string, edge: GpioEdge): GpioEdgeLine;
  close(): void;
}
