/**
 * Where Redis is: one server (`redis://`, `rediss://`) or a master found through Sentinel
 * (`redis+sentinel://[user:pass@]host:port[,host:port…]/<master>[/<db>]`). Every connection of
 * the process resolves its target through {@link resolveRedis} each time it connects, so after a
 * failover the next connect goes to the promoted master; the answer is checked with `ROLE`
 * by the connection itself (a sentinel's view can lag a promotion).
 *
 * @module
 */
import type { createClient } from "redis";
import { loadRedis } from "./redis_module.ts";

/** A Sentinel-managed master. */
export interface SentinelTarget {
  kind: "sentinel";
  /** `host:port` of each sentinel, tried in order. */
  sentinels: Array<{ host: string; port: number }>;
  /** The monitored master's name (`sentinel monitor <name> …`). */
  master: string;
  /** Credentials of the data nodes (the master and replicas). */
  username?: string;
  password?: string;
  /** Database number. */
  db: number;
  /** Password of the sentinels themselves (`requirepass` in sentinel.conf), if any. */
  sentinelPassword?: string;
}

/** One fixed server. */
export interface DirectTarget {
  kind: "direct";
  url: string;
}

export type RedisTarget = DirectTarget | SentinelTarget;

const SENTINEL_SCHEME = "redis+sentinel://";

/**
 * Parse a Redis URL.
 *
 * @throws {TypeError} Naming what is wrong: scheme, a sentinel address, the master name.
 */
export function parseRedisTarget(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: "direct", url };
  if (!url.startsWith(SENTINEL_SCHEME)) {
    throw new TypeError(
      `Cannot connect to Redis: URL '${maskTarget(url)}' is not redis://, rediss:// or redis+sentinel://`,
    );
  }
  const hash = url.indexOf("#");
  const fragment = hash === -1 ? "" : url.slice(hash + 1);
  const rest = url.slice(SENTINEL_SCHEME.length, hash === -1 ? undefined : hash);
  const sentinelPassword = /^sentinel-password=(.*)$/.exec(fragment)?.[1];
  const at = rest.lastIndexOf("@", rest.indexOf("/") === -1 ? rest.length : rest.indexOf("/"));
  const auth = at === -1 ? "" : rest.slice(0, at);
  const [hosts, master = "", db = "0", ...extra] = rest.slice(at + 1).split("/");
  const what = `Cannot connect to Redis through Sentinel: URL '${maskTarget(url)}'`;
  if (extra.length) throw new TypeError(`${what} has more than /<master>/<db> after the sentinels`);
  if (!master) throw new TypeError(`${what} names no master (redis+sentinel://host:port/<master>)`);
  if (!/^\d+$/.test(db)) throw new TypeError(`${what}: database '${db}' is not a number`);
  const sentinels = hosts.split(",").map((h) => {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(h);
    const port = m ? Number(m[2]) : NaN;
    if (!m || !(port > 0 && port < 65536)) throw new TypeError(`${what}: sentinel '${h}' is not host:port`);
    return { host: m[1].replace(/^\[|\]$/g, ""), port };
  });
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const colon = auth.indexOf(":");
    username = colon === -1 ? undefined : decodeURIComponent(auth.slice(0, colon)) || undefined;
    password = decodeURIComponent(colon === -1 ? auth : auth.slice(colon + 1));
  }
  return {
    kind: "sentinel",
    sentinels,
    master: decodeURIComponent(master),
    username,
    password,
    db: Number(db),
    sentinelPassword: sentinelPassword === undefined ? undefined : decodeURIComponent(sentinelPassword),
  };
}

/** Build a `redis+sentinel://` URL from config parts. */
export function sentinelUrl(
  sentinels: string[],
  master: string,
  auth: { username?: string; password?: string; db?: number } = {},
): string {
  const cred = auth.password !== undefined
    ? `${auth.username ? encodeURIComponent(auth.username) : ""}:${encodeURIComponent(auth.password)}@`
    : "";
  return `${SENTINEL_SCHEME}${cred}${sentinels.join(",")}/${encodeURIComponent(master)}${
    auth.db ? `/${auth.db}` : ""
  }`;
}

