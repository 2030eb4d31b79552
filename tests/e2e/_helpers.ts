/**
 * Helpers for the browser end-to-end tests: free ports, starting the real service as a child
 * process with a temporary config, launching Debian's Chromium through playwright-core, and
 * bounded waits (never fixed sleeps).
 *
 * @module
 */
import { type Browser, chromium } from "playwright-core";
import { AuthStore, hashPassword } from "../../services/hub/auth/mod.ts";

/** Reads need a token now (the hub refuses anonymous reads unless public_read is on). */
const READ_AUTH = { authorization: "Bearer e2e-write-token" };

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
  opts: {
    mode?: string;
    toml: string;
    port?: number;
    name: string;
    waitHealth?: boolean;
    env?: Record<string, string>;
    /** Extra `deno run` flags, e.g. the V8 flags the deno.json tasks use. */
    denoFlags?: string[];
    /** How long to wait for `/health`. Default 30 s. */
    readyTimeoutMs?: number;
    /** The deno executable to run. Default: this process's own. */
    deno?: string;
  },
): Promise<Service> {
  const port = opts.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: `harvester-${opts.name}-` });
  const config = `${dir}/host.toml`;
  await Deno.writeTextFile(config, opts.toml);
  const child = new Deno.Command(opts.deno ?? Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...(opts.denoFlags ?? []),
      "main.ts",
      opts.mode ?? "start",
      // The broker serves no HTTP port and refuses --port.
      ...(opts.mode === "broker" ? [] : ["--port", String(port)]),
      "--config",
      config,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...opts.env },
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
      }, opts.readyTimeoutMs ?? 30000);
    } catch (err) {
      await service.stop(true);
      throw new Error(`${(err as Error).message}\n--- ${opts.name} output ---\n${out.slice(-3000)}`);
    }
  }
  return service;
}

/** A hub and one spoke for the dashboard tests. */
export interface Stack {
  url: string;
  /** An admin account that exists on the hub. */
  login: { user: string; password: string };
  hubNode: string;
  spokeNode: string;
  /** Kills the spoke's process (SIGKILL: no goodbye to the hub). */
  killSpoke(): Promise<void>;
  stopHub(): Promise<void>;
  /** Starts the hub again on the same port. */
  startHub(): Promise<void>;
  close(): Promise<void>;
}

const HUB_NODE = "hub";
/** The e2e admin account. */
export const E2E_LOGIN = { user: "e2e-admin", password: "e2e-password-long-enough" };
const SPOKE_NODE = "spoke1";
const SPOKE_TOKEN = "e2e-spoke-token";

/** `host.toml` of the hub: sim HAL, memory state, fast polling, one known spoke. */
export function hubToml(port: number, stateDir: string): string {
  return `
[polling]
interval_seconds = 0.5

[hal]
backend = "sim"

[cluster]
role = "hub"
node_id = "${HUB_NODE}"
push_interval_seconds = 1

[cluster.spoke_tokens]
${SPOKE_NODE} = "${SPOKE_TOKEN}"

[shm]
backend = "memory"

[hub]
port = ${port}
host = "127.0.0.1"
token = "e2e-write-token"

[buzzer]
min_interval_ms = 0

[state]
dir = "${stateDir}"
`;
}

/** `host.toml` of the spoke: pushes to the hub every second. */
export function spokeToml(hubUrl: string, stateDir: string): string {
  return `
[polling]
interval_seconds = 0.5

[hal]
backend = "sim"

[cluster]
role = "spoke"
node_id = "${SPOKE_NODE}"
hub_url = "${hubUrl}"
token = "${SPOKE_TOKEN}"
push_interval_seconds = 1

[shm]
backend = "memory"

[state]
dir = "${stateDir}"
`;
}

/**
 * Starts the real service: a hub (`main.ts start`) and a spoke (`main.ts broker`, role spoke) as
 * separate processes, and waits until the hub lists the spoke as online.
 */
export async function startRealStack(): Promise<Stack> {
  const stateDir = await Deno.makeTempDir({ prefix: "harvester-e2e-state-" });
  // The account the browser logs in with, made the way `main.ts` would find it: in the hub's state dir.
  await Deno.mkdir(`${stateDir}/hub`, { recursive: true });
  new AuthStore(`${stateDir}/hub`).addUser(E2E_LOGIN.user, "admin", await hashPassword(E2E_LOGIN.password));
  const port = freePort();
  const startHub = () =>
    startService({ name: "hub", mode: "start", port, toml: hubToml(port, `${stateDir}/hub`) });
  let hub: Service | null = await startHub();
  let spoke: Service | null = null;
  const close = async () => {
    await spoke?.stop(true);
    await hub?.stop();
    spoke = hub = null;
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  };
  try {
    spoke = await startService({
      name: "spoke",
      mode: "broker",
      toml: spokeToml(hub.url, `${stateDir}/spoke`),
      waitHealth: false,
    });
    await waitFor(`see node "${SPOKE_NODE}" online at the hub`, async () => {
      const res = await fetch(`${hub!.url}/api/nodes`, { headers: READ_AUTH });
      const { nodes } = await res.json() as { nodes: { id: string; status: string }[] };
      return nodes.some((n) => n.id === SPOKE_NODE && n.status === "online");
    }, 45000).catch((err) => {
      throw new Error(`${err.message}\n--- spoke output ---\n${spoke?.output().slice(-3000)}`);
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url: hub.url,
    login: E2E_LOGIN,
    hubNode: HUB_NODE,
    spokeNode: SPOKE_NODE,
    killSpoke: async () => {
      await spoke?.stop(true);
      spoke = null;
    },
    stopHub: async () => {
      await hub?.stop();
      hub = null;
    },
    startHub: async () => {
      hub = await startHub();
    },
    close,
  };
}

/** The same shape over tests/e2e/_mock.ts (only for working on the page; see dashboard_test.ts). */
export async function startMockStack(): Promise<Stack> {
  const { startMock } = await import("./_mock.ts");
  let mock: Awaited<ReturnType<typeof startMock>> | null = await startMock(0);
  const port = Number(new URL(mock.url).port);
  const url = mock.url;
  return {
    url,
    login: E2E_LOGIN,
    hubNode: HUB_NODE,
    spokeNode: SPOKE_NODE,
    killSpoke: () => {
      // like the real hub: stale after missed pushes, offline later
      mock?.setNodeStatus(SPOKE_NODE, "stale");
      setTimeout(() => mock?.setNodeStatus(SPOKE_NODE, "offline"), 1500);
      return Promise.resolve();
    },
    stopHub: async () => {
      await mock?.close();
      mock = null;
    },
    startHub: async () => {
      mock = await startMock(port);
    },
    close: async () => {
      await mock?.close();
      mock = null;
    },
  };
}

/** Runs `deno run --allow-all main.ts <args>` from the repo root to its end; stdout and stderr apart. */
export async function runMain(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "main.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
