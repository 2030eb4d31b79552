/**
 * Named middleware factories: constant-time secret compare, JSON body reading with a size
 * limit that also holds for chunked bodies, request timing for `/metrics`, Origin checks.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { RequestError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/**
 * Compare two secrets in constant time (hashing first so lengths do not leak).
 *
 * @returns true when equal
 */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearer(c: Context): string | null {
  const h = c.req.header("authorization");
  const m = h?.match(/^Bearer\s+(\S+)\s*$/i);
  return m ? m[1] : null;
}

/** The 401 for a request without `Authorization: Bearer …`. */
export function missingToken(): RequestError {
  return new RequestError(
    401,
    "Cannot authorize request: missing bearer token",
    "authorization",
    "is missing",
  );
}

/**
 * Limit request bodies to `maxBytes`: by Content-Length when given, by counting the stream
 * otherwise (chunked uploads), answering 413.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const inner = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new RequestError(
        413,
        `Cannot accept body: larger than ${maxBytes} bytes`,
        "body",
        `exceeds ${maxBytes} bytes`,
      );
    },
  });
  return function limitBodyMiddleware(c, next) {
    return inner(c, next);
  };
}

/**
 * Read and parse the JSON body; an empty body is `{}` when `allowEmpty`.
 *
 * @throws {RequestError} 400 for malformed JSON
 */
export async function readJson(c: Context, allowEmpty = false): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (allowEmpty) return {};
    throw new RequestError(400, "Cannot accept body: it is empty, expected JSON", "body", "is empty");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new RequestError(400, `Cannot accept body: malformed JSON (${why})`, "body", "is not valid JSON");
  }
}

/** Time every request into the duration histogram, labelled by route pattern. */
export function timeRequests(metrics: Metrics): MiddlewareHandler {
  return async function timeRequestsMiddleware(c, next) {
    const t0 = performance.now();
    try {
      await next();
    } finally {
      metrics.observeRequest(
        c.req.method,
        c.req.routePath || "unmatched",
        c.res.status,
        (performance.now() - t0) / 1000,
      );
    }
  };
}

/**
 * Refuse browser requests from foreign origins: an `Origin` header must name this host or one
 * of `allowed`. Requests without `Origin` (curl, SDK clients) pass.
 */
export function checkOrigin(allowed: string[]): MiddlewareHandler {
  return async function checkOriginMiddleware(c, next) {
    const origin = c.req.header("origin");
    if (origin && !originAllowed(origin, c.req.header("host") ?? "", allowed)) {
      throw new RequestError(
        403,
        `Cannot accept request from origin '${origin}': not allowed`,
        "origin",
        "is not allowed",
      );
    }
    await next();
  };
}

/** Whether `origin` is same-host as `host` or listed. */
export function originAllowed(origin: string, host: string, allowed: string[]): boolean {
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
