/**
 * {@link RedisEventLog}: reads the capped stream (`XREVRANGE`/`XRANGE`) and follows the
 * channel on a dedicated pub/sub connection. It remembers the id of the last event it
 * delivered; after the subscriber reconnects it backfills the gap from the stream, holding
 * live messages until the backfill is delivered so subscribers see each event once, in order.
 *
 * @module
 */
import type { EventEnvelope, EventLog, EventQuery } from "./event.ts";
import { checkQuery, compareIds, matches, parseEnvelope } from "./_query.ts";
import { RedisConnection } from "./redis_connection.ts";
import { eventKeys } from "./redis_writer.ts";

/** Options for {@link RedisEventLog}. */
export interface RedisEventLogOptions {
  url: string;
  /** Default `harvester`. */
  keyPrefix?: string;
  /** Most events a backfill reads. Default 10 000. */
  backfillMax?: number;
}

type StreamEntry = { id: string; message: Record<string, string> };

/** Most entries one query scans before giving up on finding `limit` matches. */
const SCAN_MAX = 20_000;

/** Event log over a Redis stream and channel. */
export class RedisEventLog implements EventLog {
  readonly stream: string;
  readonly channel: string;
  /** Events delivered by backfill after a reconnect (for tests and metrics). */
  backfilled = 0;
  /** Listener exceptions caught and isolated. */
  listenerErrors = 0;
  #url: string;
  #backfillMax: number;
  #cmd: RedisConnection;
  #sub: RedisConnection | null = null;
  #listeners = new Set<(e: EventEnvelope) => void>();
  #lastId: string | null = null;
  #held: EventEnvelope[] | null = null;
  #subscribedOnce = false;
  #work: Promise<void> = Promise.resolve();

  /** @throws {TypeError} When the URL is not a Redis URL. */
  constructor(options: RedisEventLogOptions) {
    ({ stream: this.stream, channel: this.channel } = eventKeys(options.keyPrefix ?? "harvester"));
    this.#url = options.url;
    this.#backfillMax = options.backfillMax ?? 10_000;
    this.#cmd = new RedisConnection({ url: options.url, name: "harvester-events-read" });
  }

  /** True while the subscriber connection is up. */
  get subscribed(): boolean {
    return this.#sub?.ready ?? false;
  }

  /**
   * The newest `count` events, oldest first.
   *
   * @throws {Error} When Redis is unreachable.
   */
  async latest(count: number): Promise<EventEnvelope[]> {
    const n = Math.max(0, Math.min(Math.floor(count), 10_000));
    if (n === 0) return [];
    const entries = await this.#range("XREVRANGE", "+", "-", n);
    return toEvents(entries).reverse();
  }

  /**
   * With `since`: the first `limit` matching events after it (page on with the last id);
   * without: the newest `limit` matching events. Oldest first either way.
   *
   * @throws {RangeError} For a bad `limit`. @throws {TypeError} For a bad `since`.
   * @throws {Error} When Redis is unreachable.
   */
  async query(q: EventQuery): Promise<EventEnvelope[]> {
    const cq = checkQuery(q);
    const chunk = Math.max(cq.limit, 200);
    const out: EventEnvelope[] = [];
    let scanned = 0;
    if (cq.since) {
      // Stream ids are stamped when stored, never before the event's ts, so the id range
      // starting at `since` holds every event with a later ts.
      let start = cq.since.kind === "id" ? `(${cq.since.id}` : `${cq.since.ms}-0`;
      while (out.length < cq.limit && scanned < SCAN_MAX) {
        const entries = await this.#range("XRANGE", start, "+", chunk);
        scanned += entries.length;
        for (const e of toEvents(entries)) if (out.length < cq.limit && matches(e, cq)) out.push(e);
        if (entries.length < chunk) break;
        start = `(${entries[entries.length - 1].id}`;
      }
      return out;
    }
    let end = "+";
    while (out.length < cq.limit && scanned < SCAN_MAX) {
      const entries = await this.#range("XREVRANGE", end, "-", chunk);
      scanned += entries.length;
      for (const e of toEvents(entries)) if (out.length < cq.limit && matches(e, cq)) out.push(e);
      if (entries.length < chunk) break;
      end = `(${entries[entries.length - 1].id}`;
    }
    return out.reverse();
  }

