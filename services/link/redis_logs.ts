/**
 * Log lines over Redis: each node's newest lines in a capped list `<prefix>:logs:<node>` (RPUSH +
 * LTRIM in one MULTI), so every hub shows every broker's and spoke's logs.
 *
 * @module
 */
import type { LogLine } from "../broker/logs.ts";
import { RedisConnection } from "../events/mod.ts";

/** Lines kept per node. */
export const LOG_LINES_KEPT = 500;
/** Longest stored line read back (a ring line is at most 2000 + 64 characters plus its JSON). */
const LINE_MAX_CHARS = 4096;

/** Key of `node`'s log list. */
export function logKey(prefix: string, node: string): string {
  return `${prefix}:logs:${node}`;
}

/** Appends and reads node log lists. */
export class RedisLogs {
  readonly conn: RedisConnection;
  #prefix: string;

  constructor(options: { url: string; keyPrefix?: string }) {
    this.conn = new RedisConnection({ url: options.url, name: "harvester-logs" });
    this.#prefix = options.keyPrefix ?? "harvester";
  }

  /** @throws {Error} When Redis is unreachable (the caller keeps the lines for the next try). */
  async append(node: string, lines: LogLine[]): Promise<void> {
    if (!lines.length) return;
    if (!this.conn.ready) throw new Error(`Cannot ship logs: Redis is unreachable (${this.conn.lastError})`);
    const key = logKey(this.#prefix, node);
    await this.conn.client.multi()
      .rPush(key, lines.map((l) => JSON.stringify(l)))
      .lTrim(key, -LOG_LINES_KEPT, -1)
      .exec();
  }

  /** The newest lines of `node`, oldest first; none while Redis is unreachable. */
  async lines(node: string): Promise<LogLine[]> {
    if (!this.conn.ready) return [];
    try {
      // The newest lines only, whatever else wrote to the key.
      const raw = await this.conn.client.lRange(logKey(this.#prefix, node), -LOG_LINES_KEPT, -1);
      return raw.flatMap((r) => {
        try {
          // Whatever else wrote the key, a line is held at the size a broker's log ring allows.
          if (r.length > LINE_MAX_CHARS) return [];
          const l = JSON.parse(r);
          return l && typeof l.message === "string" && typeof l.source === "string" ? [l as LogLine] : [];
        } catch {
          return [];
        }
      });
    } catch {
      return [];
    }
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/**
 * Ship a broker's new log lines every `everyMs` (bounded per round); lines that could not be sent
 * are sent on the next round, as the spoke does with its pushes.
 *
 * @returns stop
 */
export function shipLogs(
  logs: RedisLogs,
  node: string,
  after: (seq: number, limit?: number) => { lines: LogLine[]; last: number },
  everyMs = 1000,
): () => Promise<void> {
  let seq = 0;
  let busy: Promise<void> | null = null;
  const round = async () => {
    const { lines, last } = after(seq, 200);
    if (!lines.length) {
      seq = last;
      return;
    }
    try {
      await logs.append(node, lines);
      seq = last;
    } catch { /* Redis away: the same lines next round */ }
  };
  const timer = setInterval(() => {
    busy ??= round().finally(() => (busy = null));
  }, everyMs);
  return async () => {
    clearInterval(timer);
    await busy;
    await round();
  };
}
