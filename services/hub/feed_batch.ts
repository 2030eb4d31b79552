/**
 * Coalescing for live-feed clients that opted in (`auth.batch: true` at the handshake): their
 * events go as `events` packets (arrays, in order) instead of one `event` packet each, at most
 * one packet per window (default 20 ms). The cost of the feed is one socket write per client
 * per packet, so a burst of N events costs each client one or two writes instead of N.
 *
 * The window is a throttle with a leading edge: an event after a quiet spell goes out on the
 * next turn of the event loop (with whatever else arrived in that turn); events that follow
 * within the window wait for its end. So an event waits at most one window, a steady trickle
 * slower than one per window is not delayed, and the writes per client are bounded by the
 * window whatever the event rate.
 *
 * Clients with the same filter (level and subscribed type prefixes) share a socket.io room, so
 * each window's packet is encoded once per filter and written to every member. A room that
 * empties is still sent to for `keepMs` (socket.io's recovery window), so a client that was
 * away recovers the packets it missed.
 *
 * @module
 */
import type { Server, Socket } from "socket.io";
import type { EventEnvelope } from "../events/event.ts";

/** What a batch client receives: its level and type prefixes (none = every visible type). */
export interface BatchFilter {
  level: string;
  types: string[];
}

const PREFIX = "batch:";

/** The room of the batch clients with filter `f`. */
export function batchRoom(f: BatchFilter): string {
  return PREFIX + JSON.stringify([f.level, [...f.types].sort()]);
}

/** The filter a batch room stands for, or null for any other room. */
export function parseBatchRoom(room: string): BatchFilter | null {
  if (!room.startsWith(PREFIX)) return null;
  try {
    const [level, types] = JSON.parse(room.slice(PREFIX.length)) as [string, string[]];
    return { level, types };
  } catch {
    return null;
  }
}

/** Joins, leaves and the window's buffer of pending events. */
export class FeedBatcher {
  #io: Server;
  #windowMs: number;
  #matches: (f: BatchFilter, e: EventEnvelope) => boolean;
  #pending: EventEnvelope[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #lastFlush = -Infinity;
  #keepMs: number;
  /** Batch room → its filter, how many clients are in it, and since when it is empty. */
  #groups = new Map<string, { filter: BatchFilter; members: number; emptySince: number }>();

  /**
   * @param windowMs how long an event may wait for others (> 0)
   * @param matches whether a client with filter `f` may receive `e`
   * @param keepMs how long an emptied room is still sent to (the recovery window)
   */
  constructor(
    io: Server,
    windowMs: number,
    matches: (f: BatchFilter, e: EventEnvelope) => boolean,
    keepMs: number,
  ) {
    if (!(windowMs > 0 && windowMs <= 1000)) {
      throw new RangeError(`Cannot batch the live feed: window ${windowMs} ms is not in (0, 1000]`);
    }
    this.#io = io;
    this.#windowMs = windowMs;
    this.#matches = matches;
    this.#keepMs = keepMs;
  }

  /** Put `socket` in the room of `filter` (leaving any batch room it was in). */
  join(socket: Socket, filter: BatchFilter): void {
    this.leave(socket);
    const room = batchRoom(filter);
    const g = this.#groups.get(room);
    if (g) g.members++;
    else {
      const f = { level: filter.level, types: [...filter.types] };
      this.#groups.set(room, { filter: f, members: 1, emptySince: Infinity });
    }
    socket.join(room);
  }

  /** Take `socket` out of its batch room, if any. */
  leave(socket: Socket): void {
    for (const room of socket.rooms) {
      if (!room.startsWith(PREFIX)) continue;
      socket.leave(room);
      this.#forget(room);
    }
  }

  /** Bookkeeping for a socket that left `room` by disconnecting (socket.io emptied its rooms). */
  #forget(room: string): void {
    const g = this.#groups.get(room);
    if (g && --g.members <= 0) {
      g.members = 0;
      g.emptySince = performance.now();
    }
  }

  /** The batch room a disconnecting socket was in (call from its `disconnecting` handler). */
  disconnecting(socket: Socket): void {
    for (const room of socket.rooms) if (room.startsWith(PREFIX)) this.#forget(room);
  }

  /** Queue `e` for the current window. */
  add(e: EventEnvelope): void {
    if (this.#groups.size === 0) return;
    this.#pending.push(e);
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastFlush + this.#windowMs - performance.now());
    this.#timer = setTimeout(() => this.flush(), wait);
  }

  /** Send the window's events now: one packet per filter that has any to receive. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#lastFlush = performance.now();
    const events = this.#pending;
    this.#pending = [];
    if (events.length === 0) return;
    const now = this.#lastFlush;
    for (const [room, g] of this.#groups) {
      if (g.members === 0 && now - g.emptySince > this.#keepMs) {
        this.#groups.delete(room);
        continue;
      }
      const mine = events.filter((e) => this.#matches(g.filter, e));
      if (mine.length) this.#io.to(room).emit("events", mine);
    }
  }

  /** Drop the pending window (the feed is closing). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending = [];
  }
}
