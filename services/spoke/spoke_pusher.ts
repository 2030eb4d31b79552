/**
 * Spoke mode: push this node's snapshot to the hub's `/push` every interval with the node's
 * bearer token. While the hub is unreachable (network error, timeout, 5xx, 401/403) snapshots wait
 * in a bounded buffer — oldest dropped first, counted and evented — and go out in order, in
 * batches, when the hub answers again. Commands the hub queued for this node come back in the
 * push response; they are run through `onCommands` and their results posted to `/push/results`
 * (or carried on the next push when that fails).
 *
 * @module
 */
import type { CommandHandler, CommandRequest, CommandResult } from "../link/mod.ts";
import type { EventSink } from "../events/event.ts";
import type { Snapshot } from "../shm/snapshot.ts";

/** Time source and timers (a `@sinonjs/fake-timers` clock fits). */
export interface PusherClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const systemClock: PusherClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as number),
};

/** Options for {@link SpokePusher}. */
export interface SpokePusherOptions {
  /** The hub's base URL (`http://hub:3000`) or its push URL (`…/push`). */
  hubUrl: string;
  token: string;
  /** This node's id (must match the snapshots' `node`). */
  node: string;
  intervalMs: number;
  /** Snapshots kept while the hub is away. Default 720 (an hour at 5 s). */
  bufferMax?: number;
  /** Snapshots per request when catching up. Default 50. */
  batchMax?: number;
  /** Bytes (snapshot JSON) per request; keep it under the hub's body limit. Default 512 KiB. */
  batchMaxBytes?: number;
  /** Bytes of snapshots kept while the hub is away (oldest dropped first). Default 16 MiB. */
  bufferMaxBytes?: number;
  /** Per-request timeout. Default the interval, at most 10 s. */
  requestTimeoutMs?: number;
  /** The snapshot to push now; null skips this round. */
  source: () => Promise<Snapshot | null> | Snapshot | null;
  emit: EventSink;
  /** Runs commands the hub forwarded to this node. Without it they are answered `rejected`. */
  onCommands?: (commands: CommandRequest[]) => Promise<CommandResult[]>;
  /**
   * This node's host and plugin log lines logged after sequence number `seq` (e.g. the broker's
   * `LogRing.after`); they ride on the next accepted push so the hub can serve `/api/logs` for spokes.
   */
  logs?: (seq: number) => { lines: PushedLogLine[]; last: number };
  fetch?: typeof fetch;
  clock?: PusherClock;
}

/** A log line as it rides on a push. */
export interface PushedLogLine {
  ts: string;
  level: "debug" | "info" | "warn" | "error";
  source: string;
  message: string;
}

/** Counters of a pusher. */
export interface SpokePusherStats {
  /** Snapshots the hub accepted. */
  pushed: number;
  /** Snapshots lost: buffer overflow plus batches the hub refused as invalid. */
  dropped: number;
  buffered: number;
  /** Failed push attempts (hub away or erroring). */
  failures: number;
  commands: number;
  /** Whether the last attempt reached the hub. */
  connected: boolean;
  lastError: string | null;
  /** Epoch ms of the last accepted push. */
  lastPushAt: number | null;
}

