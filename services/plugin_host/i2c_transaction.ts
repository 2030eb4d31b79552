/**
 * The broker's reading of an `i2c.transaction` request: the steps a plugin sent, checked for
 * shape and against the per-transaction bounds of the SDK ({@link I2C_TRANSACTION_LIMITS})
 * before any of them runs. Grants and execution stay with the capability checker.
 *
 * Wire form: `["i2c.transaction", [bus | null, steps]]`, each step `{ address, write, read }`
 * or `{ delayMs }`.
 *
 * @module
 */
import { I2C_TRANSACTION_LIMITS } from "../../plugins/sdk/mod.ts";

/** A checked step. */
export type TransactionStep =
  | { kind: "transfer"; address: number; write: Uint8Array; readLen: number }
  | { kind: "delay"; ms: number };

const METHOD = "i2c.transaction";

/**
 * How many calls a request counts for against the call budget: one per step, so a batch is
 * no way around the budget (a malformed list counts as one; it is refused when parsed).
 */
export function transactionWeight(steps: unknown): number {
  return Array.isArray(steps) ? Math.max(1, Math.min(steps.length, I2C_TRANSACTION_LIMITS.steps)) : 1;
}

/** A step as a person reads it in an error, e.g. `write 0x74 0x91 to 0x77`. */
export function describeStep(s: TransactionStep): string {
  if (s.kind === "delay") return `wait ${s.ms} ms`;
  const h = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;
  const w = s.write.length === 0
    ? ""
    : `write ${[...s.write.subarray(0, 4)].map(h).join(" ")}${s.write.length > 4 ? " …" : ""}`;
  const r = s.readLen > 0 ? `read ${s.readLen} bytes` : "";
  return `${[w, r].filter(Boolean).join(", then ") || "empty transfer"} at ${h(s.address)}`;
}

/**
 * Check the steps of a transaction.
 *
 * @param raw the step list from the plugin
 * @returns the steps, typed
 * @throws {TypeError} naming the first malformed step; {@link RangeError} when the list is empty or
 *   over a bound (steps, bytes written plus read, total wait)
 */
export function parseTransaction(raw: unknown): TransactionStep[] {
  const L = I2C_TRANSACTION_LIMITS;
  if (!Array.isArray(raw)) {
    throw new TypeError(`Cannot call "${METHOD}": steps must be an array, got ${kind(raw)}`);
  }
  if (raw.length === 0 || raw.length > L.steps) {
    throw new RangeError(`Cannot call "${METHOD}": it takes 1..${L.steps} steps, got ${raw.length}`);
  }
  const steps: TransactionStep[] = [];
  let bytes = 0;
  let delay = 0;
  raw.forEach((r, i) => {
    const at = `step ${i + 1} of ${raw.length}`;
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw new TypeError(`Cannot call "${METHOD}": ${at} must be an object, got ${kind(r)}`);
    }
    const o = r as Record<string, unknown>;
    if ("delayMs" in o) {
      const ms = int(at, "delayMs", o.delayMs, 0, L.delayMs);
      delay += ms;
      if (delay > L.delayMs) {
        throw new RangeError(`Cannot call "${METHOD}": waits add up to more than ${L.delayMs} ms at ${at}`);
      }
      steps.push({ kind: "delay", ms });
      return;
    }
    const address = int(at, "address", o.address, 0, 0x7f);
    const write = o.write ?? [];
    if (!Array.isArray(write) || !write.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) {
      throw new TypeError(`Cannot call "${METHOD}": ${at}: write must be an array of bytes 0..255`);
    }
    const readLen = int(at, "read", o.read ?? 0, 0, L.bytes);
    bytes += write.length + readLen;
    if (bytes > L.bytes) {
      throw new RangeError(
        `Cannot call "${METHOD}": more than ${L.bytes} bytes written plus read in total at ${at}`,
      );
    }
    steps.push({ kind: "transfer", address, write: Uint8Array.from(write as number[]), readLen });
  });
  return steps;
}

function int(at: string, name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(
      `Cannot call "${METHOD}": ${at}: ${name} must be an integer ${min}..${max}, got ${
        JSON.stringify(v) ?? String(v)
      }`,
    );
  }
  return v;
}

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}
