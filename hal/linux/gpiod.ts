/**
 * GPIO through libgpiod. The v1 (`libgpiod.so.2`) and v2 (`libgpiod.so.3`) bindings each
 * produce the same small function table ({@link GpiodTable}); {@link LinuxGpioChip} holds all
 * the line logic on top of it, so that logic is tested against a fake table without hardware.
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type {
  GpioChip,
  GpioEdge,
  GpioEdgeEvent,
  GpioEdgeLine,
  GpioInputLine,
  GpioOutputLine,
} from "../gpio.ts";
import { codeForErrno, errnoName } from "./errno.ts";

const EBUSY = 16;
const ENXIO = 6;
const ENODEV = 19;

/**
 * A GPIO failure as a {@link HalError}. Unlike I2C, ENODEV/ENXIO do not mean "nobody answered":
 * on a request for edges they mean the line has no interrupt (gpio-viperboard, many expanders),
 * elsewhere that the chip went away.
 */
function gpioError(action: string, err: number, edges = false): HalError {
  const detail = { errno: err, errnoName: errnoName(err) };
  if (edges && (err === ENODEV || err === ENXIO)) {
    return new HalError("not_supported", `${action}: the line has no interrupt, so no edge events`, detail);
  }
  return new HalError(codeForErrno(err, "open"), action, detail);
}

/** How a line is requested. */
export type GpiodMode = "input" | "output" | GpioEdge;

/** An opened chip as the binding reports it. */
export interface GpiodChipInfo {
  handle: unknown;
  name: string;
  lines: number;
}

/** The C-shaped operations both libgpiod versions provide (null/-1 on failure, errno set). */
export interface GpiodTable {
  readonly version: 1 | 2;
  chipOpen(path: string): GpiodChipInfo | null;
  chipClose(chip: unknown): void;
  requestLine(
    chip: unknown,
    offset: number,
    consumer: string,
    mode: GpiodMode,
    initial: number,
  ): unknown | null;
  getValue(line: unknown): number;
  setValue(line: unknown, value: number): number;
  /** 1 when an event is waiting, 0 on timeout, -1 on error. */
  waitEdge(line: unknown, timeoutNs: bigint): Promise<number>;
  readEdge(line: unknown): { rising: boolean; timestampNs: bigint } | null;
  release(line: unknown): void;
  errno(): number;
  /** Who holds line `offset` now (the kernel's consumer label), null when free or unknown. */
  lineConsumer?(chip: unknown, offset: number): string | null;
}

/** A GPIO chip on any {@link GpiodTable}. */
export class LinuxGpioChip implements GpioChip {
  readonly name: string;
  readonly lines: number;
  readonly path: string;
  readonly #t: GpiodTable;
  #chip: unknown;
  readonly #held = new Map<number, () => void>();

  private constructor(table: GpiodTable, path: string, info: GpiodChipInfo) {
    this.#t = table;
    this.path = path;
    this.#chip = info.handle;
    this.name = info.name;
    this.lines = info.lines;
  }

  /**
   * Open a chip by path (`/dev/gpiochip0`).
   *
   * @throws {HalError} `not_found` for a missing chip, `permission` when access is refused
   */
  static open(table: GpiodTable, path: string): LinuxGpioChip {
    const info = table.chipOpen(path);
    if (info === null) throw gpioError(`Cannot open GPIO chip ${path}`, table.errno());
    return new LinuxGpioChip(table, path, info);
  }

  requestInput(line: number, consumer: string): GpioInputLine {
    const h = this.#request(line, consumer, "input", 0);
    return {
      line,
      read: () => this.#read(h, line),
      release: () => this.#release(line),
    };
  }

  requestOutput(line: number, consumer: string, initial: boolean): GpioOutputLine {
    const h = this.#request(line, consumer, "output", initial ? 1 : 0);
    let value = initial;
    return {
      line,
      get value() {
        return value;
      },
      write: (v: boolean) => {
        this.#live(line, "write");
        if (this.#t.setValue(h, v ? 1 : 0) < 0) {
          throw gpioError(`Cannot write GPIO line ${line} on ${this.name}`, this.#t.errno());
        }
        value = v;
      },
      release: () => this.#release(line),
    };
  }

  requestEdge(line: number, consumer: string, edge: GpioEdge): GpioEdgeLine {
    if (!["rising", "falling", "both"].includes(edge)) {
      throw new RangeError(
        `Cannot request GPIO line ${line} for edges: edge must be rising, falling or both, got '${edge}'`,
      );
    }
    const h = this.#request(line, consumer, edge, 0);
    return {
      line,
      read: () => this.#read(h, line),
      waitEdge: async (timeoutMs: number): Promise<GpioEdgeEvent | null> => {
        this.#live(line, "wait for an edge on");
        if (!(timeoutMs >= 0)) {
          throw new RangeError(`Cannot wait for an edge: timeoutMs must be ≥ 0, got ${timeoutMs}`);
        }
        const rc = await this.#t.waitEdge(h, BigInt(Math.round(timeoutMs * 1e6)));
        if (rc === 0) return null;
        const ev = rc > 0 ? this.#t.readEdge(h) : null;
        // errno of a nonblocking wait stays on its pool thread: no number to report.
        if (ev === null) {
          throw new HalError("io", `Cannot wait for an edge on GPIO line ${line} on ${this.name}`);
        }
        return { line, edge: ev.rising ? "rising" : "falling", timestampNs: ev.timestampNs };
      },
      release: () => this.#release(line),
    };
  }

  /** Release every line and the chip. */
  close(): void {
    for (const release of [...this.#held.values()]) release();
    if (this.#chip !== null) this.#t.chipClose(this.#chip);
    this.#chip = null;
  }

  #request(line: number, consumer: string, mode: GpiodMode, initial: number): unknown {
    const action = `Cannot request GPIO line ${line} on ${this.name} as ${mode}`;
    if (this.#chip === null) throw new Error(`${action}: chip is closed`);
    if (!Number.isInteger(line) || line < 0 || line >= this.lines) {
      throw new RangeError(`${action}: line must be an integer in 0..${this.lines - 1}`);
    }
    if (this.#held.has(line)) {
      throw new HalError("bus_busy", `${action}: already requested in this process (release it first)`);
    }
    const h = this.#t.requestLine(this.#chip, line, consumer, mode, initial);
    if (h === null) {
      const err = this.#t.errno();
      const holder = err === EBUSY ? this.#t.lineConsumer?.(this.#chip, line) : null;
      const edges = mode !== "input" && mode !== "output";
      throw gpioError(holder ? `${action}: held by consumer "${holder}"` : action, err, edges);
    }
    this.#held.set(line, () => {
      this.#t.release(h);
      this.#held.delete(line);
    });
    return h;
  }

  #read(h: unknown, line: number): boolean {
    this.#live(line, "read");
    const v = this.#t.getValue(h);
    if (v < 0) throw gpioError(`Cannot read GPIO line ${line} on ${this.name}`, this.#t.errno());
    return v === 1;
  }

  #live(line: number, verb: string): void {
    if (!this.#held.has(line)) {
      throw new Error(`Cannot ${verb} GPIO line ${line} on ${this.name}: line is released`);
    }
  }

  #release(line: number): void {
    this.#held.get(line)?.();
  }
}
