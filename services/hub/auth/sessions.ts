/**
 * Browser sessions: a random id in an HttpOnly cookie, a per-session CSRF token, an absolute
 * expiry on the monotonic clock, revocation per session or per user. Bounded: at most
 * `maxPerUser` sessions per user (oldest dropped) and `maxTotal` overall. With a file, sessions
 * (keyed by the SHA-256 of the cookie, never the cookie) survive a hub restart: the file is
 * `0600` and holds wall-clock expiries, turned back into monotonic deadlines on load.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import type { Role } from "./store.ts";

/** One logged-in browser. */
export interface Session {
  /** Public id (for listing/revoking; not the cookie value). */
  id: string;
  user: string;
  role: Role;
  /** Sent back in `X-CSRF-Token` on every write. */
  csrf: string;
  /** Monotonic ms when it expires. */
  expiresAt: number;
  created: string;
}

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  ttlMs: number;
  maxPerUser?: number;
  maxTotal?: number;
  now?: () => number;
  /** Where to keep sessions across restarts (`hub-sessions.json`); none = memory only. */
  file?: string | null;
}

/** Name of the sessions file in the state dir. */
export const SESSIONS_FILE = "hub-sessions.json";

/** Name of the session cookie. */
export const SESSION_COOKIE = "harvester_session";

const key = (cookie: string) => createHash("sha256").update(cookie).digest("hex");

/** In-memory sessions (a restart logs everyone out, which is the safe direction). */
export class SessionStore {
  #byKey = new Map<string, Session>();
  #opts: Required<SessionStoreOptions>;

  constructor(options: SessionStoreOptions) {
    this.#opts = { maxPerUser: 10, maxTotal: 1000, now: () => performance.now(), file: null, ...options };
    this.#load();
  }

  #load(): void {
    if (!this.#opts.file) return;
    let rows: Array<[string, Session & { expiresWall: number }]>;
    try {
      rows = JSON.parse(Deno.readTextFileSync(this.#opts.file));
    } catch {
      return; // None yet, or unreadable: everyone logs in again.
    }
    if (!Array.isArray(rows)) return;
    const wall = Date.now();
    for (const [k, s] of rows.slice(-this.#opts.maxTotal)) {
      const left = Number(s?.expiresWall) - wall;
      if (typeof k !== "string" || !(left > 0) || typeof s.user !== "string") continue;
      const { expiresWall: _, ...rest } = s;
      this.#byKey.set(k, { ...rest, expiresAt: this.#opts.now() + Math.min(left, this.#opts.ttlMs) });
    }
  }

  #save(): void {
    const file = this.#opts.file;
    if (!file) return;
    const t = this.#opts.now();
    const wall = Date.now();
    const rows = [...this.#byKey].map(([k, s]) => [k, { ...s, expiresWall: wall + (s.expiresAt - t) }]);
    try {
      const tmp = `${file}.${crypto.randomUUID()}.tmp`;
      Deno.writeTextFileSync(tmp, JSON.stringify(rows), { mode: 0o600 });
      Deno.chmodSync(tmp, 0o600);
      Deno.renameSync(tmp, file);
    } catch (e) {
      console.error(`Cannot save sessions to ${file}: ${(e as Error).message}`);
    }
  }

  /** Session lifetime in ms. */
  get ttlMs(): number {
    return this.#opts.ttlMs;
  }

  /** Open a session. @returns the cookie value and the session */
  create(user: string, role: Role): { cookie: string; session: Session } {
    this.#sweep();
    const mine = [...this.#byKey.entries()].filter(([, s]) => s.user === user);
    while (mine.length >= this.#opts.maxPerUser) this.#byKey.delete(mine.shift()![0]);
    while (this.#byKey.size >= this.#opts.maxTotal) this.#byKey.delete(this.#byKey.keys().next().value!);
    const cookie = randomBytes(32).toString("base64url");
    const session: Session = {
      id: randomBytes(6).toString("hex"),
      user,
      role,
      csrf: randomBytes(24).toString("base64url"),
      expiresAt: this.#opts.now() + this.#opts.ttlMs,
      created: new Date().toISOString(),
    };
    this.#byKey.set(key(cookie), session);
    this.#save();
    return { cookie, session };
  }

  /** The live session of a cookie value, or null (unknown, revoked or expired). */
  get(cookie: string): Session | null {
    const k = key(cookie);
    const s = this.#byKey.get(k);
    if (!s) return null;
    if (this.#opts.now() >= s.expiresAt) {
      this.#byKey.delete(k);
      return null;
    }
    return s;
  }

  /** End the session of a cookie value. @returns the ended session */
  revokeCookie(cookie: string): Session | null {
    const k = key(cookie);
    const s = this.#byKey.get(k) ?? null;
    if (s) {
      this.#byKey.delete(k);
      this.#save();
    }
    return s;
  }

  /** End the session with public id `id`. @returns the ended session */
  revokeId(id: string): Session | null {
    for (const [k, s] of this.#byKey) {
      if (s.id === id) {
        this.#byKey.delete(k);
        this.#save();
        return s;
      }
    }
    return null;
  }

  /** End every session of `user`. @returns how many */
  revokeUser(user: string): number {
    let n = 0;
    for (const [k, s] of this.#byKey) {
      if (s.user === user) {
        this.#byKey.delete(k);
        n++;
      }
    }
    if (n) this.#save();
    return n;
  }

  /** Live sessions. */
  list(): Session[] {
    this.#sweep();
    return [...this.#byKey.values()];
  }

  #sweep(): void {
    const t = this.#opts.now();
    for (const [k, s] of this.#byKey) if (t >= s.expiresAt) this.#byKey.delete(k);
  }
}
