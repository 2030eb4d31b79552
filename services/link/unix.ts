/**
 * The Unix-socket link: a broker and a hub on one host without Redis. Commands use the broker's
 * control socket as before; the same socket answers the link's queries, which the hub polls:
 * `snapshot`, `events` (after a cursor, bounded in count and bytes) and `logs`. The hub appends the
 * broker's events to its own log, so its `/api/events`, live feed, logs and history carry them.
 *
 * @module
 */
import type { LogLine } from "../broker/logs.ts";
import { lines } from "./unix_socket.ts";
import type { EventEnvelope, EventLog } from "../events/event.ts";
import type { Snapshot } from "../shm/snapshot.ts";
import type { BrokerSources } from "./link.ts";

const encoder = new TextEncoder();
/** Largest answer to one query (events are dropped from the end to fit). */
export const ANSWER_MAX_BYTES = 512 * 1024;
/** Events per `events` query. */
const EVENTS_PER_QUERY = 500;

/** The broker's answers to the link's queries. */
export function brokerQueries(
  sources: BrokerSources,
  events: EventLog,
): (req: { op: string; [k: string]: unknown }) => Promise<unknown> {
  return async (req) => {
    switch (req.op) {
      case "snapshot":
        return { ok: true, snapshot: sources.snapshot() };
      case "logs":
        return { ok: true, lines: sources.logLines() };
      case "events": {
        const since = typeof req.since === "string" && req.since ? req.since : undefined;
        const limit = Math.min(EVENTS_PER_QUERY, Math.max(1, Number(req.limit) || EVENTS_PER_QUERY));
        const found = await events.query({ since, limit });
        const out: EventEnvelope[] = [];
        let bytes = 0;
        for (const e of found) {
          bytes += JSON.stringify(e).length + 1;
          if (bytes > ANSWER_MAX_BYTES && out.length) break;
          out.push(e);
        }
        return { ok: true, events: out, next: out.at(-1)?.id ?? since ?? null };
      }
      default:
        throw new Error(`unknown query (snapshot, events, logs)`);
    }
  };
}

/** Options for {@link UnixLinkReader}. */
export interface UnixLinkReaderOptions {
  path: string;
  /** Where the broker's events go (the hub's own log). */
  append: (event: EventEnvelope) => void;
  /** Poll period, ms. Default 250. */
  pollMs?: number;
  /** Deadline per query, ms. Default 2000. */
  timeoutMs?: number;
}

/** The hub's side: asks the broker's socket, polls its events. */
export class UnixLinkReader {
  #opts: UnixLinkReaderOptions;
  #cursor: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling: Promise<void> | null = null;
  #closed = false;
  /** Events carried from the broker. */
  carried = 0;
  /** Queries that failed (broker away). */
  failures = 0;

  constructor(options: UnixLinkReaderOptions) {
    this.#opts = options;
  }

  start(): void {
    const tick = () => {
      if (this.#closed) return;
      this.#polling = this.#poll().finally(() => {
        this.#polling = null;
        if (!this.#closed) this.#timer = setTimeout(tick, this.#opts.pollMs ?? 250);
      });
    };
    tick();
  }

  async #poll(): Promise<void> {
    // Drain what the broker has: several queries in a row while it returns full pages.
    for (let round = 0; round < 20 && !this.#closed; round++) {
      const a = await this.ask({ op: "events", since: this.#cursor, limit: EVENTS_PER_QUERY }).catch(() =>
        null
      );
      if (!a || !Array.isArray(a.events)) return;
      for (const e of a.events as EventEnvelope[]) {
        this.carried++;
        this.#opts.append(e);
      }
      if (typeof a.next === "string") this.#cursor = a.next;
      if (a.events.length < EVENTS_PER_QUERY) return;
    }
  }

  /** The broker's latest snapshot, or null when it does not answer. */
  async snapshot(): Promise<Snapshot | null> {
    const a = await this.ask({ op: "snapshot" }).catch(() => null);
    return (a?.snapshot as Snapshot | undefined) ?? null;
  }

  /** The broker's log lines; none when it does not answer. */
  async logs(): Promise<LogLine[]> {
    const a = await this.ask({ op: "logs" }).catch(() => null);
    return Array.isArray(a?.lines) ? a.lines as LogLine[] : [];
  }

  /**
   * One query over a fresh connection, with a deadline.
   *
   * @throws {Error} When the broker does not answer in time or refuses.
   */
  async ask(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ms = this.#opts.timeoutMs ?? 2000;
    let conn: Deno.Conn | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        (async () => {
          conn = await Deno.connect({ transport: "unix", path: this.#opts.path });
          const w = conn.writable.getWriter();
          await w.write(encoder.encode(JSON.stringify(req) + "\n"));
          w.releaseLock();
          for await (const line of lines(conn, ANSWER_MAX_BYTES * 2)) {
            const a = JSON.parse(line);
            if (a?.ok !== true) throw new Error(String(a?.error ?? "refused"));
            return a as Record<string, unknown>;
          }
          throw new Error("the broker closed the socket");
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
        }),
      ]);
    } catch (e) {
      this.failures++;
      throw e;
    } finally {
      clearTimeout(timer);
      try {
        (conn as Deno.Conn | null)?.close();
      } catch { /* closed */ }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#polling;
  }
}
