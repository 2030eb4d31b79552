/**
 * Helpers for the hub access tests: a real listening hub over a temp state dir, a cookie-keeping
 * client that behaves like the dashboard (session cookie + CSRF header + same Origin), and raw
 * TCP requests for what `fetch` will not send (a foreign `Host`, slow headers).
 *
 * @module
 */
import { LocalCommandBus } from "../services/link/mod.ts";
import { createHub, type Hub, type HubAccessOptions, type HubServer } from "../services/hub/mod.ts";
import { makeSnapshot, TestEventLog, TestState } from "../services/hub/_test_fakes.ts";

/** Push token of the test spoke `pi4`. */
export const SPOKE = "pi4-push-secret";

/** A running hub and what the tests look at. */
export interface AuthHub {
  hub: Hub;
  server: HubServer;
  base: string;
  dir: string;
  log: TestEventLog;
  /** Commands that reached the broker. */
  ran: unknown[];
  /** Lines the hub printed (the setup link). */
  lines: string[];
  /** An API token minted directly in the store. */
  mint(name: string, scopes: string[]): string;
  close(): Promise<void>;
}

/** Start a hub on 127.0.0.1 with users and tokens in a fresh temp dir. */
export async function startAuthHub(
  access: Omit<HubAccessOptions, "stateDir" | "log"> & { stateDir?: string; write?: string } = {},
): Promise<AuthHub> {
  const dir = access.stateDir ?? await Deno.makeTempDir({ prefix: "hub-auth-" });
  const log = new TestEventLog();
  const state = new TestState();
  await state.write(makeSnapshot("hub"));
  const bus = new LocalCommandBus();
  const ran: unknown[] = [];
  bus.register("hub", (req) => {
    ran.push(req.command);
    return Promise.resolve({ id: req.id, ok: true });
  });
  const lines: string[] = [];
  const hub = createHub({
    node: "hub",
    state,
    events: log,
    emit: log,
    commands: bus,
    tokens: { write: access.write ?? null, spokes: { pi4: SPOKE } },
    dashboardDir: new URL("../services/hub/dashboard", import.meta.url).pathname,
    access: { ...access, stateDir: dir, log: (l) => lines.push(l) },
  });
  const server = await hub.listen(0);
  return {
    hub,
    server,
    base: `http://127.0.0.1:${server.port}`,
    dir,
    log,
    ran,
    lines,
    mint: (name, scopes) => hub.core.access.store.createToken(name, scopes, "test").token,
    async close() {
      await hub.close();
      if (!access.stateDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The setup token from the printed link. */
export function setupTokenOf(lines: string[]): string {
  const m = lines.join("\n").match(/\/setup#([A-Za-z0-9_-]+)/);
  if (!m) throw new Error(`Cannot find the setup link in: ${lines.join(" | ")}`);
  return m[1];
}

/** What a browser tab does: keeps the cookie, sends the CSRF token and its Origin on writes. */
export class Tab {
  cookie: string | null = null;
  csrf: string | null = null;
  setCookie: string | null = null;
  constructor(readonly base: string, public origin: string | null = base) {}

  async request(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
    const headers: Record<string, string> = { accept: "application/json", ...extra };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.cookie) headers.cookie = this.cookie;
    if (method !== "GET" && this.csrf && !("x-csrf-token" in extra)) headers["x-csrf-token"] = this.csrf;
    if (method !== "GET" && this.origin && !("origin" in extra)) headers.origin = this.origin;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get("set-cookie");
    if (set) {
      this.setCookie = set;
      const v = set.match(/^harvester_session=([^;]*)/)?.[1] ?? "";
      this.cookie = v ? `harvester_session=${v}` : null;
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  async login(user: string, password: string) {
    const r = await this.request("POST", "/auth/login", { user, password });
    if (r.status === 200) this.csrf = String(r.json.csrf);
    return r;
  }
}

/**
 * Send `text` on a raw TCP connection to 127.0.0.1 and read until the server closes or `ms`
 * pass. Returns what came back and whether the server closed.
 */
export async function rawRequest(
  port: number,
  text: string,
  ms = 5000,
): Promise<{ reply: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(text));
  let reply = "";
  const buf = new Uint8Array(16384);
  const deadline = setTimeout(() => conn.close(), ms);
  let closed = false;
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) {
        closed = true;
        break;
      }
      reply += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch {
    // closed by the deadline
  } finally {
    clearTimeout(deadline);
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
  return { reply, closed };
}

/** Poll `cond` until it holds or `ms` pass. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`Cannot wait for ${what}: timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
