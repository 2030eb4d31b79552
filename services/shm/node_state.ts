/**
 * {@link NodeSharedState}: the {@link SharedState} contract plus the list of nodes that
 * wrote a snapshot — what every backend here implements.
 *
 * @module
 */
import type { SharedState } from "./snapshot.ts";

/** A shared state that also lists the nodes it holds snapshots for. */
export interface NodeSharedState extends SharedState {
  /** Node ids with a stored snapshot, sorted. */
  nodes(): Promise<string[]>;
}