  /** Follow new events. The first subscriber opens the pub/sub connection. */
  subscribe(listener: (event: EventEnvelope) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#sub) this.#openSubscriber();
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolve once the subscriber is connected and subscribed, or false after `timeoutMs`.
   *
   * @param timeoutMs Longest wait.
   */
  async waitSubscribed(timeoutMs: number): Promise<boolean> {
    if (!this.#sub) return false;
    const ok = await this.#sub.waitReady(timeoutMs);
    await this.#work;
    return ok;
  }

  /** Close both connections. */
  async close(): Promise<void> {
    this.#listeners.clear();
    await Promise.all([this.#cmd.close(), this.#sub?.close()]);
    await this.#work.catch(() => {});
  }

  async #range(cmd: "XRANGE" | "XREVRANGE", a: string, b: string, count: number): Promise<StreamEntry[]> {
    if (!this.#cmd.ready && !(await this.#cmd.waitReady(1000))) {
      throw new Error(`Cannot read events: Redis at ${this.#url} is unreachable (${this.#cmd.lastError})`);
    }
    const raw = await this.#cmd.client.sendCommand([cmd, this.stream, a, b, "COUNT", String(count)]);
    return (raw as unknown as [string, string[]][]).map(([id, fields]) => ({ id, message: pairs(fields) }));
  }

  #openSubscriber(): void {
    const sub = new RedisConnection({ url: this.#url, name: "harvester-events-sub" });
    this.#sub = sub;
    sub.onReady((_first, renewed) => {
      // Until one SUBSCRIBE succeeded, every (re)connect subscribes; afterwards node-redis
      // resubscribes by itself and we only backfill the gap. A new client (a Sentinel failover
      // moved the connection to the promoted master) has no subscription: subscribe again.
      if (renewed) this.#subscribedOnce = false;
      this.#work = this.#work.then(() => this.#subscribedOnce ? this.#backfill() : this.#start(sub)).catch(
        () => {},
      );
    });
  }

  async #start(sub: RedisConnection): Promise<void> {
    // Anchor at the newest stored event before subscribing, then backfill from the anchor:
    // what was stored between the two is delivered once, live messages wait meanwhile.
    if (this.#lastId === null) {
      const newest = await this.#range("XREVRANGE", "+", "-", 1).catch(() => []);
      this.#lastId = newest[0]?.id ?? "0-0";
    }
    this.#held = [];
    try {
      await sub.client.subscribe(this.channel, (message: string) => this.#onMessage(message));
      this.#subscribedOnce = true;
      await this.#fill();
    } finally {
      this.#release();
    }
  }

  async #backfill(): Promise<void> {
    this.#held = [];
    try {
      await this.#fill();
    } finally {
      this.#release();
    }
  }

  async #fill(): Promise<void> {
    if (this.#lastId === null) return;
    let entries: StreamEntry[] = [];
    for (let attempt = 1;; attempt++) {
      try {
        entries = await this.#range("XRANGE", `(${this.#lastId}`, "+", this.#backfillMax);
        break;
      } catch (err) {
        if (attempt >= 5 || this.#cmd.closed) throw err;
      }
    }
    for (const e of toEvents(entries)) {
      this.backfilled++;
      this.#deliver(e);
    }
  }

  #release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const e of held) this.#deliver(e);
  }

  #onMessage(message: string): void {
    const e = parseEnvelope(message);
    if (!e) return;
    if (this.#held) this.#held.push(e);
    else this.#deliver(e);
  }

  #deliver(e: EventEnvelope): void {
    if (e.id && this.#lastId && compareIds(e.id, this.#lastId) <= 0) return;
    if (e.id) this.#lastId = e.id;
    for (const l of [...this.#listeners]) {
      try {
        l(e);
      } catch {
        this.listenerErrors++;
      }
    }
  }
}

function pairs(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]] = fields[i + 1];
  return out;
}

function toEvents(entries: StreamEntry[]): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (const { id, message } of entries) {
    const e = message.event === undefined ? null : parseEnvelope(message.event, id);
    if (e) out.push(e);
  }
  return out;
}
