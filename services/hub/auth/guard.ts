/**
 * Hono middleware over {@link Access}: the Host allowlist, resolving who asks, and requiring a
 * scope — with the CSRF defence for writes that ride on the session cookie (an allowed `Origin`
 * or `Sec-Fetch-Site: same-origin`, plus the session's token in `X-CSRF-Token`).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { RequestError } from "../errors.ts";
import { type Access, ANONYMOUS, type Principal, safeEqual } from "./access.ts";
import type { HostAllowlist } from "./host_check.ts";

/** Header carrying the session's CSRF token. */
export const CSRF_HEADER = "x-csrf-token";

/** The principal `authenticate` found for this request (anonymous before it ran). */
export function principalOf(c: Context): Principal {
  // Not keyed by c.req.raw: hono's body limit swaps the Request object.
  return (c.get("principal" as never) as Principal | undefined) ?? ANONYMOUS;
}

/** The client's address (socket peer), or `local` for in-process requests. */
export function clientOf(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "local";
}

/** The request's `Host` (header, else the URL's authority for in-process requests). */
export function hostOf(c: Context): string {
  return c.req.header("host") ?? new URL(c.req.url).host;
}

/** Refuse requests whose `Host` is not on the allowlist (DNS rebinding) with 421. */
export function checkHost(list: HostAllowlist): MiddlewareHandler {
  return async function checkHostMiddleware(c, next) {
    const host = hostOf(c);
    if (!list.allows(host)) {
      return c.json({
        error:
          `Cannot serve host '${host}': not an allowed host name of this hub (add it to hub.allowed_hosts)`,
        field: "host",
        problem: "is not allowed",
      }, 421);
    }
    await next();
  };
}

/** Resolve the bearer token or session cookie; a wrong bearer token is a 401 at once. */
export function authenticate(access: Access): MiddlewareHandler {
  return async function authenticateMiddleware(c, next) {
    const r = access.resolve(c.req.header("authorization"), c.req.header("cookie"));
    if (!r.ok) {
      throw new RequestError(401, `Cannot authorize request: ${r.reason}`, "authorization", "is not valid");
    }
    c.set("principal" as never, r.principal as never);
    await next();
  };
}

/** Whether `origin` names the same host as the request, or one of `allowed`. */
export function sameOrigin(c: Context, allowed: string[]): boolean {
  const origin = c.req.header("origin");
  if (origin) {
    if (allowed.includes(origin)) return true;
    try {
      return new URL(origin).host === hostOf(c);
    } catch {
      return false;
    }
  }
  return c.req.header("sec-fetch-site") === "same-origin";
}

/**
 * Refuse a cookie-authenticated write without a same-origin `Origin` and the session's CSRF
 * token. Bearer-token requests carry no ambient credential and pass.
 */
export function checkCsrf(c: Context, p: Principal, allowed: string[]): void {
  if (!p.session || c.req.method === "GET" || c.req.method === "HEAD") return;
  if (!sameOrigin(c, allowed)) {
    throw new RequestError(
      403,
      "Cannot accept request: cross-origin write with a session cookie",
      "origin",
      "is not this hub",
    );
  }
  const sent = c.req.header(CSRF_HEADER) ?? "";
  if (!sent || !safeEqual(sent, p.session.csrf)) {
    throw new RequestError(
      403,
      `Cannot accept request: missing or wrong ${CSRF_HEADER} header`,
      CSRF_HEADER,
      "does not match the session",
    );
  }
}

/** The 401/403 for `p` lacking `scope`. */
export function refusal(p: Principal, scope: string, what: string): RequestError {
  if (p.kind === "anonymous") {
    return new RequestError(
      401,
      `Cannot ${what}: log in or send a bearer token`,
      "authorization",
      "is missing",
    );
  }
  const who = p.kind === "user" ? `user '${p.name}' (${p.role})` : `token '${p.name}'`;
  return new RequestError(
    403,
    `Cannot ${what}: ${who} lacks the '${scope}' scope`,
    "authorization",
    `lacks '${scope}'`,
  );
}

/**
 * Require `scope` (after {@link authenticate}); `publicWhen` lets anonymous readers through.
 *
 * @param what the action for messages, e.g. "read logs"
 */
export function requireScope(
  scope: string,
  what: string,
  options: { allowed?: string[]; publicWhen?: () => boolean } = {},
): MiddlewareHandler {
  return async function requireScopeMiddleware(c, next) {
    const p = principalOf(c);
    if (!p.scopes.has(scope) && !options.publicWhen?.()) throw refusal(p, scope, what);
    checkCsrf(c, p, options.allowed ?? []);
    await next();
  };
}
