/**
 * Helpers for the browser end-to-end tests: free ports, starting the real service as a child
 * process with a temporary config, launching Debian's Chromium through playwright-core, and
 * bounded waits (never fixed sleeps).
 *
 * @module
 */
import { type Browser, chromium } from "playwright-core";

/** Where the tests write screenshots (gitignored; named in the README). */
export const SCREENSHOT_DIR = new URL("../out/screenshots/", import.meta.url).pathname;
/** The repository root (main.ts lives here). */
export const ROOT = new URL("../../", import.meta.url).pathname;
export const CHROMIUM = "/usr/bin/chromium";

/** A port nobody listens on right now (the OS picks it; released before returning). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Polls `check` until it returns a truthy value, and returns that value.
 * @throws {Error} `Cannot <what>: timed out after <ms> ms` (with the last error seen, if any)
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = last instanceof Error ? `; last error: ${last.message}` : "";
  throw new Error(`Cannot ${what}: timed out after ${timeoutMs} ms${why}`);
}

/**
 * Launches headless Chromium from Debian's package.
 * @throws {Error} when /usr/bin/chromium is missing (tests/setup.sh installs it)
 */
export async function launchBrowser(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Cannot run the browser tests: ${CHROMIUM} is missing; install it with "apt-get install chromium" ` +
        `(tests/setup.sh does this)`,
    );
  }
  // playwright's launch() gives Chromium a fresh temporary profile of its own and removes it on close.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
    },
  };
}

/** A running service child process. */
export interface Service {
  url: string;
  port: number;
  /** Everything the process printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Kills the process (SIGKILL when `hard`) and waits for it to exit. */
  stop(hard?: boolean): Promise<void>;
}

/**
 * Starts `deno run --allow-all main.ts <mode> --port <port> --config <toml>` from the repo root
 * and waits until `GET /health` answers (hub modes) or the process has been up `readyMs`.
 */
export async function startService(
  opts: { mode?: string; toml: string; port?: number; name: string; waitHealth?: boolean },
): Promise<Service> {
  const port = opts.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: `harvester-${opts.name}-` });
  const config = `${dir}/host.toml`;
  await Deno.writeTextFile(config, opts.toml);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "main.ts", opts.mode ?? "start", "--port", String(port), "--config", config],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      out += decoder.decode(chunk, { stream: true });
      if (out.length > 200_000) out = out.slice(-100_000);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const url = `http://127.0.0.1:${port}`;
  const service: Service = {
    url,
    port,
    output: () => out,
    async stop(hard = false) {
      if (!exited) {
        try {
          child.kill(hard ? "SIGKILL" : "SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }, 5000);
        await status;
        clearTimeout(timer);
      }
      await drained;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  if (opts.waitHealth !== false) {
    try {
      await waitFor(`start ${opts.name} on port ${port}`, async () => {
        if (exited) throw new Error(`${opts.name} exited early:\n${out.slice(-3000)}`);
        const res = await fetch(`${url}/health`).catch(() => null);
        await res?.body?.cancel();
        return res?.ok ?? false;
      }, 30000);
    } catch (err) {
      await service.stop(true);
      throw new Error(`${(err as Error).message}\n--- ${opts.name} output ---\n${out.slice(-3000)}`);
    }
  }
  return service;
}
