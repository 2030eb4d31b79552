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
  | { type: "set_name"; name: string };

/** A command with its routing envelope. */
export interface CommandRequest {
  id: string;
  /** Node that must execute it. */
  node: string;
  command: Command;
}

export interface CommandResult {
  id: string;
  ok: boolean;
  error?: string;
  data?: unknown;
}

/** Client side (hub): send and wait for the broker's answer. */
export interface CommandClient {
  send(node: string, command: Command, timeoutMs?: number): Promise<CommandResult>;
  close(): Promise<void>;
}

/** Server side (broker): execute commands for this node. */
export type CommandHandler = (req: CommandRequest) => Promise<CommandResult>;
