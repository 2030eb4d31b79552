/**
 * Command channel over a local control socket (Unix domain socket, NDJSON): for a hub and a
 * broker on one machine without Redis. One JSON request per line in, one JSON result per line out.
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
import { DEFAULT_TIMEOUT_MS, describe, requestProblem, runHandler, withTimeout } from "./_run.ts";

const encoder = new TextEncoder();
const MAX_LINE = 64 * 1024;

/** Yield complete lines from a connection; a line over `max` bytes (default 64 KiB) ends the stream. */
export async function* lines(conn: Deno.Conn, max = MAX_LINE): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of conn.readable) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield line;
    }
    if (buf.length > max) return;
  }
}

/** Options for {@link UnixCommandServer}. */
export interface UnixCommandServerOptions {
  /** Socket path, e.g. `/run/harvester/control.sock`. */
  path: string;
  /** Only requests for this node are served; others get a `rejected` result. */
  node: string;
  handler: CommandHandler;
  /**
   * Answers lines with an `op` field (`{"op":"events",…}`): the link's queries for the snapshot,
   * events and logs. Absent: such lines are refused like any bad request.
   */
  queries?: (req: { op: string; [k: string]: unknown }) => Promise<unknown>;
}

/** Broker side of the control socket. */
export class UnixCommandServer {
  #opts: UnixCommandServerOptions;
  #listener: Deno.UnixListener | null = null;
  #conns = new Set<Deno.Conn>();
  #loop: Promise<void> | null = null;
  #tasks = new Set<Promise<void>>();

  constructor(options: UnixCommandServerOptions) {
    this.#opts = options;
  }

  /**
   * Listen on the socket path. A stale socket file (nobody listening) is replaced.
   *
   * @throws {Deno.errors.AddrInUse} when another process serves the path
   */
  async start(): Promise<void> {
    const path = this.#opts.path;
    try {
      const probe = await Deno.connect({ transport: "unix", path });
      probe.close();
      throw new Deno.errors.AddrInUse(`Cannot listen on control socket ${path}: another process serves it`);
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) throw e;
      await Deno.remove(path).catch(() => {});
    }
    this.#listener = Deno.listen({ transport: "unix", path });
    this.#loop = this.#accept(this.#listener);
  }

  async #accept(listener: Deno.UnixListener): Promise<void> {
    try {
      for await (const conn of listener) {
        this.#conns.add(conn);
        const task = this.#serve(conn).finally(() => {
          this.#conns.delete(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    } catch {
      // listener closed
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const writer = conn.writable.getWriter();
    try {
      for await (const line of lines(conn)) {
        const result = await this.#handle(line);
        await writer.write(encoder.encode(JSON.stringify(result) + "\n"));
      }
    } catch {
      // peer went away
    } finally {
      try {
        conn.close();
      } catch { /* closed already */ }
    }
  }

  async #handle(line: string): Promise<unknown> {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return commandFailure("", "rejected", "Cannot run command: request is not JSON");
    }
    if (this.#opts.queries && req && typeof req === "object" && typeof req.op === "string") {
      try {
        return await this.#opts.queries(req);
      } catch (e) {
        return {
          ok: false,
          error: `Cannot answer "${req.op}": ${e instanceof Error ? e.message : String(e)}`,
        };
      }
    }
    const problem = requestProblem(req);
    if (problem) return commandFailure(String(req?.id ?? ""), "rejected", `Cannot run command: ${problem}`);
    if (req.node !== this.#opts.node) {
      return commandFailure(
        req.id,
        "rejected",
        `Cannot run command for node "${req.node}": this broker serves "${this.#opts.node}"`,
      );
    }
    return await runHandler(this.#opts.handler, { id: req.id, node: req.node, command: req.command });
  }

  /** Stop listening, close open connections and remove the socket file. */
  async stop(): Promise<void> {
    this.#listener?.close();
    this.#listener = null;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
    await this.#loop;
    // Connections are closed; a handler that never returns is not awaited (it holds no socket).
    this.#tasks.clear();
    await Deno.remove(this.#opts.path).catch(() => {});
  }
}

/** Options for {@link UnixCommandClient}. */
export interface UnixCommandClientOptions {
  path: string;
}

/** Hub side of the control socket: one short connection per command. */
export class UnixCommandClient implements CommandClient {
  #path: string;
  #open = new Set<Deno.Conn>();
  #closed = false;

  constructor(options: UnixCommandClientOptions) {
    this.#path = options.path;
  }

  /**
   * Send `command` to the broker on the socket.
   *
   * @returns the result; `unreachable` when nothing listens, `timeout` when no answer arrives
   */
  send(node: string, command: Command, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CommandResult> {
    const id = newCommandId();
    const what = describe(node, command);
    if (this.#closed) {
      return Promise.resolve(commandFailure(id, "unreachable", `Cannot ${what}: client is closed`));
    }
    let conn: Deno.Conn | null = null;
    const work = (async (): Promise<CommandResult> => {
      try {
        conn = await Deno.connect({ transport: "unix", path: this.#path });
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return commandFailure(
          id,
          "unreachable",
          `Cannot ${what}: control socket ${this.#path} unreachable (${why})`,
        );
      }
      this.#open.add(conn);
      try {
        const w = conn.writable.getWriter();
        await w.write(encoder.encode(JSON.stringify({ id, node, command }) + "\n"));
        w.releaseLock();
        for await (const line of lines(conn)) return JSON.parse(line) as CommandResult;
        return commandFailure(id, "unreachable", `Cannot ${what}: control socket closed before answering`);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return commandFailure(id, "unreachable", `Cannot ${what}: ${why}`);
      }
    })();
    return withTimeout(id, what, work, timeoutMs).finally(() => {
      if (conn) {
        this.#open.delete(conn);
        try {
          (conn as Deno.Conn).close();
        } catch { /* closed already */ }
      }
    });
  }

  /** Close open connections; later sends resolve `unreachable`. */
  close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#open) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
    this.#open.clear();
    return Promise.resolve();
  }
}
