/**
 * The broker ↔ sandbox wire protocol: newline-delimited JSON over the sandbox child's
 * stdin/stdout. `JSON.stringify` escapes every newline inside strings, so one message is
 * exactly one line. Both ends read with a {@link LineDecoder} that refuses lines longer
 * than a fixed bound, so neither side's memory grows with what the other sends.
 *
 * @module
 */
import type { EffectiveGrant } from "./grant.ts";

/** Plugin functions the broker can call. */
export type CallName = "poll" | "update" | "render" | "onEvent" | "command";

/** An error as it crosses the wire. */
export interface WireError {
  name: string;
  message: string;
  /** Set for `CapabilityError`. */
  capability?: string;
  argument?: string;
}

/** What the broker sends a sandbox process. */
export type ToSandbox =
  | { t: "init"; bootstrap: string; token: string }
  | {
    t: "load";
    plugin: string;
    code: string;
    grant: EffectiveGrant;
    settings: Record<string, unknown>;
    ledCount: number;
    /**
     * Pool key: plugins loaded with the same key share one worker (trusted plugins: the least
     * memory, no boundary between them). Without it the plugin gets a worker of its own.
     */
    worker?: string;
  }
  | { t: "unload"; plugin: string }
  | { t: "call"; id: number; plugin: string; fn: CallName; args: unknown[] }
  | { t: "reply"; plugin: string; id: number; ok: boolean; value?: unknown; error?: WireError };

/**
 * What a sandbox process sends the broker. `plugin` is set by the sandbox, never by plugin code.
 * Each line starts with the random token the broker sent in `init` and a space: plugin code
 * (whose `console` also ends up on the process's stdout) never learns the token, so it cannot
 * forge a message; the broker treats any other line as plain plugin output.
 */
export type FromSandbox =
  | { t: "ready" }
  | { t: "loaded"; plugin: string; ok: boolean; error?: WireError }
  | { t: "result"; plugin: string; id: number; ok: boolean; value?: unknown; error?: WireError }
  | { t: "cap"; plugin: string; id: number; method: string; args: unknown[] }
  | { t: "crash"; plugin: string; error: WireError }
  /** A neighbour in its pooled worker failed and the worker was ended: `plugin` is not to blame. */
  | { t: "evicted"; plugin: string; reason: string };

/** Longest line the broker accepts from a sandbox (a plugin result or capability call). */
export const MAX_SANDBOX_LINE = 1 << 20;
/** Longest line a sandbox accepts from the broker (a plugin bundle). */
export const MAX_BROKER_LINE = 16 << 20;

/**
 * Split a byte stream into lines, refusing any line longer than `maxLine` bytes.
 *
 * @example
 * ```ts
 * import { LineDecoder } from "./protocol.ts";
 * const d = new LineDecoder(100);
 * console.assert(d.push(new TextEncoder().encode('{"t":"ready"}\n{"a"')).length === 1);
 * ```
 */
export class LineDecoder {
  readonly #max: number;
  #parts: Uint8Array[] = [];
  #size = 0;
  readonly #text = new TextDecoder();

  /** @param maxLine largest accepted line in bytes */
  constructor(maxLine: number) {
    this.#max = maxLine;
  }

  /**
   * Feed bytes; returns the complete lines they finish (without the newline).
   *
   * @throws {RangeError} when a line grows past the bound
   */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      this.#append(chunk.subarray(start, i));
      lines.push(this.#take());
      start = i + 1;
    }
    this.#append(chunk.subarray(start));
    return lines;
  }

  #append(part: Uint8Array): void {
    if (part.length === 0) return;
    this.#size += part.length;
    if (this.#size > this.#max) {
      this.#parts = [];
      this.#size = 0;
      throw new RangeError(`Cannot read protocol line: longer than ${this.#max} bytes`);
    }
    this.#parts.push(part.slice());
  }

  #take(): string {
    const all = new Uint8Array(this.#size);
    let o = 0;
    for (const p of this.#parts) {
      all.set(p, o);
      o += p.length;
    }
    this.#parts = [];
    this.#size = 0;
    return this.#text.decode(all);
  }
}

/**
 * Turn any thrown value into a {@link WireError} (name and fields capped at 100 characters, the
 * message at 1000). An error that already crossed a `postMessage` (a plain object with a string
 * `message`) keeps its name and message.
 */
export function toWireError(e: unknown): WireError {
  const crossed = typeof e === "object" && e !== null && typeof (e as WireError).message === "string";
  const err = (e instanceof Error || crossed ? e : new Error(String(e))) as Record<string, unknown>;
  const out: WireError = {
    name: String(err.name ?? "Error").slice(0, 100),
    message: String(err.message).slice(0, 1000),
  };
  if (typeof err.capability === "string") out.capability = err.capability.slice(0, 100);
  if (typeof err.argument === "string") out.argument = err.argument.slice(0, 100);
  return out;
}
