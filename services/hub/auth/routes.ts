/**
 * Routes of accounts and tokens: `/auth/session`, `/auth/login`, `/auth/logout`, `/auth/setup`
 * (first admin via the one-time link), and the admin API `/api/users`, `/api/tokens`,
 * `/api/audit`. Every change is audited.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { EventLog } from "../../events/event.ts";
import { RequestError } from "../errors.ts";
import { readJson } from "../middleware.ts";
import type { Access, Principal } from "./access.ts";
import { checkCsrf, clientOf, principalOf, requireScope, sameOrigin } from "./guard.ts";
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from "./passwords.ts";
import { SESSION_COOKIE } from "./sessions.ts";
import { nameProblem, type Role, ROLES, SCOPE } from "./store.ts";

function bad(field: string, problem: string): RequestError {
  return new RequestError(400, `Cannot accept body: '${field}' ${problem}`, field, problem);
}

function obj(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw bad("body", "must be a JSON object");
  return v as Record<string, unknown>;
}

function sessionCookie(access: Access, value: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}` +
    (access.secureCookies ? "; Secure" : "");
}

function refuseForeignOrigin(c: Context, allowed: string[]): void {
  if (c.req.header("origin") && !sameOrigin(c, allowed)) {
    throw new RequestError(
      403,
      `Cannot accept request from origin '${c.req.header("origin")}': not allowed`,
      "origin",
      "is not allowed",
    );
  }
}

function sessionView(access: Access, p: Principal) {
  return {
    authenticated: p.kind !== "anonymous",
    kind: p.kind,
    user: p.kind === "anonymous" ? null : p.name,
    role: p.role ?? null,
    scopes: [...p.scopes].sort(),
    // Only an authenticated request ever sees the CSRF token; the page source never holds it.
    csrf: p.session?.csrf ?? null,
    public_read: access.publicRead,
    setup_pending: access.setupToken !== null,
  };
}

/** Mount the auth and admin routes on `app` (after `authenticate`). */
export function mountAuthRoutes(app: Hono, access: Access, events: EventLog, allowed: string[]): void {
  const admin = (what: string) => requireScope("admin", what, { allowed });

  app.get("/auth/session", (c) => {
    c.header("cache-control", "no-store");
    return c.json(sessionView(access, principalOf(c)));
  });

  app.post("/auth/login", async (c) => {
    refuseForeignOrigin(c, allowed);
    const b = obj(await readJson(c));
    const user = typeof b.user === "string" ? b.user.slice(0, 64) : "";
    const password = typeof b.password === "string" ? b.password.slice(0, 1024) : "";
    if (!user) throw bad("user", "is required");
    const client = clientOf(c);
    const limited = access.limiter.check(client, user);
    if (limited) {
      access.audit("login.limited", "anonymous", { user, client, scope: limited.scope });
      c.header("retry-after", String(limited.retryAfterS));
      return c.json({
        error:
          `Cannot log in: too many failed attempts for this ${limited.scope}; try again in ${limited.retryAfterS} s`,
        field: limited.scope === "account" ? "user" : null,
        problem: "is rate-limited",
      }, 429);
    }
    const rec = access.store.user(user);
    const ok = await verifyPassword(password, rec?.hash ?? DUMMY_HASH) && rec !== undefined;
    if (!ok || !rec) {
      access.limiter.fail(client, user);
      access.audit("login.failed", "anonymous", { user, client });
      throw new RequestError(401, "Cannot log in: wrong user name or password", "password", "does not match");
    }
    access.limiter.succeed(user);
    const { cookie, session } = access.sessions.create(rec.name, rec.role);
    access.audit("login", `user:${rec.name}`, { client });
    c.header("set-cookie", sessionCookie(access, cookie, Math.floor(access.sessions.ttlMs / 1000)));
    c.header("cache-control", "no-store");
    return c.json({ ok: true, user: rec.name, role: rec.role, csrf: session.csrf });
  });

  app.post("/auth/logout", (c) => {
    const p = principalOf(c);
    checkCsrf(c, p, allowed);
    const cookie = c.req.header("cookie")?.match(new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`))?.[1];
    if (cookie && access.sessions.revokeCookie(cookie)) {
      access.audit("logout", p);
      access.revoked();
    }
    c.header("set-cookie", sessionCookie(access, "", 0));
    return c.json({ ok: true });
  });

  app.post("/auth/setup", async (c) => {
    refuseForeignOrigin(c, allowed);
    const b = obj(await readJson(c));
    const client = clientOf(c);
    const limited = access.limiter.check(client, "(setup)");
    if (limited) {
      c.header("retry-after", String(limited.retryAfterS));
      return c.json({
        error: `Cannot finish setup: too many attempts; try again in ${limited.retryAfterS} s`,
      }, 429);
    }
    const name = b.user;
    const np = nameProblem(name);
    if (np) throw bad("user", np);
    const pp = passwordProblem(b.password);
    if (pp) throw bad("password", pp);
    if (typeof b.token !== "string" || !access.consumeSetup(b.token)) {
      access.limiter.fail(client, "(setup)");
      access.audit("setup.failed", "anonymous", { client });
      throw new RequestError(
        403,
        "Cannot finish setup: the setup link is wrong, used or expired (restart the hub for a new one)",
        "token",
        "is not the live setup token",
      );
    }
    access.store.addUser(name as string, "admin", await hashPassword(b.password as string));
    access.audit("user.create", "setup-link", { user: name, role: "admin" });
    const { cookie, session } = access.sessions.create(name as string, "admin");
    c.header("set-cookie", sessionCookie(access, cookie, Math.floor(access.sessions.ttlMs / 1000)));
    return c.json({ ok: true, user: name, role: "admin", csrf: session.csrf });
  });

  // --- users
  app.get("/api/users", admin("list users"), (c) => c.json({ users: access.store.users() }));
  app.post("/api/users", admin("create users"), async (c) => {
    const b = obj(await readJson(c));
    const np = nameProblem(b.name);
    if (np) throw bad("name", np);
    if (!ROLES.includes(b.role as Role)) throw bad("role", `must be one of ${ROLES.join(", ")}`);
    const pp = passwordProblem(b.password);
    if (pp) throw bad("password", pp);
    if (access.store.user(b.name as string)) {
      throw new RequestError(409, `Cannot create user '${b.name}': it exists`, "name", "is taken");
    }
    access.store.addUser(b.name as string, b.role as Role, await hashPassword(b.password as string));
    access.audit("user.create", principalOf(c), { user: b.name, role: b.role });
    return c.json({ ok: true, user: b.name, role: b.role });
  });
  app.delete("/api/users/:name", admin("delete users"), (c) => {
    const name = c.req.param("name");
    const rec = access.store.user(name);
    if (!rec) {
      throw new RequestError(404, `Cannot delete user '${name}': no such user`, "name", "is not a user");
    }
    if (rec.role === "admin" && access.store.users().filter((u) => u.role === "admin").length === 1) {
      throw new RequestError(
        409,
        `Cannot delete user '${name}': it is the last admin`,
        "name",
        "is the last admin",
      );
    }
    access.store.removeUser(name);
    const ended = access.sessions.revokeUser(name);
    access.audit("user.delete", principalOf(c), { user: name, sessions: ended });
    access.revoked();
    return c.json({ ok: true, user: name, sessions_ended: ended });
  });

  // --- sessions
  app.get("/api/sessions", admin("list sessions"), (c) => {
    const now = performance.now();
    return c.json({
      sessions: access.sessions.list().map((s) => ({
        id: s.id,
        user: s.user,
        role: s.role,
        created: s.created,
        expires_in_s: Math.max(0, Math.round((s.expiresAt - now) / 1000)),
      })),
    });
  });
  app.delete("/api/sessions/:id", admin("revoke sessions"), (c) => {
    const id = c.req.param("id");
    const gone = access.sessions.revokeId(id);
    if (!gone) {
      throw new RequestError(404, `Cannot revoke session '${id}': no such session`, "id", "is not a session");
    }
    access.audit("session.revoke", principalOf(c), { session: id, user: gone.user });
    access.revoked();
    return c.json({ ok: true, revoked: id, user: gone.user });
  });

  // --- tokens
  app.get("/api/tokens", admin("list tokens"), (c) => c.json({ tokens: access.store.tokens() }));
  app.post("/api/tokens", admin("create tokens"), async (c) => {
    const b = obj(await readJson(c));
    const np = nameProblem(b.name);
    if (np) throw bad("name", np);
    const scopes = b.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.length > 16) {
      throw bad("scopes", "must be a non-empty array of scopes (read, act, admin, push:<node>)");
    }
    const wrong = scopes.find((s) => typeof s !== "string" || !SCOPE.test(s));
    if (wrong !== undefined) {
      throw bad("scopes", `holds '${String(wrong)}', expected read, act, admin or push:<node>`);
    }
    const p = principalOf(c);
    const { token, view } = access.store.createToken(b.name as string, scopes as string[], access.actor(p));
    access.audit("token.create", p, { token: view.name, id: view.id, scopes: view.scopes });
    c.header("cache-control", "no-store");
    return c.json({ ok: true, token, ...view });
  });
  app.delete("/api/tokens/:id", admin("revoke tokens"), (c) => {
    const id = c.req.param("id");
    const gone = access.store.revokeToken(id);
    if (!gone.length) {
      throw new RequestError(404, `Cannot revoke token '${id}': no such token`, "id", "is not a token");
    }
    access.audit("token.revoke", principalOf(c), { tokens: gone.map((t) => ({ id: t.id, name: t.name })) });
    access.revoked();
    return c.json({ ok: true, revoked: gone.map((t) => t.id) });
  });

  // --- audit
  app.get("/api/audit", admin("read the audit log"), async (c) => {
    const limit = Math.min(1000, Math.max(1, Number(c.req.query("limit") ?? 200) || 200));
    return c.json({ events: await events.query({ type: "audit.", limit }) });
  });
}
