/**
 * Host and plugin log lines of one node, kept in a bounded ring for `/api/logs` and echoed to stderr.
 *
 * @module
 */

import { lineFormatter, type LogRecord, oneLine } from "./log_format.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** One log line. */
export interface LogLine {
  ts: string;
  level: LogLevel;
  source: string;
  message: string;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * Bounded ring of log lines. When full, the line evicted is the oldest of the source holding the
 * most lines: one chatty source cannot push the host's or its neighbours' lines out.
 */
export class LogRing {
  readonly #lines: (LogLine & { seq: number })[] = [];
  readonly #perSource = new Map<string, number>();
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
      source: oneLine(String(source).slice(0, 64)),
      message: (" " + oneLine(String(message).slice(0, 2000))).slice(1),
      seq: ++this.#seq,
    };
    this.#lines.push(line);
    this.#perSource.set(line.source, (this.#perSource.get(line.source) ?? 0) + 1);
    while (this.#lines.length > this.#capacity) this.#evict();
    if (RANK[level] >= this.#echoLevel) {
      this.#echo(this.#format(line));
    }
  }

  /** Drop the oldest line of the source with the most lines. */
  #evict(): void {
    let top = "";
    let most = -1;
    for (const [source, n] of this.#perSource) {
      if (n > most) [top, most] = [source, n];
    }
    const i = this.#lines.findIndex((l) => l.source === top);
    const [gone] = this.#lines.splice(i, 1);
    const left = (this.#perSource.get(gone.source) ?? 1) - 1;
    if (left > 0) this.#perSource.set(gone.source, left);
    else this.#perSource.delete(gone.source);
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
