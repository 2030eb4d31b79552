/**
 * {@link Inbox}: a bounded priority inbox. Highest priority first, FIFO among equals. When
 * full, the lowest-priority item gives way — the new one if it is strictly the lowest,
 * otherwise the oldest of the lowest (the stalest) — and the caller is told which, so the
 * loss can be reported rather than silent.
 *
 * @module
 */

/** What triggered a unit of work. */
export type InboxKind = "cadence" | "demand" | "dependency";

/** One unit of work for a plugin. */
export interface InboxItem {
  kind: InboxKind;
  /** 0..1; above 0.8 is never deferred. */
  priority: number;
  payload?: unknown;
  /** Scheduler clock (ms) when the item was queued; latency is measured from here. */
  enqueuedAt: number;
}

/** Bounded priority queue of {@link InboxItem}s. */
export class Inbox {
  readonly max: number;
  #items: InboxItem[] = [];

  /** @throws {RangeError} When `max` is not a positive integer. */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot create inbox as 'max' must be a positive integer: current value is ${max}`,
      );
    }
    this.max = max;
  }

  get size(): number {
    return this.#items.length;
  }

  /**
   * Queue an item.
   *
   * @returns The item dropped to make room (possibly `item` itself), or null.
   */
  push(item: InboxItem): InboxItem | null {
    let dropped: InboxItem | null = null;
    if (this.#items.length >= this.max) {
      const lowest = this.#items[this.#items.length - 1].priority;
      if (item.priority < lowest) return item;
      const i = this.#items.findIndex((x) => x.priority === lowest);
      dropped = this.#items.splice(i, 1)[0];
    }
    // Insert after every item of equal or higher priority (FIFO among equals).
    let at = this.#items.length;
    while (at > 0 && this.#items[at - 1].priority < item.priority) at--;
    this.#items.splice(at, 0, item);
    return dropped;
  }

  /** The item that runs next. */
  peek(): InboxItem | undefined {
    return this.#items[0];
  }

  shift(): InboxItem | undefined {
    return this.#items.shift();
  }

  /** True when some queued item matches. */
  some(pred: (item: InboxItem) => boolean): boolean {
    return this.#items.some(pred);
  }

  clear(): void {
    this.#items = [];
  }
}
