/**
 * {@link RedisSharedState}: `SET <prefix>:snapshot:<node>` plus `SADD <prefix>:nodes <node>`
 * in one MULTI (one round trip). A `SET` replaces the value atomically, so readers never see
 * a torn snapshot.
 *
 * @module
 */
import type { EventSink } from "../events/event.ts";
import { RedisConnection } from "../events/mod.ts";
import type { Snapshot } from "./snapshot.ts";
import type { NodeSharedState } from "./node_state.ts";
import { checkNode, parseSnapshot, serializeSnapshot } from "./validate.ts";

/** Key names under a prefix. */
export function shmKeys(prefix: string): { snapshot: (node: string) => string; nodes: string } {
  return { snapshot: (node) => `${prefix}:snapshot:${node}`, nodes: `${prefix}:nodes` };
}

/** Options for {@link RedisSharedState}. */
export interface RedisSharedStateOptions {
  node: string;
  url: string;
  /** Default `harvester`. */
  keyPrefix?: string;
  emit?: EventSink;
}

/** Shared state in Redis keys. */
export class RedisSharedState implements NodeSharedState {
  readonly kind = "redis";
  readonly node: string;
  readonly conn: RedisConnection;
  #keys: ReturnType<typeof shmKeys>;
  #url: string;
  #emit: EventSink["emit"];

  /** @throws {TypeError} When `node` or the URL is invalid. */
  constructor(options: RedisSharedStateOptions) {
    this.node = checkNode(options.node, "open shared state");
    this.#keys = shmKeys(options.keyPrefix ?? "harvester");
    this.#url = options.url;
    this.#emit = (t, d) => options.emit?.emit(t, d);
    this.conn = new RedisConnection({ url: options.url, name: "harvester-shm" });
  }

  /** True while Redis is reachable. */
  get ready(): boolean {
    return this.conn.ready;
  }

  /**
   * @throws {TypeError} When the snapshot does not match the schema.
   * @throws {Error} When Redis is unreachable (`Cannot write snapshot to Redis …`).
   */
  async write(snapshot: Snapshot): Promise<void> {
    const text = serializeSnapshot(snapshot);
    this.#assertReady("write snapshot to");
    await this.conn.client.multi()
      .set(this.#keys.snapshot(snapshot.node), text)
      .sAdd(this.#keys.nodes, snapshot.node)
      .exec();
  }

  /**
   * Null when absent; null plus an `error` event when the stored value is corrupt.
   *
   * @throws {Error} When Redis is unreachable.
   */
  async read(node = this.node): Promise<Snapshot | null> {
    checkNode(node, "read snapshot");
    this.#assertReady("read snapshot from");
    const text = await this.conn.client.get(this.#keys.snapshot(node));
    if (text === null) return null;
    const r = parseSnapshot(text);
    if (r.ok) return r.snapshot;
    this.#emit("error", {
      source: "shm",
      backend: this.kind,
      node,
      message: `Cannot read key '${this.#keys.snapshot(node)}': ${r.error}`,
    });
    return null;
  }

  /** @throws {Error} When Redis is unreachable. */
  async nodes(): Promise<string[]> {
    this.#assertReady("list nodes in");
    return (await this.conn.client.sMembers(this.#keys.nodes)).sort();
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  #assertReady(action: string): void {
    if (!this.conn.ready) {
      throw new Error(
        `Cannot ${action} Redis at ${this.#url}: not connected (${this.conn.lastError ?? "connecting"})`,
      );
    }
  }
}
