/** The one error type configuration loading throws. @module */

/** Options for {@link ConfigError}. */
export interface ConfigErrorOptions {
  /** The file at fault (as the user named it), or `built-in defaults`. */
  file: string;
  /** Dotted key path, e.g. `polling.interval_seconds`; empty for file-level problems. */
  keyPath?: string;
  /** TOML syntax error position, 1-based. */
  line?: number;
  column?: number;
  cause?: unknown;
}

/**
 * A configuration problem, worded on one line naming file, key and problem:
 * `config/host.toml: polling.interval_seconds: must be a number ≥ 0.1, got "fast"`.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * const e = new ConfigError("a.toml: x: bad", { file: "a.toml", keyPath: "x" });
 * console.assert(e.file === "a.toml");
 * ```
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly file: string;
  readonly keyPath: string;
  readonly line?: number;
  readonly column?: number;

  constructor(message: string, options: ConfigErrorOptions) {
    super(message, { cause: options.cause });
    this.file = options.file;
    this.keyPath = options.keyPath ?? "";
    this.line = options.line;
    this.column = options.column;
  }
}
