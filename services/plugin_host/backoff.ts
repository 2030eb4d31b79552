/**
 * Restart backoff: exponential from a base, capped, and the failure count that quarantines.
 *
 * @module
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** First delay in ms (default 1000). */
  baseMs: number;
  /** Largest delay in ms (default 60000). */
  capMs: number;
  /** Failures within `windowMs` that put a plugin in quarantine (default 5). */
  maxFailures: number;
  /** The window failures are counted in (default 10 minutes). */
  windowMs: number;
}

/** Defaults from the design: 1 s doubling to 60 s, quarantine after 5 failures in 10 minutes. */
export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: 1000,
  capMs: 60_000,
  maxFailures: 5,
  windowMs: 600_000,
};

/**
 * Delay before the restart that follows the `failures`-th consecutive failure.
 *
 * @param failures consecutive failures so far, ≥ 1
 * @param options base and cap
 * @returns `min(cap, base · 2^(failures-1))`
 * @throws {RangeError} when `failures` is not a positive integer
 * @example
 * ```ts
 * import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";
 * console.assert(backoffDelay(3, DEFAULT_BACKOFF) === 4000);
 * ```
 */
export function backoffDelay(failures: number, options: Pick<BackoffOptions, "baseMs" | "capMs">): number {
  if (!Number.isInteger(failures) || failures < 1) {
    throw new RangeError(
      `Cannot compute backoff as 'failures' must be a positive integer: current value is ${failures}`,
    );
  }
  return Math.min(options.capMs, options.baseMs * 2 ** Math.min(failures - 1, 30));
}
