/**
 * The floor a capability call is compared to, measured in the same run as the call itself:
 * one worker ↔ main `postMessage` round trip plus one raw deno ↔ deno Unix-socket round trip
 * (bench/peers/unix_echo.ts), each with a message the size of a capability request. These are
 * the two hops a call from a plugin worker to the broker cannot avoid; JSON, checks and the HAL
 * come on top.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A capability request as it crosses: `{t,id,method,args}` for a one-byte register read. */
const MESSAGE = { t: "cap", id: 1, method: "i2c.transfer", args: [null, 0x77, [0xd0], 1] };
const PEER = fileURLToPath(new URL("./peers/unix_echo.ts", import.meta.url));
const STDIO_PEER = fileURLToPath(new URL("./peers/stdio_echo.ts", import.meta.url));

const WORKER = `self.onmessage = (e) => self.postMessage(e.data);`;

/** Round trips of `postMessage` to a module worker and back, µs each. */
export async function workerHop(n: number): Promise<number[]> {
  const w = new Worker(`data:text/javascript,${encodeURIComponent(WORKER)}`, { type: "module" });
  try {
    const out: number[] = [];
    let next: (() => void) | undefined;
    w.onmessage = () => next?.();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await new Promise<void>((r) => {
        next = r;
        w.postMessage({ ...MESSAGE, id: i });
      });
      out.push((performance.now() - t0) * 1000);
    }
    return out;
  } finally {
    w.terminate();
  }
}

/** The capability request as one protocol-like line (token, space, JSON, newline). */
const frameBytes = () => new TextEncoder().encode(`${crypto.randomUUID()} ${JSON.stringify(MESSAGE)}\n`);

/**
 * `n` echo round trips of `frame`, µs each: `send` writes it, `receive` reads what came back so far
 * (its byte count, or null once the peer closed), until the whole frame is back.
 */
async function echoRoundTrips(
  n: number,
  frame: Uint8Array,
  send: (frame: Uint8Array) => Promise<unknown> | void,
  receive: () => Promise<number | null>,
  what: string,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await send(frame);
    for (let got = 0; got < frame.length;) {
      const r = await receive();
      if (r === null) throw new Error(`Cannot measure ${what}: the echo peer closed`);
      got += r;
    }
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

/** Round trips of one JSON-sized frame over a Unix socket to another deno process, µs each. */
export async function unixRoundTrip(n: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench-floor-" });
  const path = join(dir, "s");
  const listener = Deno.listen({ transport: "unix", path });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-config", PEER, path],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const conn = await Promise.race([
    listener.accept(),
    child.status.then((st) => {
      throw new Error(`Cannot measure the Unix-socket floor: the echo peer exited with code ${st.code}`);
    }),
  ]).catch((e) => {
    listener.close();
    throw e;
  });
  try {
    const buf = new Uint8Array(64 * 1024);
    return await echoRoundTrips(
      n,
      frameBytes(),
      (f) => conn.write(f),
      () => conn.read(buf),
      "the Unix-socket floor",
    );
  } finally {
    conn.close();
    listener.close();
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Round trips of the same frame over the transport a sandbox has: a permission-less child's
 * stdin/stdout, written and read on this side through `Deno.ChildProcess` streams as
 * services/plugin_host/sandbox.ts does. Compared with {@link unixRoundTrip} it shows what the
 * pipe streams cost over a socket, µs each.
 */
export async function pipeRoundTrip(n: number): Promise<number[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", STDIO_PEER],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  try {
    // Not awaited, as the broker writes: the write resolves on its own time.
    const send = (f: Uint8Array) => void writer.write(f).catch(() => {});
    const receive = async () => {
      const r = await reader.read();
      return r.done ? null : r.value.length;
    };
    return await echoRoundTrips(n, frameBytes(), send, receive, "the pipe transport");
  } finally {
    await writer.close().catch(() => {});
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
}
