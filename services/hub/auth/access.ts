/**
 * `Access`: who is asking and what they may do. Resolves a request's credential (bearer token
 * or session cookie) to a {@link Principal} with scopes, holds the one-time setup token, the
 * login limiter, and writes audit events. Scopes: `read`, `act`, `admin`, `push:<node>`;
 * `admin` implies `act`, `act` implies `read`. Roles: admin → admin; operator → act; viewer → read.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { EventSink } from "../../events/event.ts";
import { safeEqual } from "../middleware.ts";
import { LoginLimiter } from "./rate_limit.ts";
import { type Session, SESSION_COOKIE, SESSIONS_FILE, SessionStore } from "./sessions.ts";
import { AuthStore, type Role } from "./store.ts";

/** Who a request is. */
export interface Principal {
  kind: "user" | "token" | "anonymous";
  /** User name or token name (`anonymous` for nobody). */
  name: string;
  scopes: ReadonlySet<string>;
  role?: Role;
  /** Set when authenticated by the session cookie (writes then need the CSRF header). */
  session?: Session;
  /** Token id (API tokens only). */
  tokenId?: string;
}

/** Options of {@link Access}. */
export interface AccessOptions {
  /** Where `hub-auth.json` lives; null keeps users and tokens in memory. */
  stateDir?: string | null;
  /** Readings (`/`, `/api/readings`, `/api/nodes`, reading events) without a login. Default false. */
  publicRead?: boolean;
  /** Fixed tokens from the config: token → scopes (e.g. `hub.token` → read, act). */
  staticTokens?: Array<{ name: string; token: string; scopes: string[] }>;
  /** Node id → push token (`cluster.spoke_tokens`). */
  spokeTokens?: Record<string, string>;
  /** Bearer token accepted for `/metrics` only (Prometheus `bearer_token`). */
  metricsToken?: string;
  /** Session lifetime. Default 12 h. */
  sessionTtlMs?: number;
  /** Setup link lifetime. Default 15 min. */
  setupTtlMs?: number;
  /** Cookies get `Secure` (served over TLS). */
  secureCookies?: boolean;
  emit: EventSink;
  now?: () => number;
  limiter?: LoginLimiter;
}

const IMPLIES: Record<string, string[]> = {
  admin: ["act", "read", "metrics"],
  act: ["read", "metrics"],
  read: ["metrics"],
};
const ROLE_SCOPES: Record<Role, string[]> = { admin: ["admin"], operator: ["act"], viewer: ["read"] };

/** Scopes with their implications filled in. */
export function expandScopes(scopes: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const s of scopes) {
    out.add(s);
    for (const i of IMPLIES[s] ?? []) out.add(i);
  }
  return out;
}

export { safeEqual };

/** The anonymous principal: no scopes. */
export const ANONYMOUS: Principal = { kind: "anonymous", name: "anonymous", scopes: new Set() };

/** A cookie value from a `Cookie` header. */
export function cookieValue(header: string | null | undefined, name = SESSION_COOKIE): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim() || null;
  }
  return null;
}

/** The token of an `Authorization: Bearer <token>` header value, or null. */
export function bearerOf(header: string | null | undefined): string | null {
  const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return m ? m[1] : null;
}

/** Result of resolving a credential. */
export type Resolved = { ok: true; principal: Principal } | { ok: false; reason: string };

/** Access decisions for one hub. */
export class Access {
  readonly store: AuthStore;
  readonly sessions: SessionStore;
  readonly limiter: LoginLimiter;
  readonly publicRead: boolean;
  readonly secureCookies: boolean;
  #o: AccessOptions;
  #now: () => number;
  #setup: { token: string; expiresAt: number } | null = null;
  #listeners = new Set<() => void>();

