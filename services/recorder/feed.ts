/**
 * {@link RecorderFeed}: feeds the recorder from the event flow the live feed uses. Reading events
 * are batched (one transaction per batch). At start it first catches up from the recorder's last
 * stored stream id (with Redis, a hub restart or a short outage leaves no gap), while new events
 * already wait in the batch; duplicates from the overlap count once.
 *
 * @module
 */
import type { EventEnvelope, EventLog } from "../events/event.ts";
import type { ReadingRecord } from "../shm/snapshot.ts";
import type { Recorder } from "./recorder.ts";
import type { RecordSink } from "./writer.ts";

/** Options for {@link RecorderFeed}. */
export interface RecorderFeedOptions {
  /** Where catch-up starts (`lastEventId`), and where batches go unless `sink` is given. */
  recorder: Pick<Recorder, "lastEventId"> & Partial<RecordSink>;
  /** Where batches are written (the writer worker); default `recorder`. */
  sink?: RecordSink;
  events: EventLog;
  /** Longest a reading waits before its batch is written, ms. Default 250. */
  batchMs?: number;
  /** Largest batch. Default 2000 readings. */
  batchMax?: number;
  /** Events read per catch-up page. Default 1000. */
  pageSize?: number;
  /** Pages read at most at start (bounds the catch-up). Default 200. */
  maxPages?: number;
}

function asReading(e: EventEnvelope): ReadingRecord | null {
  const d = e.data as Partial<ReadingRecord>;
  if (e.type !== "reading" || typeof d?.node !== "string" || typeof d.sensor !== "string") return null;
  if (typeof d.timestamp !== "string" || typeof d.values !== "object" || d.values === null) return null;
  return d as ReadingRecord;
}

/** Reading events → the recorder. */
export class RecorderFeed {
  readonly #o: RecorderFeedOptions;
  #batch: ReadingRecord[] = [];
  #lastId: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | null = null;
  /** Wall time of the last batch's write on the event loop, ms (bench and /metrics). */
  lastFlushMs = 0;

  constructor(options: RecorderFeedOptions) {
    this.#o = options;
  }

  #sink(): RecordSink {
    const sink = this.#o.sink ?? (this.#o.recorder.record ? (this.#o.recorder as RecordSink) : undefined);
    if (!sink) throw new TypeError("Cannot feed the recorder: no sink given");
    return sink;
  }

  /** Subscribe, then catch up from the last stored id. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#o.events.subscribe((e) => this.push(e));
    let since = this.#o.recorder.lastEventId ?? undefined;
    if (since === undefined) return;
    const page = this.#o.pageSize ?? 1000;
    for (let i = 0; i < (this.#o.maxPages ?? 200); i++) {
      let events: EventEnvelope[];
      try {
        events = await this.#o.events.query({ since, type: "reading", limit: page });
      } catch {
        return; // the log is away: live events still arrive once it is back
      }
      const readings = events.map(asReading).filter((r): r is ReadingRecord => r !== null);
      const last = events.at(-1)?.id;
      this.#sink().record(readings, last);
      if (events.length < page || !last) return;
      since = last;
    }
  }

  /** One event from the flow. */
  push(e: EventEnvelope): void {
    const r = asReading(e);
    if (!r) return;
    this.#batch.push(r);
    if (e.id) this.#lastId = e.id;
    if (this.#batch.length >= (this.#o.batchMax ?? 2000)) this.flush();
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), this.#o.batchMs ?? 250);
  }

  /** Write the waiting batch now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    const t0 = performance.now();
    this.#sink().record(batch, this.#lastId);
    this.lastFlushMs = performance.now() - t0;
  }

  /** Flush and stop following. */
  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.flush();
  }
}
