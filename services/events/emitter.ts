/**
 * The {@link Emitter}: `emit(type, data)` from anywhere — it never throws and never waits.
 * Events are serialized at once (later mutation of `data` does not leak in), queued in a
 * bounded buffer, and a background writer drains the buffer in batches, one round trip per
 * batch. While the store is unreachable the buffer holds the newest `bufferMax` events; the
 * oldest are dropped first, counted, and reported as one `events.dropped` event as soon as
 * a batch gets through again.
 *
 * @module
 */
import type { EmitterStats, EventSink } from "./event.ts";

/** Where an {@link Emitter} writes. Implemented by the Redis writer and the in-memory ring. */
export interface EventWriter {
  /** True while {@link EventWriter.write} can succeed. */
  readonly ready: boolean;
  /**
   * Store serialized envelopes, in order, in one round trip. Rejects when the store is
   * unreachable; then it stored all or nothing of the batch.
   */
  write(batch: readonly string[]): Promise<void>;
  /** Call `listener` whenever the store becomes reachable. Returns an unsubscribe function. */
  onReady(listener: () => void): () => void;
  /**
   * Optional: events the store acknowledged and then lost (a failover to a replica that lacked
   * them), to be written again, and the count lost for good.
   */
  onRecovered?(listener: (replay: string[], lost: number) => void): () => void;
  close(): Promise<void>;
}

/** Options for {@link Emitter}. */
export interface EmitterOptions {
  /** Node id written into every envelope. */
  node: string;
  writer: EventWriter;
  /** Most events held while the store is away (oldest dropped first). Default 10 000. */
  bufferMax?: number;
  /** Most events per round trip. Default 500. */
  batchMax?: number;
  /** Largest event (JSON bytes); a bigger one is replaced by an `oversized` stub. Default 16 KiB. */
  eventMaxBytes?: number;
  /** Most bytes held while the store is away (oldest dropped first). Default 8 MiB. */
  bufferMaxBytes?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  clock?: () => number;
}

/** {@link EmitterStats} plus the writer's own counters. */
export interface EmitterCounters extends EmitterStats {
  /** Round trips that stored a batch. */
  batches: number;
  /** Round trips that failed (the batch stayed buffered). */
  writeErrors: number;
  /** Emits refused because the emitter was closed (also counted in `dropped`). */
  afterClose: number;
  /** Events over `eventMaxBytes`, stored as a stub naming their type and size. */
  oversized: number;
}

/**
 * Bounded, batching, never-throwing event emitter.
 *
 * @example
 * ```ts
 * import { Emitter } from "./emitter.ts";
 * import { MemoryEventStore } from "./memory_store.ts";
 * const store = new MemoryEventStore({ capacity: 100 });
 * const emitter = new Emitter({ node: "pi-1", writer: store });
 * emitter.emit("daemon.start", { mode: "sim" });
 * await emitter.close();
 * ```
 */
export class Emitter implements EventSink {
  readonly node: string;
  #writer: EventWriter;
  #bufferMax: number;
  #batchMax: number;
  #eventMaxBytes: number;
  #bufferMaxBytes: number;
  /** JSON length of the queued (not in-flight) events. */
  #queuedBytes = 0;
  #clock: () => number;
  #cycle = 0;
  #queue: string[] = [];
  #head = 0;
  #inflight = 0;
  #draining = false;
  /** Consecutive failed round trips while the writer still claimed to be ready. */
  #failures = 0;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #idle: (() => void)[] = [];
  #offReady: () => void;
  #unreported = 0;
  #c = { emitted: 0, written: 0, dropped: 0, batches: 0, writeErrors: 0, afterClose: 0, oversized: 0 };

