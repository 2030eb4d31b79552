/**
 * How a log line is written to stderr: plain text or one JSON object per line, with a
 * syslog priority prefix (`<3>` error … `<7>` debug) when stderr is the systemd journal
 * (`JOURNAL_STREAM` is set), so `journalctl -p warning` filters. Control characters and
 * newlines are escaped: one record is always one line.
 *
 * @module
 */
import type { LogLevel } from "./logs.ts";

/** `text` or `json`. */
export type LogFormat = "text" | "json";

/** syslog(3) priorities journald reads from a `<N>` prefix. */
export const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** Options for {@link lineFormatter}. */
export interface LineFormatOptions {
  format?: LogFormat;
  /** Prefix `<N>`; default: when `JOURNAL_STREAM` is set (stderr is the journal). */
  journald?: boolean;
}

/** One log record. */
export interface LogRecord {
  ts: string;
  level: LogLevel;
  source: string;
  message: string;
}

/** Escape what could break a line or fake a new one: newlines, CR, other C0/C1 controls, DEL. */
export function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

function journaldDefault(): boolean {
  try {
    return (Deno.env.get("JOURNAL_STREAM") ?? "") !== "";
  } catch {
    return false;
  }
}

/**
 * A function turning a record into the one line to write.
 *
 * @example
 * ```ts
 * import { lineFormatter } from "./log_format.ts";
 * const f = lineFormatter({ format: "json", journald: true });
 * console.assert(f({ ts: "t", level: "warn", source: "hub", message: "x" }).startsWith("<4>{"));
 * ```
 */
export function lineFormatter(options: LineFormatOptions = {}): (r: LogRecord) => string {
  const journald = options.journald ?? journaldDefault();
  const prefix = (level: LogLevel) => journald ? `<${PRIORITY[level]}>` : "";
  if (options.format === "json") {
    return (r) =>
      prefix(r.level) +
      JSON.stringify({
        ts: r.ts,
        level: r.level,
        priority: PRIORITY[r.level],
        source: r.source,
        message: r.message,
      });
  }
  return (r) => `${prefix(r.level)}${r.ts} ${r.level.padEnd(5)} [${oneLine(r.source)}] ${oneLine(r.message)}`;
}
