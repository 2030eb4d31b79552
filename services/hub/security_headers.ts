/**
 * The security headers every hub response carries (CSP, HSTS, framing, sniffing, referrer…),
 * computed once: a Hono middleware that sets them after the handler, and the same list as a
 * plain record for paths that answer on the raw `node:http` response.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** The Content-Security-Policy: everything from this origin only, no framing, no plugins. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

/** Header name (lower case) → value, in the order responses carry them. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=15552000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "SAMEORIGIN",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
});

const ENTRIES = Object.entries(SECURITY_HEADERS);

/** Set {@link SECURITY_HEADERS} on every response (also error responses), replacing any set before. */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const h = c.res.headers;
    for (const [k, v] of ENTRIES) h.set(k, v);
    h.delete("x-powered-by");
  };
}