  constructor(options: AccessOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.store = new AuthStore(options.stateDir ?? null);
    this.sessions = new SessionStore({
      ttlMs: options.sessionTtlMs ?? 12 * 3600_000,
      now: this.#now,
      file: options.stateDir ? join(options.stateDir, SESSIONS_FILE) : null,
    });
    this.limiter = options.limiter ?? new LoginLimiter({ now: this.#now });
    this.publicRead = options.publicRead ?? false;
    this.secureCookies = options.secureCookies ?? false;
    if (this.store.userCount === 0) this.newSetupToken();
  }

  /** Whether any user, API token or configured token can log in or authorize. */
  get hasCredentials(): boolean {
    return this.store.userCount > 0 || this.store.tokenCount > 0 ||
      (this.#o.staticTokens ?? []).some((t) => t.token !== "");
  }

  /** Call `fn` whenever a credential is revoked (sessions, tokens, users). */
  onRevoke(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Tell listeners (the live feed) to re-check who is connected. */
  revoked(): void {
    for (const fn of this.#listeners) fn();
  }

  // --- setup link

  /** Issue a fresh one-time setup token (only while no user exists). @returns it, or null */
  newSetupToken(): string | null {
    if (this.store.userCount > 0) return (this.#setup = null);
    const token = randomBytes(24).toString("base64url");
    this.#setup = { token, expiresAt: this.#now() + (this.#o.setupTtlMs ?? 15 * 60_000) };
    return token;
  }

  /** The pending setup token, or null (used, expired, or users exist). */
  get setupToken(): string | null {
    if (!this.#setup || this.#now() >= this.#setup.expiresAt || this.store.userCount > 0) return null;
    return this.#setup.token;
  }

  /** Whether `token` is the live setup token; consumes it when it is. */
  consumeSetup(token: string): boolean {
    const live = this.setupToken;
    if (live === null || !safeEqual(token, live)) return false;
    this.#setup = null;
    return true;
  }

  // --- credentials

  /** Resolve a bearer token (API token or configured one). */
  resolveToken(token: string): Resolved {
    const rec = this.store.verifyToken(token);
    if (rec) {
      return {
        ok: true,
        principal: { kind: "token", name: rec.name, tokenId: rec.id, scopes: expandScopes(rec.scopes) },
      };
    }
    for (const t of this.#o.staticTokens ?? []) {
      if (t.token !== "" && safeEqual(token, t.token)) {
        return { ok: true, principal: { kind: "token", name: t.name, scopes: expandScopes(t.scopes) } };
      }
    }
    if (this.isMetricsToken(token)) {
      return { ok: true, principal: { kind: "token", name: "metrics", scopes: new Set(["metrics"]) } };
    }
    for (const [node, t] of Object.entries(this.#o.spokeTokens ?? {})) {
      if (t !== "" && safeEqual(token, t)) {
        return {
          ok: true,
          principal: { kind: "token", name: `spoke:${node}`, scopes: new Set([`push:${node}`]) },
        };
      }
    }
    return { ok: false, reason: "wrong token" };
  }

  /** Resolve a session cookie value. */
  resolveCookie(cookie: string): Resolved {
    const s = this.sessions.get(cookie);
    if (!s) return { ok: false, reason: "session expired or logged out" };
    const u = this.store.user(s.user);
    if (!u) return { ok: false, reason: "user no longer exists" };
    return {
      ok: true,
      principal: {
        kind: "user",
        name: s.user,
        role: u.role,
        session: s,
        scopes: expandScopes(ROLE_SCOPES[u.role]),
      },
    };
  }

  /**
   * Who sent a request with these headers: the bearer token when present (a wrong one is an
   * error, never a fall-back), else the session cookie, else anonymous.
   */
  resolve(authorization: string | null | undefined, cookie: string | null | undefined): Resolved {
    if (authorization) {
      const token = bearerOf(authorization);
      if (token === null) {
        return { ok: false, reason: "malformed Authorization header (expected 'Bearer <token>')" };
      }
      return this.resolveToken(token);
    }
    const c = cookieValue(cookie);
    if (c) {
      const r = this.resolveCookie(c);
      if (r.ok) return r;
    }
    return { ok: true, principal: ANONYMOUS };
  }

  /** Whether `p` holds `scope` (`read` is public for readings when `public_read` is on: see `mayRead`). */
  has(p: Principal, scope: string): boolean {
    return p.scopes.has(scope);
  }

  /** Whether `token` may push for `node`: its `cluster.spoke_tokens` entry or a token with `push:<node>`. */
  mayPush(node: string, token: string): boolean {
    const r = this.resolveToken(token);
    return r.ok && r.principal.scopes.has(`push:${node}`);
  }

  /** Whether `token` is the configured metrics token. */
  isMetricsToken(token: string): boolean {
    const m = this.#o.metricsToken;
    return !!m && safeEqual(token, m);
  }

  /** Whether a push token is configured for `node` (in config or as a `push:<node>` API token). */
  hasPushToken(node: string): boolean {
    const t = this.#o.spokeTokens?.[node];
    return (t !== undefined && t !== "") ||
      this.store.tokens().some((r) => r.scopes.includes(`push:${node}`));
  }

  // --- audit

  /** The actor label of `p` for audit events. */
  actor(p: Principal): string {
    return p.kind === "user" ? `user:${p.name}` : p.kind === "token" ? `token:${p.name}` : "anonymous";
  }

  /** Record an action as an `audit.<action>` event with who did it. */
  audit(action: string, who: Principal | string, data: Record<string, unknown> = {}): void {
    this.#o.emit.emit(`audit.${action}`, {
      action,
      actor: typeof who === "string" ? who : this.actor(who),
      ...data,
    });
  }
}
