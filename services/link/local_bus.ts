/**
 * In-process command channel for `deno task start` (broker and hub in one process).
 *
 * @module
 */
import {
  type Command,
  type CommandClient,
  commandFailure,
  type CommandHandler,
  type CommandResult,
  newCommandId,
} from "./command.ts";
import { DEFAULT_TIMEOUT_MS, describe, runHandler, withTimeout } from "./_run.ts";

/**
 * A {@link CommandClient} that calls the handler registered for a node directly, with the same
 * timeout and failure semantics as the wire transports.
 *
 * @example
 * ```ts
 * import { LocalCommandBus } from "./local_bus.ts";
 * const bus = new LocalCommandBus();
 * const off = bus.register("hub", (req) => Promise.resolve({ id: req.id, ok: true }));
 * const r = await bus.send("hub", { type: "buzzer", pattern: "single" });
 * console.assert(r.ok);
 * off();
 * ```
 */
export class LocalCommandBus implements CommandClient {
  #handlers = new Map<string, CommandHandler>();
  #closed = false;

  /**
   * Serve commands for `node`.
   *
   * @param node node id
   * @param handler executes the command
   * @returns a function that unregisters the handler
   */
  register(node: string, handler: CommandHandler): () => void {
    this.#handlers.set(node, handler);
    return () => {
      if (this.#handlers.get(node) === handler) this.#handlers.delete(node);
    };
  }

  /** Nodes with a registered handler. */
  nodes(): string[] {
    return [...this.#handlers.keys()];
  }

  /**
   * Execute `command` on `node`.
   *
   * @returns the result; `unreachable` when no handler is registered, `timeout` after `timeoutMs`
   */
  send(node: string, command: Command, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CommandResult> {
    const id = newCommandId();
    const what = describe(node, command);
    if (this.#closed) {
      return Promise.resolve(commandFailure(id, "unreachable", `Cannot ${what}: bus is closed`));
    }
    const handler = this.#handlers.get(node);
    if (!handler) {
      return Promise.resolve(
        commandFailure(id, "unreachable", `Cannot ${what}: no broker registered for it`),
      );
    }
    return withTimeout(id, what, runHandler(handler, { id, node, command }), timeoutMs);
  }

  /** Stop accepting sends. */
  close(): Promise<void> {
    this.#closed = true;
    this.#handlers.clear();
    return Promise.resolve();
  }
}