/** A URL or target name with its password masked, for logs. */
export function maskTarget(url: string): string {
  return url.replace(
    /^([a-z+]+:\/\/)([^@/]*)@/,
    (_m, scheme, auth: string) => `${scheme}${auth ? "***" : ""}@`,
  )
    .replace(/#sentinel-password=.*$/, "#sentinel-password=***");
}

/** Thrown when no sentinel names a master. */
export class SentinelError extends Error {
  override name = "SentinelError";
}

/**
 * The `redis://` URL to connect to now: the URL itself for a direct target, the master the first
 * answering sentinel names for a Sentinel target.
 *
 * @param timeoutMs Deadline per sentinel asked.
 * @throws {SentinelError} When no sentinel answers or none knows the master.
 */
export async function resolveRedis(target: RedisTarget, timeoutMs = 1000): Promise<string> {
  if (target.kind === "direct") return target.url;
  const problems: string[] = [];
  for (const s of target.sentinels) {
    try {
      const addr = await askSentinel(s, target, timeoutMs);
      if (addr) return dataUrl(target, addr.host, addr.port);
      problems.push(`${s.host}:${s.port} does not know master '${target.master}'`);
    } catch (e) {
      problems.push(`${s.host}:${s.port} ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new SentinelError(`Cannot find the Redis master '${target.master}': ${problems.join("; ")}`);
}

function dataUrl(t: SentinelTarget, host: string, port: number): string {
  const h = host.includes(":") ? `[${host}]` : host;
  const cred = t.password !== undefined
    ? `${t.username ? encodeURIComponent(t.username) : ""}:${encodeURIComponent(t.password)}@`
    : "";
  return `redis://${cred}${h}:${port}${t.db ? `/${t.db}` : ""}`;
}

async function askSentinel(
  s: { host: string; port: number },
  t: SentinelTarget,
  timeoutMs: number,
): Promise<{ host: string; port: number } | null> {
  const { createClient } = await loadRedis();
  const c = createClient({
    socket: { host: s.host, port: s.port, connectTimeout: timeoutMs, reconnectStrategy: false },
    password: t.sentinelPassword,
    disableOfflineQueue: true,
  });
  c.on("error", () => {/* the failing call reports it */});
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer = await Promise.race([
      (async () => {
        await c.connect();
        return await c.sendCommand(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", t.master]);
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`gave no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    if (!Array.isArray(answer) || answer.length !== 2) return null;
    const port = Number(answer[1]);
    return port > 0 ? { host: String(answer[0]), port } : null;
  } finally {
    clearTimeout(timer);
    try {
      c.destroy();
    } catch { /* never connected */ }
  }
}

/**
 * A connected client on the current master that fails instead of reconnecting or queueing (the
 * command channel replaces broken connections itself). A Sentinel answer is checked with `ROLE`.
 *
 * @throws {SentinelError} When no sentinel names a master.
 * @throws {Error} When the server cannot be reached or is not the master.
 */
export async function connectOnce(
  target: RedisTarget,
  connectTimeoutMs: number,
): Promise<ReturnType<typeof createClient>> {
  const url = await resolveRedis(target, connectTimeoutMs);
  const { createClient } = await loadRedis();
  const c = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: false },
  });
  c.on("error", () => {/* surfaced by the failing command */});
  try {
    await c.connect();
    if (target.kind === "sentinel") await assertMaster(c, url);
    return c;
  } catch (e) {
    try {
      c.destroy();
    } catch { /* never connected */ }
    throw e;
  }
}

/** The role `ROLE` reports (`master`, `slave`, `sentinel`), or null when it does not answer. */
export async function roleOf(c: { sendCommand(args: string[]): Promise<unknown> }): Promise<string | null> {
  try {
    const r = await c.sendCommand(["ROLE"]);
    return Array.isArray(r) ? String(r[0]) : null;
  } catch {
    return null;
  }
}

/**
 * @throws {Error} naming the server when it is not the master (a sentinel's view can lag a promotion).
 */
export async function assertMaster(
  c: { sendCommand(args: string[]): Promise<unknown> },
  url: string,
): Promise<void> {
  const role = await roleOf(c);
  if (role !== "master") {
    throw new Error(`${maskTarget(url)} is ${role ? `a ${role}` : "silent"}, not the master`);
  }
}
