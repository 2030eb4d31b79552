/**
 * Commands for spokes ride on the push cycle: the hub cannot reach a spoke's broker (no shared
 * Redis, the spoke may sit behind NAT), so it queues the command for that node and hands it out
 * in the response to the spoke's next `/push`; the spoke runs it and posts the result to
 * `/push/results`. Works with nothing but the HTTP link the spoke already opens.
 *
 * @module
 */
import {
  type Command,
  commandFailure,
  type CommandRequest,
  type CommandResult,
  newCommandId,
} from "../link/mod.ts";
import { type Clock, systemClock } from "./clock.ts";

interface Pending {
  req: CommandRequest;
  resolve: (r: CommandResult) => void;
  timer: unknown;
  /** Handed to the spoke already (awaiting its result). */
  delivered: boolean;
}

/** Per-spoke queue of commands waiting for delivery and results. */
export class SpokeCommandQueue {
  #pending = new Map<string, Pending>();
  #clock: Clock;
  /** Most commands one node may have waiting. */
  #maxPerNode: number;

  constructor(options: { clock?: Clock; maxPerNode?: number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxPerNode = options.maxPerNode ?? 32;
  }

  /**
   * Queue `command` for `node` and wait for the spoke's result.
   *
   * @returns the result; `timeout` when the spoke does not answer within `timeoutMs`,
   *   `unreachable` when too many commands wait for it already
   */
  send(node: string, command: Command, timeoutMs: number): Promise<CommandResult> {
    const id = newCommandId();
    const what = `send "${command.type}" to spoke "${node}"`;
    const waiting = [...this.#pending.values()].filter((p) => p.req.node === node).length;
    if (waiting >= this.#maxPerNode) {
      return Promise.resolve(
        commandFailure(
          id,
          "unreachable",
          `Cannot ${what}: ${waiting} commands already wait for its next push`,
        ),
      );
    }
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id);
        resolve(
          commandFailure(
            id,
            "timeout",
            `Cannot ${what}: no result within ${timeoutMs} ms (spoke did not push)`,
          ),
        );
      }, timeoutMs);
      this.#pending.set(id, { req: { id, node, command }, resolve, timer, delivered: false });
    });
  }

  /** Commands for `node` not yet handed out; marks them delivered. */
  take(node: string): CommandRequest[] {
    const out: CommandRequest[] = [];
    for (const p of this.#pending.values()) {
      if (p.req.node === node && !p.delivered) {
        p.delivered = true;
        out.push(p.req);
      }
    }
    return out;
  }

  /**
   * Results posted by `node`; unknown ids (timed out already, or from another node) are ignored.
   *
   * @returns how many results matched a waiting command
   */
  resolve(node: string, results: CommandResult[]): number {
    let n = 0;
    for (const r of results) {
      const p = this.#pending.get(r.id);
      if (!p || p.req.node !== node) continue;
      this.#pending.delete(r.id);
      this.#clock.clearTimeout(p.timer);
      p.resolve(r);
      n++;
    }
    return n;
  }

  /** Commands waiting (delivered or not). */
  get size(): number {
    return this.#pending.size;
  }

  /** Fail every waiting command (hub shutting down). */
  close(): void {
    for (const [id, p] of this.#pending) {
      this.#clock.clearTimeout(p.timer);
      p.resolve(
        commandFailure(
          id,
          "unreachable",
          `Cannot send "${p.req.command.type}" to spoke "${p.req.node}": hub is closing`,
        ),
      );
    }
    this.#pending.clear();
  }
}
