/**
 * Buzzer patterns over the relay driver: single (100 ms), triple (3×100 ms), long (500 ms),
 * or a custom count. One pattern at a time, rate-limited so an alarm cannot drone.
 *
 * @module
 */
import type { BuzzerRelay } from "../../hal/mod.ts";
import type { BuzzerPattern } from "../../plugins/sdk/mod.ts";
import type { EventSink } from "../events/event.ts";

/** A custom pattern: `count` beeps of `durationMs`, `intervalMs` apart. */
export interface BeepSpec {
  count: number;
  durationMs: number;
  intervalMs: number;
}

/** Built-in patterns. */
export const PATTERNS: Record<BuzzerPattern, BeepSpec> = {
  single: { count: 1, durationMs: 100, intervalMs: 0 },
  triple: { count: 3, durationMs: 100, intervalMs: 100 },
  long: { count: 1, durationMs: 500, intervalMs: 0 },
};

/** Result of a play request. */
export interface BuzzerResult {
  played: boolean;
  pattern: string;
  /** Why it did not play (rate limit, busy). */
  reason?: string;
  /** When refused: how long until a pattern would be accepted, ms. */
  retryAfterMs?: number;
}

/** Timer functions, injectable for fake time. */
export interface Sleep {
  (ms: number): Promise<void>;
}

/** Plays patterns on a relay, one at a time, at most once per `minIntervalMs`. */
export class BuzzerPlayer {
  readonly #relay: BuzzerRelay;
  readonly #emit: EventSink;
  readonly #minIntervalMs: number;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  #busy = false;
  #lastStart = -Infinity;

  constructor(
    relay: BuzzerRelay,
    emit: EventSink,
    options: { minIntervalMs?: number; now?: () => number; sleep?: Sleep } = {},
  ) {
    this.#relay = relay;
    this.#emit = emit;
    this.#minIntervalMs = options.minIntervalMs ?? 1000;
    // Monotonic: a wall-clock step must neither lift the rate limit nor silence the buzzer for an hour.
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Whether a pattern is sounding now. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Play a named or custom pattern. Resolves when it has finished (or was refused).
   *
   * @param source who asked (plugin id, `hub`, …), reported in the `buzzer` event
   * @throws {RangeError} on a custom pattern outside sane bounds
   */
  async play(pattern: BuzzerPattern | BeepSpec, source = "broker"): Promise<BuzzerResult> {
    const spec = typeof pattern === "string" ? PATTERNS[pattern] : pattern;
    const name = typeof pattern === "string" ? pattern : `${spec.count}x${spec.durationMs}ms`;
    if (!spec) throw new RangeError(`Cannot play buzzer pattern "${pattern}": use single, triple or long`);
    validate(spec);
    const now = this.#now();
    const wait = Math.max(0, this.#minIntervalMs - (now - this.#lastStart));
    if (this.#busy) {
      return this.#refuse(name, source, "busy: another pattern is sounding", Math.max(wait, 1000));
    }
    if (now - this.#lastStart < this.#minIntervalMs) {
      return this.#refuse(
        name,
        source,
        `rate limited: at most one pattern per ${this.#minIntervalMs} ms`,
        wait,
      );
    }
    this.#busy = true;
    this.#lastStart = now;
    this.#emit.emit("buzzer", { pattern: name, source });
    try {
      for (let i = 0; i < spec.count; i++) {
        if (i > 0) await this.#sleep(spec.intervalMs);
        this.#relay.on(true);
        try {
          await this.#sleep(spec.durationMs);
        } finally {
          this.#relay.on(false);
        }
      }
      return { played: true, pattern: name };
    } finally {
      this.#busy = false;
    }
  }

  /** Silence the relay (shutdown). */
  off(): void {
    this.#relay.on(false);
  }

  #refuse(pattern: string, source: string, reason: string, retryAfterMs: number): BuzzerResult {
    this.#emit.emit("buzzer.refused", { pattern, source, reason });
    return { played: false, pattern, reason, retryAfterMs };
  }
}

function validate(spec: BeepSpec): void {
  const bad = (k: string, v: number, max: number) =>
    new RangeError(`Cannot play buzzer pattern: ${k} must be an integer 0..${max}, got ${v}`);
  if (!Number.isInteger(spec.count) || spec.count < 1 || spec.count > 10) throw bad("count", spec.count, 10);
  if (!Number.isInteger(spec.durationMs) || spec.durationMs < 1 || spec.durationMs > 2000) {
    throw bad("durationMs", spec.durationMs, 2000);
  }
  if (!Number.isInteger(spec.intervalMs) || spec.intervalMs < 0 || spec.intervalMs > 2000) {
    throw bad("intervalMs", spec.intervalMs, 2000);
  }
}
