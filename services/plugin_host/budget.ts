/**
 * A rate budget (token bucket: a steady rate and a burst) that drops and counts what exceeds
 * it, and tells its owner when a new flood *episode* starts, so one episode is reported once.
 * Counters only: memory does not grow with what a plugin sends.
 *
 * @module
 */

/** Steady rate and burst of one budget. */
export interface RateBudget {
  perSecond: number;
  burst: number;
}

/** What {@link Budget.take} says. */
export type Take = "ok" | "dropped" | "new-episode";

/**
 * One budget.
 *
 * @example
 * ```ts
 * import { Budget } from "./budget.ts";
 * const b = new Budget({ perSecond: 1, burst: 2 }, () => 0);
 * console.assert(b.take() === "ok" && b.take() === "ok" && b.take() === "new-episode" && b.take() === "dropped");
 * ```
 */
export class Budget {
  readonly #limits: RateBudget;
  readonly #now: () => number;
  readonly #quietMs: number;
  #tokens: number;
  #last: number;
  #lastDrop = -Infinity;
  /** Everything dropped so far. */
  dropped = 0;
  /** Dropped in the current (or last) episode. */
  episodeDropped = 0;

  /**
   * @param limits rate and burst
   * @param now monotonic milliseconds
   * @param quietMs time without drops that ends an episode (default 10 s)
   */
  constructor(limits: RateBudget, now: () => number, quietMs = 10_000) {
    this.#limits = limits;
    this.#now = now;
    this.#quietMs = quietMs;
    this.#tokens = limits.burst;
    this.#last = now();
  }

  /** Take `n` units (default 1). */
  take(n = 1): Take {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#limits.burst,
      this.#tokens + Math.max(0, now - this.#last) * this.#limits.perSecond / 1000,
    );
    this.#last = now;
    if (this.#tokens >= n) {
      this.#tokens -= n;
      return "ok";
    }
    return this.drop(n);
  }

  /** Count `n` units dropped elsewhere (e.g. before they reached the host). */
  drop(n: number): Exclude<Take, "ok"> {
    const now = this.#now();
    this.dropped += n;
    const fresh = now - this.#lastDrop >= this.#quietMs;
    this.#lastDrop = now;
    if (fresh) this.episodeDropped = 0;
    this.episodeDropped += n;
    return fresh ? "new-episode" : "dropped";
  }
}
