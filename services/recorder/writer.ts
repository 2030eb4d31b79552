/**
 * {@link RecorderWriter}: hands batches to the recorder's writer worker (writer_worker.ts) and
 * keeps what it says about itself. The event loop pays for one structured clone per batch; the
 * SQLite work — commits, checkpoints, rollups, pruning — happens on the worker's thread. Queries
 * open their own connection on the same file (WAL lets readers and the writer work side by side).
 *
 * @module
 */
import type { ReadingRecord } from "../shm/snapshot.ts";
import type { RecorderOptions, RecorderStatus } from "./recorder.ts";

/** What the feed writes into. */
export interface RecordSink {
  record(readings: readonly ReadingRecord[], lastEventId?: string): unknown;
}

/** The writer worker, seen from the hub's thread. */
export class RecorderWriter implements RecordSink {
  readonly #worker: Worker;
  readonly #closed = Promise.withResolvers<void>();
  #state: Pick<RecorderStatus, "state" | "reason" | "since"> = {
    state: "ok",
    reason: null,
    since: new Date().toISOString(),
  };
  #open = true;

  /** @param options the file and limits (`log` receives the worker's lines) */
  constructor(options: RecorderOptions) {
    this.#worker = new Worker(new URL("./writer_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { t: string; [k: string]: unknown };
      if (m.t === "state") {
        this.#state = {
          state: m.state as RecorderStatus["state"],
          reason: (m.reason as string | null) ?? null,
          since: (m.since as string) ?? new Date().toISOString(),
        };
      } else if (m.t === "log") {
        options.log?.(m.level as "info" | "warn" | "error", String(m.message));
      } else if (m.t === "closed") this.#closed.resolve();
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#state = {
        state: "degraded",
        reason: `not recording: ${e.message}`,
        since: new Date().toISOString(),
      };
      options.log?.("error", `history: the writer stopped: ${e.message}`);
      this.#closed.resolve();
    };
    const { log: _log, now: _now, ...rest } = options;
    this.#worker.postMessage({ t: "open", options: rest });
  }

  /** Hand a batch over (returns at once). */
  record(readings: readonly ReadingRecord[], lastEventId?: string): void {
    if (!this.#open) return;
    this.#worker.postMessage({ t: "record", readings, lastEventId });
  }

  /** The writer's own view: ok, or degraded with why ("not recording: …"). */
  state(): Pick<RecorderStatus, "state" | "reason" | "since"> {
    return this.#state;
  }

  /** Finish what was handed over (bounded by `timeoutMs`), settle the rollups and stop. */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#worker.postMessage({ t: "close" });
    const timer = setTimeout(() => this.#closed.resolve(), timeoutMs);
    await this.#closed.promise;
    clearTimeout(timer);
    this.#worker.terminate();
  }
}