  /**
   * @param options Node id, writer and bounds.
   * @throws {RangeError} When `bufferMax` or `batchMax` is not a positive integer, or `batchMax > bufferMax`.
   */
  constructor(options: EmitterOptions) {
    this.node = options.node;
    this.#writer = options.writer;
    this.#bufferMax = positive("bufferMax", options.bufferMax ?? 10_000);
    this.#batchMax = positive("batchMax", Math.min(options.batchMax ?? 500, this.#bufferMax));
    this.#eventMaxBytes = positive("eventMaxBytes", options.eventMaxBytes ?? 16 * 1024);
    this.#bufferMaxBytes = positive("bufferMaxBytes", options.bufferMaxBytes ?? 8 * 1024 * 1024);
    this.#clock = options.clock ?? Date.now;
    const offReady = this.#writer.onReady(() => {
      this.#failures = 0;
      this.#cancelRetry();
      this.#kick();
    });
    const offRecovered = this.#writer.onRecovered?.((replay, lost) => {
      this.#c.written -= replay.length;
      this.#requeue(replay);
      if (lost > 0) this.#lose(lost);
      this.#kick();
    });
    this.#offReady = () => {
      offReady();
      offRecovered?.();
    };
  }

  /** Set the cycle number stamped on the following events. */
  setCycle(cycle: number): void {
    if (Number.isFinite(cycle)) this.#cycle = cycle;
  }

  /**
   * Queue one event. Never throws, never waits; after {@link close} the event is counted as dropped.
   *
   * @param type Dotted lowercase type, e.g. `plugin.error`.
   * @param data Any JSON-serializable object (bigints become strings).
   */
  emit(type: string, data: Record<string, unknown> = {}): void {
    try {
      this.#c.emitted++;
      if (this.#closed) {
        this.#c.dropped++;
        this.#c.afterClose++;
        return;
      }
      this.#push(this.#serialize(String(type), data));
      this.#kick();
    } catch {
      // emit() must never throw into the caller; #serialize already guards data.
    }
  }

  /** Counters for `/metrics` and the snapshot. */
  stats(): EmitterCounters {
    return { ...this.#c, buffered: this.#length() + this.#inflight, connected: this.#writer.ready };
  }

  /**
   * Stop accepting events, flush what can be flushed within `timeoutMs`, close the writer.
   *
   * @param timeoutMs Longest wait for the flush. Default 2000.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelRetry();
    if (this.#length() + this.#inflight > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#idle.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
        this.#kick();
      });
      clearTimeout(timer);
    }
    this.#offReady();
    this.#cancelRetry();
    await this.#writer.close();
    // Let a batch that was cut off by the writer's close settle.
    while (this.#draining) await new Promise((r) => setTimeout(r, 1));
  }

  #serialize(type: string, data: unknown): string {
    const envelope = {
      type,
      ts: new Date(this.#clock()).toISOString(),
      cycle: this.#cycle,
      node: this.node,
      data: typeof data === "object" && data !== null && !Array.isArray(data) ? data : { value: data },
    };
    let line: string;
    try {
      line = JSON.stringify(envelope, bigintSafe);
    } catch (err) {
      envelope.data = { unserializable: err instanceof Error ? err.message : String(err) };
      line = JSON.stringify(envelope);
    }
    if (line.length > this.#eventMaxBytes) {
      // Every event has a byte budget: say what was too big instead of storing it.
      this.#c.oversized++;
      envelope.data = { oversized: true, bytes: line.length, limit: this.#eventMaxBytes };
      line = JSON.stringify(envelope);
    }
    return line;
  }

  #length(): number {
    return this.#queue.length - this.#head;
  }

  #push(line: string): void {
    if (this.#length() + this.#inflight >= this.#bufferMax) {
      if (this.#length() === 0) { // everything buffered is in flight: the newest gives way
        this.#lose(1);
        return;
      }
      this.#dropOldest();
    }
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    while (this.#queuedBytes > this.#bufferMaxBytes && this.#length() > 1) this.#dropOldest();
  }

  #dropOldest(): void {
    this.#queuedBytes -= this.#queue[this.#head].length;
    this.#head++;
    this.#lose(1);
  }

  #lose(n: number): void {
    this.#c.dropped += n;
    this.#unreported += n;
  }

  #kick(): void {
    if (this.#draining || this.#retry !== null || !this.#writer.ready || this.#length() === 0) {
      if (!this.#draining && this.#length() === 0 && this.#inflight === 0) this.#wakeIdle();
      return;
    }
    this.#draining = true;
    queueMicrotask(() => this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#length() > 0 && this.#writer.ready) {
        const batch = this.#queue.slice(this.#head, this.#head + this.#batchMax);
        this.#head += batch.length;
        for (const line of batch) this.#queuedBytes -= line.length;
        this.#compact();
        this.#inflight = batch.length;
        try {
          await this.#writer.write(batch);
        } catch {
          this.#c.writeErrors++;
          this.#failures++;
          this.#inflight = 0;
          this.#requeue(batch);
          break;
        }
        this.#failures = 0;
        this.#inflight = 0;
        this.#c.written += batch.length;
        this.#c.batches++;
        if (this.#unreported > 0) {
          const count = this.#unreported;
          this.#unreported = 0;
          this.#push(this.#serialize("events.dropped", { count, bufferMax: this.#bufferMax }));
        }
      }
    } finally {
      this.#draining = false;
      if (this.#failures > 0) {
        // The store answers but refuses (OOM, read-only replica…): back off instead of hammering
        // it; while closing, give up and let close() time out.
        if (this.#writer.ready && !this.#closed) {
          const delay = Math.min(1000, 50 * 2 ** Math.min(this.#failures - 1, 5));
          this.#retry = setTimeout(() => {
            this.#retry = null;
            this.#kick();
          }, delay);
        }
      } else if (this.#length() > 0 && this.#writer.ready) this.#kick();
      else if (this.#length() === 0) this.#wakeIdle();
    }
  }

  /** Put a failed batch back in front, keeping the bound by dropping the oldest. */
  #requeue(batch: string[]): void {
    const rest = this.#queue.slice(this.#head);
    const all = batch.concat(rest);
    let over = Math.max(0, all.length - this.#bufferMax);
    let bytes = 0;
    for (let i = over; i < all.length; i++) bytes += all[i].length;
    while (bytes > this.#bufferMaxBytes && over < all.length - 1) bytes -= all[over++].length;
    if (over > 0) this.#lose(over);
    this.#queue = over > 0 ? all.slice(over) : all;
    this.#head = 0;
    this.#queuedBytes = bytes;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #cancelRetry(): void {
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
  }

  #wakeIdle(): void {
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(
      `Cannot create emitter as '${name}' must be a positive integer: current value is ${v}`,
    );
  }
  return v;
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
