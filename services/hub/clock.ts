/**
 * The clock the hub and the spoke pusher read, injectable so staleness logic runs on fake time.
 *
 * @module
 */

/** Time source and timers. `@sinonjs/fake-timers`' clock satisfies it. */
export interface Clock {
  /** Epoch milliseconds: stamps data only. */
  now(): number;
  /**
   * Monotonic milliseconds for liveness and rate limits, so a wall-clock step (NTP on a board
   * without an RTC) cannot freeze or age nodes; when absent (fake clocks), {@link Clock.now} is used.
   */
  monotonic?(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as number),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id as number),
};

/** `clock`'s monotonic time source, or its `now` when it has none. */
export function monotonicOf(clock: Clock): () => number {
  return clock.monotonic ? () => clock.monotonic!() : () => clock.now();
}
