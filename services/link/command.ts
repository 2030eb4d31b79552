/**
 * Commands the hub sends to the broker that owns the hardware. The hub never touches a bus:
 * it sends one of these on the command channel and waits for the result.
 *
 * @module
 */
import type { BuzzerPattern } from "../../plugins/sdk/mod.ts";

export type Command =
  | { type: "buzzer"; pattern: BuzzerPattern }
  | { type: "led"; index: number; r: number; g: number; b: number }
  | { type: "plugin.reload"; plugin: string }
  | { type: "set_name"; name: string }
  /** The broker's health report (how `deno task broker`, which has no HTTP port, is asked). */
  | { type: "health" };

/** A command with its routing envelope. */
export interface CommandRequest {
  id: string;
  /** Node that must execute it. */
  node: string;
  command: Command;
}

/**
 * Why a command failed, for callers that map failures (the hub maps them to HTTP status codes):
 * `timeout` no answer in time, `unreachable` no transport to the node, `rejected` the request was
 * malformed or not allowed, `failed` the handler ran and failed, `not_found` it names something the
 * node does not have (a plugin), `rate_limited` try again after `retryAfterMs`.
 */
export type CommandFailureCode =
  | "timeout"
  | "unreachable"
  | "rejected"
  | "failed"
  | "not_found"
  | "rate_limited";

export interface CommandResult {
  id: string;
  ok: boolean;
  error?: string;
  /** Set when `ok` is false (absent in results from older peers: treat as `failed`). */
  code?: CommandFailureCode;
  /** With `rate_limited`: how long until the node would accept it, ms. */
  retryAfterMs?: number;
  data?: unknown;
}

/** Thrown by a command handler to fail with a specific code (the broker turns it into a result). */
export class CommandFault extends Error {
  override name = "CommandFault";
  constructor(readonly code: CommandFailureCode, message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** Client side (hub): send and wait for the broker's answer. */
export interface CommandClient {
  send(node: string, command: Command, timeoutMs?: number): Promise<CommandResult>;
  close(): Promise<void>;
}

/** Server side (broker): execute commands for this node. */
export type CommandHandler = (req: CommandRequest) => Promise<CommandResult>;

/**
 * A failed result worded for a person.
 *
 * @param id the request id
 * @param code why it failed
 * @param error message, e.g. `Cannot send "buzzer" to node "pi4": no answer within 5000 ms`
 * @returns `{ id, ok: false, code, error }`
 */
export function commandFailure(id: string, code: CommandFailureCode, error: string): CommandResult {
  return { id, ok: false, code, error };
}

/** A fresh request id (random UUID). */
export function newCommandId(): string {
  return crypto.randomUUID();
}
