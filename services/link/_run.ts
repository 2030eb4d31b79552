/**
 * Folder-private helpers: run a handler with a deadline, and validate requests read off a wire.
 *
 * @module
 */
import {
  type Command,
  commandFailure,
  type CommandHandler,
  type CommandRequest,
  type CommandResult,
} from "./command.ts";

/** Default time a client waits for a result. */
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Await `work` but give up after `timeoutMs` with a `timeout` result; the timer is always cleared.
 *
 * @param id request id for the failure result
 * @param what e.g. `send "buzzer" to node "pi4"` (used as `Cannot <what>: …`)
 * @param work the pending result
 * @param timeoutMs how long to wait
 * @returns the result, or a `timeout` failure
 */
export function withTimeout(
  id: string,
  what: string,
  work: Promise<CommandResult>,
  timeoutMs: number,
): Promise<CommandResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<CommandResult>((resolve) => {
    timer = setTimeout(
      () => resolve(commandFailure(id, "timeout", `Cannot ${what}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Run a handler for one request; a throw becomes a `failed` result carrying the message.
 *
 * @param handler the broker's handler
 * @param req the request
 * @returns the handler's result with the request's id
 */
export async function runHandler(handler: CommandHandler, req: CommandRequest): Promise<CommandResult> {
  try {
    const result = await handler(req);
    return { ...result, id: req.id };
  } catch (e) {
    return commandFailure(req.id, "failed", e instanceof Error ? e.message : String(e));
  }
}

/** Describe a command for messages: `send "buzzer" to node "pi4"`. */
export function describe(node: string, command: Command): string {
  return `send "${command.type}" to node "${node}"`;
}

/**
 * Check that a value read off a wire is a request; returns a reason when it is not.
 *
 * @param v parsed JSON
 * @returns null when `v` is a request, else the problem
 */
export function requestProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null) return "not an object";
  const r = v as Record<string, unknown>;
  if (typeof r.id !== "string" || r.id === "") return "'id' must be a non-empty string";
  if (typeof r.node !== "string" || r.node === "") return "'node' must be a non-empty string";
  const c = r.command as Record<string, unknown> | undefined;
  if (typeof c !== "object" || c === null || typeof c.type !== "string") {
    return "'command.type' must be a string";
  }
  return null;
}
