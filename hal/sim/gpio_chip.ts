/**
 * A simulated GPIO chip: line levels, one holder per line, outputs that drive the level,
 * and edges injected from the outside world (a button, a sensor's data line).
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

/** Options for {@link SimGpioChip}. */
export interface SimGpioChipOptions {
  /** Chip name, default `gpiochip0`. */
  name?: string;
  /** Number of lines, default 54 (BCM2835 header chip). */
  lines?: number;
  /** Milliseconds clock for edge timestamps; default `performance.now`. */
  clock?: () => number;
}

type Mode = "input" | "output" | "edge";

interface Hold {
  consumer: string;
  mode: Mode;
  edge?: GpioEdge;
  queue: GpioEdgeEvent[];
  waiters: ((e: GpioEdgeEvent | null) => void)[];
}

/** Edge events kept per line while nobody waits (the kernel's event FIFO is 16 deep per line). */
const EDGE_QUEUE_MAX = 16;

/**
 * A simulated `/dev/gpiochipN`.
 *
 * @example
 * ```ts
 * import { SimGpioChip } from "./gpio_chip.ts";
 * const chip = new SimGpioChip();
 * const button = chip.requestEdge(27, "button", "falling");
 * chip.inject(27, true);
 * chip.inject(27, false);
 * console.assert((await button.waitEdge(0))?.edge === "falling");
 * chip.close();
 * ```
 */
export class SimGpioChip implements GpioChip {
  readonly name: string;
  readonly lines: number;
  readonly #levels: boolean[];
  readonly #holds = new Map<number, Hold>();
  readonly #clock: () => number;
  #closed = false;

  /** @throws {RangeError} when `lines` is not a positive integer */
  constructor(options: SimGpioChipOptions = {}) {
    this.name = options.name ?? "gpiochip0";
    this.lines = options.lines ?? 54;
    if (!Number.isInteger(this.lines) || this.lines <= 0) {
      throw new RangeError(
        `Cannot create ${this.name}: line count ${String(this.lines)} is not a positive integer`,
      );
    }
    this.#levels = new Array(this.lines).fill(false);
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Current level of a line, whoever holds it (tests, dashboard). */
  level(line: number): boolean {
    this.#check(line, "read");
    return this.#levels[line];
  }

  /** The consumer holding a line, if any. */
  holder(line: number): string | undefined {
    return this.#holds.get(line)?.consumer;
  }

  /**
   * Drive a line from outside the board; an edge on a line requested for edges reaches its waiters.
   *
   * @throws {HalError} `not_found` for a line out of range, `bus_busy` when the line is an output
   */
  inject(line: number, value: boolean): void {
    this.#check(line, "inject a level on");
    const hold = this.#holds.get(line);
    if (hold?.mode === "output") {
      throw new HalError(
        "bus_busy",
        `Cannot inject a level on GPIO line ${line} of ${this.name}: line ${line} is driven as output by consumer "${hold.consumer}"`,
      );
    }
    this.#set(line, value);
  }

  requestInput(line: number, consumer: string): GpioInputLine {
    const hold = this.#hold(line, consumer, "input");
    const read = () => this.#live(line, hold, "read") && this.#levels[line];
    return { line, read, release: () => this.#release(line, hold) };
  }

  requestOutput(line: number, consumer: string, initial: boolean): GpioOutputLine {
    const hold = this.#hold(line, consumer, "output");
    this.#set(line, initial);
    const levels = this.#levels;
    const write = (value: boolean) => {
      this.#live(line, hold, "write");
      this.#set(line, value);
    };
    return {
      line,
      get value() {
        return levels[line];
      },
      write,
      release: () => this.#release(line, hold),
    };
  }

  requestEdge(line: number, consumer: string, edge: GpioEdge): GpioEdgeLine {
    if (edge !== "rising" && edge !== "falling" && edge !== "both") {
      throw new RangeError(
        `Cannot request GPIO line ${line} of ${this.name}: edge "${String(edge)}" is not rising|falling|both`,
      );
    }
    const hold = this.#hold(line, consumer, "edge");
    hold.edge = edge;
    return {
      line,
      read: () => this.#live(line, hold, "read") && this.#levels[line],
      waitEdge: (timeoutMs: number) => {
        this.#live(line, hold, "wait for an edge on");
        const queued = hold.queue.shift();
        if (queued) return Promise.resolve(queued);
        if (timeoutMs <= 0) return Promise.resolve(null);
        return new Promise((resolve) => {
          const waiter = (e: GpioEdgeEvent | null) => {
            clearTimeout(timer);
            resolve(e);
          };
          const timer = setTimeout(() => {
            hold.waiters.splice(hold.waiters.indexOf(waiter), 1);
            resolve(null);
          }, timeoutMs);
          hold.waiters.push(waiter);
        });
      },
      release: () => this.#release(line, hold),
    };
  }

  /** Release every line; later requests fail. */
  close(): void {
    for (const [line, hold] of [...this.#holds]) this.#release(line, hold);
    this.#closed = true;
  }

  #check(line: number, action: string): void {
    if (this.#closed) {
      throw new HalError("not_found", `Cannot ${action} GPIO line ${line} of ${this.name} (chip closed)`);
    }
    if (!Number.isInteger(line) || line < 0 || line >= this.lines) {
      throw new HalError(
        "not_found",
        `Cannot ${action} GPIO line ${line} of ${this.name} (lines are 0..${this.lines - 1})`,
      );
    }
  }

  #hold(line: number, consumer: string, mode: Mode): Hold {
    this.#check(line, "request");
    const held = this.#holds.get(line);
    if (held) {
      throw new HalError(
        "bus_busy",
        `Cannot request GPIO line ${line} of ${this.name} for "${consumer}": line ${line} is held by consumer "${held.consumer}"`,
      );
    }
    const hold: Hold = { consumer, mode, queue: [], waiters: [] };
    this.#holds.set(line, hold);
    return hold;
  }

  #live(line: number, hold: Hold, action: string): true {
    if (this.#holds.get(line) !== hold) {
      throw new HalError("not_found", `Cannot ${action} GPIO line ${line} of ${this.name} (line released)`);
    }
    return true;
  }

  #release(line: number, hold: Hold): void {
    if (this.#holds.get(line) !== hold) return;
    this.#holds.delete(line);
    for (const w of hold.waiters.splice(0)) w(null);
  }

  #set(line: number, value: boolean): void {
    const before = this.#levels[line];
    this.#levels[line] = value;
    if (before === value) return;
    const hold = this.#holds.get(line);
    if (hold?.mode !== "edge") return;
    const edge = value ? "rising" : "falling";
    if (hold.edge !== "both" && hold.edge !== edge) return;
    const event: GpioEdgeEvent = { line, edge, timestampNs: BigInt(Math.round(this.#clock() * 1e6)) };
    const waiter = hold.waiters.shift();
    if (waiter) waiter(event);
    else if (hold.queue.length < EDGE_QUEUE_MAX) hold.queue.push(event);
  }
}
