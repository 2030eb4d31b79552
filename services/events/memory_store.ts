/**
 * The in-memory event store used without Redis: a ring of the newest `capacity` events, and
 * at most `capacityBytes` of them (as JSON), that is both the {@link EventWriter} of an emitter and an {@link EventLog}. Subscribers
 * are called synchronously, in order; one listener's error never reaches the others.
 *
 * @module
 */
import type { EventEnvelope, EventLog, EventQuery } from "./event.ts";
import type { EventWriter } from "./emitter.ts";
import { checkQuery, matches, parseEnvelope } from "./_query.ts";

/** Options for {@link MemoryEventStore}. */
export interface MemoryEventStoreOptions {
  /** Events kept. Default 10 000. */
  capacity?: number;
  /** Bytes of events kept (their JSON length), oldest dropped first. Default 16 MiB. */
  capacityBytes?: number;
  /** Milliseconds since the epoch, for ids. */
  clock?: () => number;
}

/** Ring-buffer event store with the same reading API as the Redis log. */
export class MemoryEventStore implements EventWriter, EventLog {
  /** Listener exceptions caught and isolated. */
  listenerErrors = 0;
  #capacity: number;
  #capacityBytes: number;
  #clock: () => number;
  /** Oldest first from `#start`; the dead prefix is compacted away now and then. */
  #ring: EventEnvelope[] = [];
  #sizes: number[] = [];
  #start = 0;
  #bytes = 0;
  #lastMs = 0;
  #seq = 0;
  #listeners = new Set<(e: EventEnvelope) => void>();
  #closed = false;

  /**
   * @throws {RangeError} When `capacity` is not a positive integer.
   */
  constructor(options: MemoryEventStoreOptions = {}) {
    const capacity = options.capacity ?? 10_000;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create event ring as 'capacity' must be a positive integer: current value is ${capacity}`,
      );
    }
    const capacityBytes = options.capacityBytes ?? 16 * 1024 * 1024;
    if (!(capacityBytes >= 1)) {
      throw new RangeError(
        `Cannot create event ring as 'capacityBytes' must be positive: current value is ${capacityBytes}`,
      );
    }
    this.#capacity = capacity;
    this.#capacityBytes = capacityBytes;
    this.#clock = options.clock ?? Date.now;
  }

  /** Always reachable until closed. */
  get ready(): boolean {
    return !this.#closed;
  }

  /** Number of events held. */
  get size(): number {
    return this.#ring.length - this.#start;
  }

  /** Bytes of events held (JSON length). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Store serialized envelopes and fan them out to subscribers. */
  write(batch: readonly string[]): Promise<void> {
    for (const line of batch) {
      const event = parseEnvelope(line, this.#nextId());
      if (event) this.#store(event, line.length);
    }
    return Promise.resolve();
  }

  /** Store one envelope (its `id` is kept when given, otherwise assigned). */
  append(event: EventEnvelope): EventEnvelope {
    return this.#store(event, JSON.stringify(event).length);
  }

  #store(event: EventEnvelope, bytes: number): EventEnvelope {
    const stored = event.id ? event : { id: this.#nextId(), ...event };
    this.#ring.push(stored);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
    // Keep at least the newest event, even one larger than the byte budget.
    while (this.size > 1 && (this.size > this.#capacity || this.#bytes > this.#capacityBytes)) {
      this.#bytes -= this.#sizes[this.#start];
      this.#start++;
    }
    if (this.#start > 1024 && this.#start * 2 > this.#ring.length) {
      this.#ring = this.#ring.slice(this.#start);
      this.#sizes = this.#sizes.slice(this.#start);
      this.#start = 0;
    }
    for (const l of [...this.#listeners]) {
      try {
        l(stored);
      } catch {
        this.listenerErrors++;
      }
    }
    return stored;
  }

  /** Ready immediately; never fires again. */
  onReady(_listener: () => void): () => void {
    return () => {};
  }

  /** The newest `count` events, oldest first. */
  latest(count: number): Promise<EventEnvelope[]> {
    const n = Math.min(this.size, Math.max(0, Math.floor(count)));
    return Promise.resolve(this.#ring.slice(this.#ring.length - n));
  }

  /**
   * With `since`: the first `limit` matching events after it (page on with the last id);
   * without: the newest `limit` matching events. Oldest first either way.
   *
   * @throws {RangeError} For a bad `limit`. @throws {TypeError} For a bad `since`.
   */
  query(q: EventQuery): Promise<EventEnvelope[]> {
    try {
      const cq = checkQuery(q);
      const hits = this.#ordered().filter((e) => matches(e, cq));
      return Promise.resolve(cq.since ? hits.slice(0, cq.limit) : hits.slice(-cq.limit));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Follow new events (synchronous fan-out). */
  subscribe(listener: (event: EventEnvelope) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stop accepting writes; reads keep working. */
  close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    return Promise.resolve();
  }

  #ordered(): EventEnvelope[] {
    return this.#ring.slice(this.#start);
  }

  #nextId(): string {
    const now = this.#clock();
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#seq = 0;
    } else this.#seq++;
    return `${this.#lastMs}-${this.#seq}`;
  }
}
