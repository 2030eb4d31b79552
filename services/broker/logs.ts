/**
 * Host and plugin log lines of one node, kept in a bounded ring for `/api/logs` and echoed to stderr.
 *
 * @module
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

/** One log line. */
export interface LogLine {
  ts: string;
  level: LogLevel;
  source: string;
  message: string;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

import { lineFormatter, type LogRecord } from "./log_format.ts";

/** Bounded ring of log lines. */
export class LogRing {
  readonly #lines: (LogLine & { seq: number })[] = [];
  #seq = 0;
  readonly #capacity: number;
  readonly #echoLevel: number;
  readonly #echo: (line: string) => void;
  readonly #format: (r: LogRecord) => string;

  constructor(
    options: {
      capacity?: number;
      level?: LogLevel;
      echo?: ((line: string) => void) | null;
      /** How an echoed line reads (text or JSON, journald prefix); default {@link lineFormatter}(). */
      format?: (r: LogRecord) => string;
    } = {},
  ) {
    this.#format = options.format ?? lineFormatter();
    this.#capacity = options.capacity ?? 500;
    this.#echoLevel = RANK[options.level ?? "info"];
    const echo = options.echo === undefined ? (l: string) => console.error(l) : options.echo;
    this.#echo = echo ?? (() => {});
  }

  /** Record a line; echoed when at or above the configured level. */
  log(level: LogLevel, source: string, message: string): void {
    const line = {
      ts: new Date().toISOString(),
      level,
      source,
      message: String(message).slice(0, 2000),
      seq: ++this.#seq,
    };
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.splice(0, this.#lines.length - this.#capacity);
    if (RANK[level] >= this.#echoLevel) {
      this.#echo(this.#format(line));
    }
  }

  /** The newest `limit` lines, oldest first. */
  lines(limit = this.#capacity): LogLine[] {
    return this.#lines.slice(-limit).map(({ seq: _, ...l }) => l);
  }

  /**
   * Lines logged after sequence number `seq` (at most `limit`, oldest first), and the sequence
   * number to ask from next time — how a spoke ships its logs to the hub without repeats.
   */
  after(seq: number, limit = 200): { lines: LogLine[]; last: number } {
    const newer = this.#lines.filter((l) => l.seq > seq).slice(0, limit);
    return {
      lines: newer.map(({ seq: _, ...l }) => l),
      last: newer.length ? newer[newer.length - 1].seq : Math.max(seq, this.#lines.at(-1)?.seq ?? seq),
    };
  }
}
