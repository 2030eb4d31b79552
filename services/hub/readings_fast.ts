/**
 * `GET /api/readings` answered on the raw `node:http` request, ahead of Hono: dashboards poll it,
 * and going through the Request/Response conversion and the header middleware costs ~6× the
 * work of the answer itself. The answer is the same as the Hono route's — same body, the
 * precomputed {@link SECURITY_HEADERS}, the request timed into `/metrics` — and every request
 * this path is not sure about (other method or URL, a query, a foreign Host, an `Origin`, a
 * credential that does not resolve or lacks `read`) goes on to Hono unchanged, which answers or
 * refuses it as before.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HubCore } from "./core.ts";
import type { HostAllowlist } from "./auth/host_check.ts";
import { SECURITY_HEADERS } from "./security_headers.ts";

const ROUTE = "/api/readings";
const enc = new TextEncoder();

/** Whether this request may be answered here (else Hono decides). */
function mayServe(req: IncomingMessage, core: HubCore, hosts: HostAllowlist): boolean {
  if (req.method !== "GET" || req.url !== ROUTE) return false;
  const h = req.headers;
  if (h.origin !== undefined || !hosts.allows(h.host)) return false;
  if (h.authorization === undefined && h.cookie === undefined) return core.access.publicRead;
  const r = core.access.resolve(h.authorization, h.cookie);
  return r.ok && (r.principal.scopes.has("read") || core.access.publicRead);
}

/**
 * A request listener step: answers `GET /api/readings` and returns true, or returns false
 * (having touched nothing) for the next listener to handle the request.
 */
export function readingsFastPath(
  core: HubCore,
  hosts: HostAllowlist,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  // The body for one (readings bytes, millisecond) pair: polls in the same ms share it.
  // Its headers: built once per readings change (the length only changes with them).
  let last: { readings: Uint8Array; ts: string; body: Uint8Array } | null = null;
  let headers: { length: number; record: Record<string, string> } | null = null;
  const body = (ts: string): Uint8Array => {
    const readings = core.registry.readingsBytes();
    if (last && last.readings === readings && last.ts === ts) return last.body;
    const head = `{"timestamp":"${ts}","readings":`;
    const out = new Uint8Array(head.length + readings.length + 1);
    enc.encodeInto(head, out);
    out.set(readings, head.length);
    out[out.length - 1] = 0x7d; // }
    last = { readings, ts, body: out };
    return out;
  };
  const observe = core.metrics.requestObserver("GET", ROUTE, 200);
  // The timestamp string for one clock millisecond.
  let stamp = { ms: NaN, iso: "" };
  const now = () => {
    const ms = core.clock.now();
    if (ms !== stamp.ms) stamp = { ms, iso: new Date(ms).toISOString() };
    return stamp.iso;
  };
  const answer = (res: ServerResponse, t0: number) => {
    const b = body(now());
    if (headers?.length !== b.length) {
      const record = {
        ...SECURITY_HEADERS,
        "content-type": "application/json",
        "content-length": `${b.length}`,
      };
      headers = { length: b.length, record };
    }
    res.writeHead(200, headers.record);
    res.end(b);
    observe((performance.now() - t0) / 1000);
  };
  return (req, res) => {
    if (!mayServe(req, core, hosts)) return false;
    const t0 = performance.now();
    core.refresh().then(() => answer(res, t0), () => answer(res, t0));
    return true;
  };
}
