/**
 * Per-plugin budget for capability calls: at most `maxInFlight` unanswered calls and at most
 * `perSecond` calls in any one-second window. Counters only: memory does not grow with the
 * number of calls a plugin makes.
 *
 * @module
 */

/** Limits of one plugin. */
export interface ThrottleLimits {
  maxInFlight: number;
  perSecond: number;
}

/** Defaults: generous for a sensor driver, far below what a flood sends. */
export const DEFAULT_THROTTLE: ThrottleLimits = { maxInFlight: 64, perSecond: 2000 };

/**
 * One plugin's budget.
 *
 * @example
 * ```ts
 * import { Throttle } from "./throttle.ts";
 * const t = new Throttle({ maxInFlight: 1, perSecond: 10 }, () => 0);
 * console.assert(t.acquire() === undefined && t.acquire() === "in-flight");
 * ```
 */
export class Throttle {
  readonly #limits: ThrottleLimits;
  readonly #now: () => number;
  #inFlight = 0;
  #windowStart = -Infinity;
  #windowCount = 0;
  /** Calls refused since the last {@link Throttle.takeRefused}. */
  #refused = 0;

  constructor(limits: ThrottleLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  /**
   * Take one call from the budget.
   *
   * @param tracked whether the call holds an in-flight slot until {@link Throttle.release}
   * @param weight calls it counts for in the per-second window (a batch counts each step)
   * @returns undefined when allowed, or why it is refused
   */
  acquire(tracked = true, weight = 1): "in-flight" | "rate" | undefined {
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    if (tracked && this.#inFlight >= this.#limits.maxInFlight) return this.#refuse("in-flight");
    if (this.#windowCount + weight > this.#limits.perSecond) return this.#refuse("rate");
    this.#windowCount += weight;
    if (tracked) this.#inFlight++;
    return undefined;
  }

  /** Give back an in-flight slot. */
  release(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /** Unanswered calls. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Refusals since the last call, then reset. */
  takeRefused(): number {
    const n = this.#refused;
    this.#refused = 0;
    return n;
  }

  #refuse(why: "in-flight" | "rate"): "in-flight" | "rate" {
    this.#refused++;
    return why;
  }
}
