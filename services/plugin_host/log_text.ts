/**
 * Plugin-supplied text on its way into host logs and events: control characters and line
 * breaks escaped (one plugin line is one log line, and cannot paint a terminal), cut to a
 * bound, copied (never a slice that keeps a larger string alive), and host paths replaced by
 * placeholders so a plugin's error or stack trace never shows where the host keeps its files.
 *
 * @module
 */

/** Plugin ids that would make a plugin's log lines look like the host's own. */
export const RESERVED_IDS: readonly RegExp[] = [
  /^(broker|hub|host|harvester|daemon|scheduler|shm|events|spoke|leds|buzzer|plugin[-_]?host|config|cluster)$/,
  /^sandbox/,
];

/** Whether `id` is reserved for the host. */
export function isReservedId(id: string): boolean {
  return RESERVED_IDS.some((r) => r.test(id));
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escape control characters, cut to `max` characters and return a fresh copy.
 *
 * @example
 * ```ts
 * import { cleanText } from "./log_text.ts";
 * console.assert(cleanText("a\nb\u001b[31m", 100) === "a\\nb\\u001b[31m");
 * ```
 */
export function cleanText(text: string, max: number): string {
  const head = String(text).slice(0, max);
  const escaped = head.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  const cut = escaped.length > max ? escaped.slice(0, max) : escaped;
  // Concatenating then slicing flattens into a new string: nothing keeps `text` alive.
  return (" " + cut + (text.length > max ? "…" : "")).slice(1);
}

/** Replaces known host folders in text with placeholders. */
export class PathRedactor {
  readonly #pairs: [string, string][];

  /** @param folders placeholder → absolute folder, e.g. `{ "<plugins>": "/opt/harvester/plugins" }` */
  constructor(folders: Record<string, string | undefined>) {
    this.#pairs = Object.entries(folders)
      .filter((p): p is [string, string] => typeof p[1] === "string" && p[1].length > 1)
      .flatMap(([name, dir]) => [[`file://${dir}`, name], [dir, name]] as [string, string][])
      .sort((a, b) => b[0].length - a[0].length);
  }

  /** `text` with every known folder replaced. */
  redact(text: string): string {
    let out = text;
    for (const [dir, name] of this.#pairs) if (out.includes(dir)) out = out.split(dir).join(name);
    return out;
  }
}
