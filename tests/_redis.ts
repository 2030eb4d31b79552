/**
 * Test helper: a real `redis-server` on a free loopback port, owned by the test that starts it.
 * `tests/run.sh` installs Redis when missing; nothing here fakes it.
 *
 * @module
 */

/** A running redis-server child. */
export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL the server (simulates a crash); `start()` brings it back on the same port. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT, to simulate a hung server. */
  pause(): void;
  resume(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A free TCP port on loopback *below* the kernel's ephemeral range (32768+ here). A killed server's
 * port inside that range can be picked as the source port of a client's reconnect attempt, and TCP
 * then connects the client to itself; keeping test servers at 20000–29999, like Redis's own 6379,
 * rules that out.
 */
export function freePort(): number {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      l.close();
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error("Cannot find a free port in 20000..29999 on 127.0.0.1");
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`Cannot reach redis-server: nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Start `redis-server` with no persistence on a free port. */
export async function startRedis(port = freePort()): Promise<RedisServer> {
  let child: Deno.ChildProcess | null = null;
  // Its own folder: never load (or leave) a dump.rdb in the working directory.
  const dir = Deno.makeTempDirSync({ prefix: "harvester-redis-" });
  const spawn = async () => {
    child = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--dir", dir, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, 5000);
  };
  const end = async (signal: Deno.Signal) => {
    const c = child as Deno.ChildProcess | null;
    if (!c) return;
    child = null;
    try {
      c.kill(signal);
    } catch { /* already gone */ }
    await c.status;
  };
  await spawn();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => end("SIGKILL"),
    pause: () => (child as Deno.ChildProcess | null)?.kill("SIGSTOP"),
    resume: () => (child as Deno.ChildProcess | null)?.kill("SIGCONT"),
    start: spawn,
    stop: async () => {
      await end("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
