/**
 * {@link MemorySharedState}: snapshots in a Map, stored as JSON so every reader gets its own
 * copy. For tests and single-process setups.
 *
 * @module
 */
import type { EventSink } from "../events/event.ts";
import type { Snapshot } from "./snapshot.ts";
import type { NodeSharedState } from "./node_state.ts";
import { checkNode, parseSnapshot, serializeSnapshot } from "./validate.ts";

/** In-process shared state. */
export class MemorySharedState implements NodeSharedState {
  readonly kind = "memory";
  readonly node: string;
  #store = new Map<string, string>();
  #emit: EventSink["emit"];

  /**
   * @param options `node` is the default node for {@link read}; `emit` receives corrupt-data errors.
   * @throws {TypeError} When `node` is not a safe node id.
   */
  constructor(options: { node: string; emit?: EventSink }) {
    this.node = checkNode(options.node, "open shared state");
    this.#emit = (t, d) => options.emit?.emit(t, d);
  }

  /** @throws {TypeError} When the snapshot does not match the schema. */
  write(snapshot: Snapshot): Promise<void> {
    try {
      this.#store.set(snapshot.node, serializeSnapshot(snapshot));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Store raw text under a node (tests use it to plant corrupt data). */
  writeRaw(node: string, text: string): void {
    this.#store.set(checkNode(node, "write snapshot"), text);
  }

  read(node = this.node): Promise<Snapshot | null> {
    try {
      const text = this.#store.get(checkNode(node, "read snapshot"));
      if (text === undefined) return Promise.resolve(null);
      const r = parseSnapshot(text);
      if (r.ok) return Promise.resolve(r.snapshot);
      this.#emit("error", {
        source: "shm",
        backend: this.kind,
        node,
        message: `Cannot read snapshot: ${r.error}`,
      });
      return Promise.resolve(null);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  nodes(): Promise<string[]> {
    return Promise.resolve([...this.#store.keys()].sort());
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
