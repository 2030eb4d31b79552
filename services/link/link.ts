/**
 * A link: everything that flows between a broker and a hub — the snapshot, events, logs and
 * commands with their results — over one transport, chosen in one place ({@link openLink}).
 *
 * - `local`: broker and hub in one process (`main.ts start`): shared objects, no copies.
 * - `redis`: any number of brokers and hubs on one Redis (or a Sentinel-managed master): snapshot
 *   keys, the event stream, a capped log list per node, command lists; spokes' pushes and command
 *   queues live there too, so any hub serves any node.
 * - `unix`: one broker and one hub on a host without Redis: the broker's control socket answers
 *   commands and queries for its snapshot, events and logs; the hub polls it.
 *
 * @module
 */
import type { CommandClient, CommandHandler, CommandRequest, CommandResult } from "./command.ts";
import type { Events } from "../events/mod.ts";
import type { LogLine } from "../broker/logs.ts";
import type { SharedState, Snapshot } from "../shm/snapshot.ts";

export type LinkKind = "local" | "redis" | "unix";

/** What the broker serves on its end. */
export interface BrokerSources {
  node: string;
  handler: CommandHandler;
  /** New log lines after a sequence number (the broker's LogRing). */
  logsAfter(seq: number, limit?: number): { lines: LogLine[]; last: number };
  /** The newest lines (for a reader that asks for all). */
  logLines(): LogLine[];
  /** The latest snapshot. */
  snapshot(): Snapshot | null;
}

/** The broker's end of a link. */
export interface BrokerEnd {
  readonly kind: LinkKind;
  /** Where the broker writes its snapshot every cycle. */
  readonly state: SharedState;
  readonly events: Events;
  /** Start carrying commands in and logs (and, over the socket, snapshot and events) out. */
  serve(sources: BrokerSources): Promise<void>;
  close(): Promise<void>;
}

/** Where a push brought a spoke's data, for every hub to see. */
export interface SpokeShare {
  snapshot(snapshot: Snapshot): Promise<void>;
  logs(node: string, lines: LogLine[]): Promise<void>;
  /** Commands any hub queued for `node`, handed over on its push. */
  take(node: string): Promise<CommandRequest[]>;
  /** Results the spoke posted; returns how many belonged to commands handed over here. */
  reply(results: CommandResult[]): Promise<number>;
}

/** The hub's end of a link. */
export interface HubEnd {
  readonly kind: LinkKind;
  /** Snapshots of the nodes behind the link (with `nodes()` where it can list them). */
  readonly state: SharedState & { nodes?(): Promise<string[]> };
  /** The hub's own emitter, and a log holding every node's events. */
  readonly events: Events;
  /** Host and plugin log lines of `node` (empty when the link does not know it). */
  logs(node: string): Promise<LogLine[]>;
  readonly commands: CommandClient;
  /** Present when spokes' pushes and command queues are shared with other hubs (Redis). */
  readonly spokes?: SpokeShare;
  close(): Promise<void>;
}
