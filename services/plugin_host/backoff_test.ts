import assert from "node:assert/strict";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";

Deno.test("backoffDelay() doubles from 1 s and caps at 60 s by default", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelay(n, DEFAULT_BACKOFF)), [
    1000,
    2000,
    4000,
    8000,
    16000,
    32000,
    60000,
    60000,
    60000,
  ]);
  assert.equal(DEFAULT_BACKOFF.maxFailures, 5);
});

Deno.test("backoffDelay() refuses a failure count that is not a positive integer", () => {
  assert.throws(() => backoffDelay(0, DEFAULT_BACKOFF), {
    name: "RangeError",
    message: "Cannot compute backoff as 'failures' must be a positive integer: current value is 0",
  });
});
