/**
 * {@link RedisEventWriter}: stores a batch of envelopes in one round trip. Each event is
 * `XADD <prefix>:stream MAXLEN ~ N * event <json>` followed by `PUBLISH <prefix>:events`,
 * both inside one Lua script per batch, so the published copy carries the stream id that
 * `XADD` assigned (`{"id":"…",…}`) — the id subscribers track to backfill gaps after a
 * reconnect. A script is atomic: a batch is stored entirely or not at all.
 *
 * Behind Sentinel a write the master acknowledged can still be lost: replication is asynchronous
 * and a failover promotes a replica that may lack the last writes. So each batch is followed by
 * `WAIT 1 <ms>`; batches no replica confirmed are kept (bounded in bytes). When the connection
 * comes up on a new master, the kept batches whose stream ids are past the new master's newest id
 * (a replica holds a prefix of the master's writes) were lost: they go back to the emitter to be
 * written again, and what the bound had to let go is counted as dropped.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { EventWriter } from "./emitter.ts";
import { RedisConnection } from "./redis_connection.ts";

/** Lua: XADD each event, then PUBLISH it with its new id spliced in first. */
export const WRITE_SCRIPT = `
local maxlen = ARGV[1]
local ids = {}
for i = 2, #ARGV do
  local ev = ARGV[i]
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'event', ev)
  redis.call('PUBLISH', KEYS[2], '{"id":"' .. id .. '",' .. string.sub(ev, 2))
  ids[#ids + 1] = id
end
return ids
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
  /** Sentinel targets: longest wait for a replica to confirm a batch (`WAIT 1 <ms>`). Default 100. */
  confirmWaitMs?: number;
  /** Sentinel targets: most bytes of unconfirmed events kept for a replay after a failover. Default 4 MiB. */
  unconfirmedMaxBytes?: number;
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
  #waitMs: number;
  #keptMax: number;
  /** Batches written but not yet confirmed by a replica: [stream id, line]. */
  #kept: Array<[string, string]> = [];
  #keptBytes = 0;
  /** Unconfirmed events the byte bound let go since the last failover check. */
  #keptDropped = 0;
  #recovered = new Set<(replay: string[], lost: number) => void>();
  /** Events written again after a failover lost them; events lost for good. */
  counters = { replayed: 0, lost: 0, unconfirmedBatches: 0 };

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
    this.#waitMs = options.confirmWaitMs ?? 100;
    this.#keptMax = options.unconfirmedMaxBytes ?? 4 * 1024 * 1024;
    this.conn.onReady((_first, renewed) => {
      if (renewed && this.#kept.length + this.#keptDropped > 0) void this.#checkKept();
    });
  }

  /** Call `listener` with events a failover lost (to write again) and the count lost for good. */
  onRecovered(listener: (replay: string[], lost: number) => void): () => void {
    this.#recovered.add(listener);
    return () => this.#recovered.delete(listener);
  }

  /** On a new master: which kept events did it not get? */
  async #checkKept(): Promise<void> {
    const kept = this.#kept;
    const dropped = this.#keptDropped;
    this.#kept = [];
    this.#keptBytes = 0;
    this.#keptDropped = 0;
    let newest = "0-0";
    try {
      const raw = await this.conn.client.sendCommand(["XREVRANGE", this.stream, "+", "-", "COUNT", "1"]);
      newest = (raw as unknown as [string, string[]][])[0]?.[0] ?? "0-0";
    } catch {
      // Cannot tell: keep them for the next connect.
      this.#kept = kept;
      this.#keptDropped = dropped;
      return;
    }
    const replay = kept.filter(([id]) => compareIds(id, newest) > 0).map(([, line]) => line);
    // What the bound let go was older than everything kept: lost only if the oldest kept was.
    const lost = dropped > 0 && (kept.length === 0 || compareIds(kept[0][0], newest) > 0) ? dropped : 0;
    this.counters.replayed += replay.length;
    this.counters.lost += lost;
    if (replay.length || lost) { for (const l of this.#recovered) l(replay, lost); }
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
    let ids: unknown;
    try {
      ids = await this.conn.client.sendCommand(["EVALSHA", WRITE_SHA, ...tail]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      ids = await this.conn.client.sendCommand(["EVAL", WRITE_SCRIPT, ...tail]);
    }
    if (this.conn.sentinel) await this.#confirm(batch, Array.isArray(ids) ? ids.map(String) : []);
  }

  /** `WAIT 1`: a confirmed batch confirms every earlier one (replication is in order). */
  async #confirm(batch: readonly string[], ids: string[]): Promise<void> {
    let acked = 0;
    try {
      acked = Number(await this.conn.client.sendCommand(["WAIT", "1", String(this.#waitMs)]));
    } catch { /* unknown: keep the batch */ }
    if (acked >= 1) {
      this.#kept = [];
      this.#keptBytes = 0;
      this.#keptDropped = 0;
      return;
    }
    this.counters.unconfirmedBatches++;
    for (let i = 0; i < batch.length && i < ids.length; i++) {
      this.#kept.push([ids[i], batch[i]]);
      this.#keptBytes += batch[i].length;
    }
    while (this.#keptBytes > this.#keptMax && this.#kept.length) {
      this.#keptBytes -= this.#kept.shift()![1].length;
      this.#keptDropped++;
    }
  }

  onReady(listener: () => void): () => void {
    return this.conn.onReady(() => listener());
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/** Order of two stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am !== bm ? am - bm : (as ?? 0) - (bs ?? 0);
}