/** The spoke side of store-and-forward. */
export class SpokePusher {
  #o: SpokePusherOptions;
  #pushUrl: string;
  #fetch: typeof fetch;
  #clock: PusherClock;
  #buffer: Snapshot[] = [];
  /** JSON length of each buffered snapshot, same order. */
  #sizes: number[] = [];
  #bufferedBytes = 0;
  #pendingResults: CommandResult[] = [];
  /** Sequence number of the last log line the hub accepted. */
  #logSeq = 0;
  #stats: SpokePusherStats = {
    pushed: 0,
    dropped: 0,
    buffered: 0,
    failures: 0,
    commands: 0,
    connected: false,
    lastError: null,
    lastPushAt: null,
  };
  #timer: unknown = null;
  #running = false;
  #inflight: Promise<void> | null = null;
  #abort = new Set<AbortController>();

  constructor(options: SpokePusherOptions) {
    if (!(options.intervalMs > 0)) {
      throw new RangeError(
        `Cannot create spoke pusher: 'intervalMs' must be positive: current value is ${options.intervalMs}`,
      );
    }
    let base: URL;
    try {
      base = new URL(options.hubUrl);
    } catch {
      throw new TypeError(
        `Cannot create spoke pusher: 'hubUrl' is not a URL: current value is "${options.hubUrl}"`,
      );
    }
    this.#o = options;
    const path = base.pathname.replace(/\/+$/, "");
    base.pathname = path.endsWith("/push") ? path : `${path}/push`;
    this.#pushUrl = base.href;
    this.#fetch = options.fetch ?? fetch;
    this.#clock = options.clock ?? systemClock;
  }

  /** The URL pushes go to. */
  get url(): string {
    return this.#pushUrl;
  }

  /** Start pushing: one round now, then every interval after the previous round ends. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.#inflight = this.tick().finally(() => {
        this.#inflight = null;
        if (this.#running) this.#schedule(this.#o.intervalMs);
      });
    }, ms);
  }

  /** Stop the timer, abort a request in flight and wait for the round to end. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    for (const a of this.#abort) a.abort();
    await this.#inflight;
  }

  /** Counters. */
  stats(): SpokePusherStats {
    return { ...this.#stats, buffered: this.#buffer.length };
  }

  /** One round: take a snapshot into the buffer, then send what the buffer holds, oldest first. */
  async tick(): Promise<void> {
    let snap: Snapshot | null = null;
    try {
      snap = await this.#o.source();
    } catch (e) {
      this.#stats.lastError = `Cannot read snapshot: ${(e as Error).message}`;
    }
    if (snap) this.#enqueue(snap);
    await this.#flush();
  }

  #enqueue(snap: Snapshot): void {
    const size = JSON.stringify(snap).length;
    this.#buffer.push(snap);
    this.#sizes.push(size);
    this.#bufferedBytes += size;
    const max = this.#o.bufferMax ?? 720;
    const maxBytes = this.#o.bufferMaxBytes ?? 16 * 1024 * 1024;
    let over = Math.max(0, this.#buffer.length - max);
    let bytes = this.#bufferedBytes;
    for (let i = 0; i < over; i++) bytes -= this.#sizes[i];
    while (bytes > maxBytes && over < this.#buffer.length - 1) bytes -= this.#sizes[over++];
    if (over > 0) {
      this.#take(over);
      this.#stats.dropped += over;
      this.#o.emit.emit("spoke.dropped", {
        count: over,
        reason: "buffer full",
        total: this.#stats.dropped,
        bufferMax: max,
      });
    }
  }

  async #flush(): Promise<void> {
    const batchMax = this.#o.batchMax ?? 50;
    const batchMaxBytes = this.#o.batchMaxBytes ?? 512 * 1024;
    while (this.#buffer.length) {
      // At least one snapshot, then as many as fit the byte budget.
      let n = 1;
      let bytes = this.#sizes[0];
      while (n < Math.min(batchMax, this.#buffer.length) && bytes + this.#sizes[n] <= batchMaxBytes) {
        bytes += this.#sizes[n++];
      }
      const batch = this.#buffer.slice(0, n);
      const outcome = await this.#send(batch);
      if (outcome === "retry") return;
      this.#take(batch.length);
      if (outcome === "refused") {
        this.#stats.dropped += batch.length;
        this.#o.emit.emit("spoke.dropped", {
          count: batch.length,
          reason: this.#stats.lastError,
          total: this.#stats.dropped,
        });
      }
    }
  }

  /** Remove the oldest `n` buffered snapshots. */
  #take(n: number): void {
    this.#buffer.splice(0, n);
    for (const size of this.#sizes.splice(0, n)) this.#bufferedBytes -= size;
  }

  async #request(url: string, body: unknown): Promise<Response> {
    const ctl = new AbortController();
    this.#abort.add(ctl);
    const ms = this.#o.requestTimeoutMs ?? Math.min(this.#o.intervalMs, 10_000);
    const timer = this.#clock.setTimeout(() => ctl.abort(), ms);
    try {
      return await this.#fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.#o.token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: ctl.signal,
      });
    } finally {
      this.#clock.clearTimeout(timer);
      this.#abort.delete(ctl);
    }
  }

  /** Send one batch: `ok`, `retry` (keep it), or `refused` (the hub will never take it). */
  async #send(batch: Snapshot[]): Promise<"ok" | "retry" | "refused"> {
    const results = this.#pendingResults;
    const logs = this.#o.logs?.(this.#logSeq);
    let res: Response;
    try {
      res = await this.#request(this.#pushUrl, {
        node: this.#o.node,
        snapshots: batch,
        ...(results.length ? { results } : {}),
        ...(logs?.lines.length ? { logs: logs.lines } : {}),
      });
    } catch (e) {
      return this.#failed(`Cannot push to ${this.#pushUrl}: ${(e as Error).message}`);
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      const detail = errorOf(text) ?? `HTTP ${res.status}`;
      if (
        res.status >= 500 || res.status === 401 || res.status === 403 || res.status === 408 ||
        res.status === 429
      ) {
        return this.#failed(`Cannot push to ${this.#pushUrl}: hub answered ${res.status} (${detail})`);
      }
      this.#stats.connected = true;
      this.#stats.lastError =
        `Cannot push to ${this.#pushUrl}: hub refused the batch with ${res.status} (${detail})`;
      return "refused";
    }
    this.#pendingResults = this.#pendingResults.slice(results.length);
    if (logs) this.#logSeq = logs.last;
    this.#stats.connected = true;
    this.#stats.lastError = null;
    this.#stats.pushed += batch.length;
    this.#stats.lastPushAt = this.#clock.now();
    this.#o.emit.emit("spoke.push", { count: batch.length, buffered: this.#buffer.length - batch.length });
    let commands: CommandRequest[] = [];
    try {
      commands = (JSON.parse(text).commands ?? []) as CommandRequest[];
    } catch { /* a hub without command forwarding */ }
    if (commands.length) await this.#runCommands(commands);
    return "ok";
  }

  #failed(message: string): "retry" {
    this.#stats.failures++;
    this.#stats.connected = false;
    this.#stats.lastError = message;
    return "retry";
  }

  async #runCommands(commands: CommandRequest[]): Promise<void> {
    this.#stats.commands += commands.length;
    let results: CommandResult[];
    if (!this.#o.onCommands) {
      results = commands.map((c) => ({
        id: c.id,
        ok: false,
        code: "rejected" as const,
        error: `Cannot run "${c.command.type}" on spoke "${this.#o.node}": no command handler`,
      }));
    } else {
      try {
        results = await this.#o.onCommands(commands);
      } catch (e) {
        results = commands.map((c) => ({
          id: c.id,
          ok: false,
          code: "failed" as const,
          error: (e as Error).message,
        }));
      }
    }
    try {
      const res = await this.#request(`${this.#pushUrl}/results`, { node: this.#o.node, results });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* carried on the next push */ }
    this.#pendingResults.push(...results);
  }
}

function errorOf(text: string): string | null {
  try {
    const e = JSON.parse(text)?.error;
    return typeof e === "string" ? e : null;
  } catch {
    return null;
  }
}

/**
 * Adapt the broker's {@link CommandHandler} to {@link SpokePusherOptions.onCommands}: runs the
 * forwarded commands one after another (the buzzer and LEDs are one device each); a throw becomes
 * a `failed` result.
 *
 * @example
 * ```ts
 * import { commandRunner } from "./spoke_pusher.ts";
 * const run = commandRunner((req) => Promise.resolve({ id: req.id, ok: true }));
 * const [r] = await run([{ id: "1", node: "pi4", command: { type: "buzzer", pattern: "single" } }]);
 * console.assert(r.ok);
 * ```
 */
export function commandRunner(
  handler: CommandHandler,
): (commands: CommandRequest[]) => Promise<CommandResult[]> {
  return async (commands) => {
    const out: CommandResult[] = [];
    for (const req of commands) {
      try {
        out.push({ ...(await handler(req)), id: req.id });
      } catch (e) {
        out.push({
          id: req.id,
          ok: false,
          code: "failed",
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
    return out;
  };
}
