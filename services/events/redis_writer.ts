/**
 * {@link RedisEventWriter}: stores a batch of envelopes in one round trip. Each event is
 * `XADD <prefix>:stream MAXLEN ~ N * event <json>` followed by `PUBLISH <prefix>:events`,
 * both inside one Lua script per batch, so the published copy carries the stream id that
 * `XADD` assigned (`{"id":"…",…}`) — the id subscribers track to backfill gaps after a
 * reconnect. A script is atomic: a batch is stored entirely or not at all.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { EventWriter } from "./emitter.ts";
import { RedisConnection } from "./redis_connection.ts";

/** Lua: XADD each event, then PUBLISH it with its new id spliced in first. */
export const WRITE_SCRIPT = `
local maxlen = ARGV[1]
for i = 2, #ARGV do
  local ev = ARGV[i]
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'event', ev)
  redis.call('PUBLISH', KEYS[2], '{"id":"' .. id .. '",' .. string.sub(ev, 2))
end
return #ARGV - 1
`;
const WRITE_SHA = createHash("sha1").update(WRITE_SCRIPT).digest("hex");

/** Key names under a prefix. */
export function eventKeys(prefix: string): { stream: string; channel: string } {
  return { stream: `${prefix}:stream`, channel: `${prefix}:events` };
}

/** Options for {@link RedisEventWriter}. */
export interface RedisEventWriterOptions {
  url: string;
  /** Default `harvester`. */
  keyPrefix?: string;
  /** Approximate stream cap. Default 10 000. */
  streamMaxLen?: number;
  /**
   * Approximate stream cap in bytes (event JSON). The count cap is lowered to
   * `streamMaxBytes / average event size` (a moving average), so large events cannot grow the
   * stream past it. Default 64 MiB.
   */
  streamMaxBytes?: number;
}

/** Redis side of an emitter. */
export class RedisEventWriter implements EventWriter {
  readonly conn: RedisConnection;
  readonly stream: string;
  readonly channel: string;
  #maxLen: number;
  #maxBytes: number;
  /** Moving average of event size, bytes. */
  #avg = 0;

  /**
   * @throws {RangeError} When `streamMaxLen` is not a positive integer.
   * @throws {TypeError} When the URL is not a Redis URL.
   */
  constructor(options: RedisEventWriterOptions) {
    const maxLen = options.streamMaxLen ?? 10_000;
    if (!Number.isInteger(maxLen) || maxLen < 1) {
      throw new RangeError(
        `Cannot create event writer as 'streamMaxLen' must be a positive integer: current value is ${maxLen}`,
      );
    }
    ({ stream: this.stream, channel: this.channel } = eventKeys(options.keyPrefix ?? "harvester"));
    this.#maxLen = maxLen;
    this.#maxBytes = options.streamMaxBytes ?? 64 * 1024 * 1024;
    this.conn = new RedisConnection({ url: options.url, name: "harvester-events" });
  }

  get ready(): boolean {
    return this.conn.ready;
  }

  /** One `EVALSHA` round trip (an `EVAL` once after a restart flushed the script cache). */
  async write(batch: readonly string[]): Promise<void> {
    if (batch.length === 0) return;
    for (const line of batch) {
      this.#avg = this.#avg === 0 ? line.length : this.#avg * 0.99 + line.length * 0.01;
    }
    const byBytes = Math.max(1, Math.floor(this.#maxBytes / Math.max(1, this.#avg)));
    const maxLen = String(Math.min(this.#maxLen, byBytes));
    const tail = ["2", this.stream, this.channel, maxLen, ...batch];
    try {
      await this.conn.client.sendCommand(["EVALSHA", WRITE_SHA, ...tail]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      await this.conn.client.sendCommand(["EVAL", WRITE_SCRIPT, ...tail]);
    }
  }

  onReady(listener: () => void): () => void {
    return this.conn.onReady(() => listener());
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
