/**
 * `GET /api/readings` over the wire is answered ahead of Hono (services/hub/readings_fast.ts):
 * its status, headers and body must be what the Hono route answers for the same request, and
 * every request it must not answer (foreign Host, bad or insufficient credential, no
 * public_read, an Origin, a query, HEAD) must get Hono's answer.
 */
import assert from "node:assert/strict";
import { rawRequest, startAuthHub } from "./_hub_auth.ts";
import { SECURITY_HEADERS } from "../services/hub/security_headers.ts";

/** Headers that legitimately differ between two answers, or that only one transport adds. */
const TRANSPORT = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

function comparable(h: Headers): Record<string, string> {
  return Object.fromEntries([...h].filter(([k]) => !TRANSPORT.has(k)));
}

/** The body with the per-request timestamp blanked. */
function untimed(text: string): string {
  return text.replace(/^\{"timestamp":"[^"]+"/, '{"timestamp":"T"');
}

async function same(
  base: string,
  app: { request(p: string, i?: RequestInit): Response | Promise<Response> },
  init: RequestInit = {},
  path = "/api/readings",
) {
  const wire = await fetch(`${base}${path}`, init);
  const inproc = await app.request(path, { ...init, headers: { host: new URL(base).host, ...init.headers } });
  const [a, b] = [await wire.text(), await inproc.text()];
  assert.equal(wire.status, inproc.status, `${path} ${JSON.stringify(init)}: ${a} vs ${b}`);
  assert.deepEqual(comparable(wire.headers), comparable(inproc.headers));
  assert.equal(untimed(a), untimed(b));
  if (wire.headers.get("content-length") !== null) {
    assert.equal(Number(wire.headers.get("content-length")), new TextEncoder().encode(a).length);
  }
  return { status: wire.status, headers: wire.headers, text: a };
}

Deno.test("public_read: /api/readings over the wire equals the Hono answer, with every security header", async () => {
  const h = await startAuthHub({ publicRead: true });
  try {
    const r = await same(h.base, h.hub.app);
    assert.equal(r.status, 200);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.equal(r.headers.get(k), v, k);
    assert.equal(r.headers.get("content-type"), "application/json");
    const body = JSON.parse(r.text);
    assert.ok(body.readings.length > 0);
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    // A reading pushed now is in the next answer (the cached bytes follow the registry).
    const before = body.readings.length;
    const snap = (await import("../services/hub/_test_fakes.ts")).makeSnapshot("pi4");
    const push = await fetch(`${h.base}/push`, {
      method: "POST",
      headers: { authorization: "Bearer pi4-push-secret", "content-type": "application/json" },
      body: JSON.stringify({ node: "pi4", snapshots: [snap] }),
    });
    assert.equal(push.status, 200, await push.text());
    const after = JSON.parse((await same(h.base, h.hub.app)).text).readings;
    assert.ok(after.length > before, `${after.length} readings after the push, ${before} before`);
    assert.ok(after.some((x: { node: string }) => x.node === "pi4"));
    // Timed into /metrics under the route, as the Hono route is.
    const metrics = await (await fetch(`${h.base}/metrics`, {
      headers: { authorization: `Bearer ${h.mint("m", ["read"])}` },
    })).text();
    assert.match(
      metrics,
      /harvester_http_request_duration_seconds_count\{[^}]*route="\/api\/readings"[^}]*\} [1-9]/,
    );
  } finally {
    await h.close();
  }
});

Deno.test("requests the fast path must not answer get Hono's answer", async () => {
  const h = await startAuthHub({ publicRead: false });
  try {
    const read = h.mint("reader", ["read"]);
    const metricsOnly = h.mint("prom", ["metrics"]);
    assert.equal((await same(h.base, h.hub.app)).status, 401);
    assert.equal((await same(h.base, h.hub.app, { headers: { authorization: "Bearer nope" } })).status, 401);
    assert.equal((await same(h.base, h.hub.app, { headers: { authorization: "Basic eDp5" } })).status, 401);
    assert.equal(
      (await same(h.base, h.hub.app, { headers: { authorization: `Bearer ${metricsOnly}` } })).status,
      403,
    );
    assert.equal(
      (await same(h.base, h.hub.app, { headers: { cookie: "harvester_session=forged" } })).status,
      401,
    );
    const ok = await same(h.base, h.hub.app, { headers: { authorization: `Bearer ${read}` } });
    assert.equal(ok.status, 200);
    assert.equal(
      (await same(h.base, h.hub.app, {
        headers: { authorization: `Bearer ${read}`, origin: "https://evil.example" },
      })).status,
      200,
    );
    assert.equal(
      (await same(h.base, h.hub.app, { method: "HEAD", headers: { authorization: `Bearer ${read}` } }))
        .status,
      200,
    );
    assert.equal(
      (await same(h.base, h.hub.app, { headers: { authorization: `Bearer ${read}` } }, "/api/readings?x=1"))
        .status,
      200,
    );
    const evil = await rawRequest(
      h.server.port,
      `GET /api/readings HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${read}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(evil.reply, /^HTTP\/1\.1 421/);
    assert.doesNotMatch(evil.reply, /"readings"/);
  } finally {
    await h.close();
  }
});
