import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { LocalCommandBus } from "../services/link/mod.ts";
import { createHub } from "../services/hub/mod.ts";
import { createEvents, type EventEnvelope } from "../services/events/mod.ts";
import { MemorySharedState } from "../services/shm/mod.ts";
import { makeSnapshot, TestEventLog, TestState } from "../services/hub/_test_fakes.ts";

const WRITE = "write-secret";
const READ = "read-secret";
const SPOKE = "pi4-secret";

/** Closers of what `setup()` opened in the running test. */
const open: Array<() => Promise<void>> = [];

/** A `Deno.test` that closes the hub and event pipeline `setup()` created. */
function test(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    try {
      await fn();
    } finally {
      while (open.length) await open.pop()!();
    }
  });
}

/** The hub over the real in-memory event pipeline and `MemorySharedState`. */
async function setup(opts: { dashboardDir?: string; bodyLimitBytes?: number } = {}) {
  const events = createEvents({ node: "hub" });
  const log = events.emitter;
  const state = new MemorySharedState({ node: "hub" });
  await state.write(makeSnapshot("hub"));
  const bus = new LocalCommandBus();
  const ran: unknown[] = [];
  bus.register("hub", (req) => {
    ran.push(req.command);
    return Promise.resolve({ id: req.id, ok: true, data: { done: req.command.type } });
  });
  const hub = createHub({
    node: "hub",
    state,
    events: events.log,
    emit: events.emitter,
    commands: bus,
    tokens: { write: WRITE, spokes: { pi4: SPOKE }, feed: [READ] },
    dashboardDir: opts.dashboardDir,
    bodyLimitBytes: opts.bodyLimitBytes ?? 4096,
    access: { publicRead: true },
    metrics: () => ({
      emitter: events.emitter.stats(),
      gauges: [{ name: "harvester_scheduler_tick", value: 3 }],
    }),
  });
  open.push(async () => {
    await hub.close();
    await events.close();
  });
  /** Every stored event, once the emitter has written what it holds. */
  const stored = async (): Promise<EventEnvelope[]> => {
    for (let i = 0; i < 200 && events.emitter.stats().buffered > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return await events.log.latest(10_000);
  };
  return { hub, log, stored, state, bus, ran };
}

const auth = (t = WRITE) => ({ authorization: `Bearer ${t}`, "content-type": "application/json" });

test("GET /api/readings lists local readings with node:sensor ids and stale flags", async () => {
  const { hub } = await setup();
  const res = await hub.app.request("/api/readings");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.readings.length, 1);
  assert.equal(body.readings[0].id, "hub:bme680");
  assert.equal(body.readings[0].stale, false);
  assert.equal(body.readings[0].values.temperature, 21.5);
  assert.ok(Date.parse(body.timestamp) > 0);
});

test("GET /api/nodes, /api/plugins, /health describe the hub", async () => {
  const { hub } = await setup();
  const nodes = await (await hub.app.request("/api/nodes")).json();
  assert.deepEqual(
    nodes.nodes.map((n: { id: string; role: string; status: string }) => [n.id, n.role, n.status]),
    [
      ["hub", "hub", "online"],
    ],
  );
  assert.equal(nodes.nodes[0].identity.name, "Lumen");
  const plugins = await (await hub.app.request("/api/plugins", { headers: auth(READ) })).json();
  assert.equal(plugins.plugins[0].node, "hub");
  assert.equal(plugins.plugins[0].id, "bme680");
  const health = await (await hub.app.request("/health")).json();
  assert.equal(health.ok, true);
  assert.equal(health.node, "hub");
  assert.equal(typeof health.uptime_s, "number");
});

test("POST /api/buzzer forwards to the broker and answers { ok, node, result }", async () => {
  const { hub, ran } = await setup();
  const res = await hub.app.request("/api/buzzer", {
    method: "POST",
    headers: auth(),
    body: '{"pattern":"triple"}',
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.ok, true);
  assert.equal(body.node, "hub");
  assert.deepEqual(body.result.data, { done: "buzzer" });
  const test3 = await hub.app.request("/api/buzzer/test", { method: "POST", headers: auth() });
  assert.equal(test3.status, 200);
  // A read-only token is refused with 403 naming the missing scope, and nothing runs.
  const readOnly = await hub.app.request("/api/buzzer", {
    method: "POST",
    headers: auth(READ),
    body: '{"pattern":"single"}',
  });
  assert.deepEqual([readOnly.status, (await readOnly.json()).error], [
    403,
    "Cannot act on devices: token 'feed-1' lacks the 'act' scope",
  ]);
  const led = await hub.app.request("/api/leds", {
    method: "POST",
    headers: auth(),
    body: '{"index":3,"r":255,"g":0,"b":9}',
  });
  assert.equal(led.status, 200);
  const reload = await hub.app.request("/api/plugins/bme680/reload", {
    method: "POST",
    headers: auth(),
    body: "{}",
  });
  assert.equal(reload.status, 200);
  const name = await hub.app.request("/api/name", {
    method: "POST",
    headers: auth(),
    body: '{"name":"Ember"}',
  });
  assert.equal(name.status, 200);
  assert.deepEqual(ran, [
    { type: "buzzer", pattern: "triple" },
    { type: "buzzer", pattern: "triple" },
    { type: "led", index: 3, r: 255, g: 0, b: 9 },
    { type: "plugin.reload", plugin: "bme680" },
    { type: "set_name", name: "Ember" },
  ]);
});

test("write endpoints refuse bad input with 4xx JSON naming the field", async () => {
  const { hub, ran } = await setup();
  const post = async (path: string, body: BodyInit | null, headers: Record<string, string> = auth()) => {
    const res = await hub.app.request(path, { method: "POST", headers, body });
    return { status: res.status, body: await res.json() };
  };
  let r = await post("/api/buzzer", '{"pattern":"triple"}', { "content-type": "application/json" });
  assert.deepEqual([r.status, r.body.error, r.body.field], [
    401,
    "Cannot act on devices: log in or send a bearer token",
    "authorization",
  ]);
  r = await post("/api/buzzer", '{"pattern":"triple"}', auth("nope"));
  assert.deepEqual([r.status, r.body.error], [401, "Cannot authorize request: wrong token"]);
  r = await post("/api/buzzer", '{"pattern":');
  assert.equal(r.status, 400);
  assert.match(r.body.error, /^Cannot accept body: malformed JSON/);
  assert.equal(r.body.field, "body");
  r = await post("/api/buzzer", '{"pattern":"loud"}');
  assert.equal(r.status, 400);
  assert.equal(r.body.field, "pattern");
  assert.match(r.body.error, /^buzzer\.pattern: /);
  r = await post("/api/buzzer", "{}");
  assert.deepEqual([r.status, r.body.error, r.body.field, r.body.problem], [
    400,
    "buzzer.pattern: is required",
    "pattern",
    "is required",
  ]);
  r = await post("/api/leds", '{"index":"3","r":0,"g":0,"b":0}');
  assert.deepEqual([r.status, r.body.field], [400, "index"]);
  r = await post("/api/leds", '{"index":3,"r":256,"g":0,"b":0}');
  assert.deepEqual([r.status, r.body.field, r.body.problem], [400, "r", "must be 0..255"]);
  r = await post("/api/leds", '{"index":3,"r":1,"g":0,"b":0,"x":1}');
  assert.deepEqual([r.status, r.body.field, r.body.problem], [400, "x", "is not a known field"]);
  r = await post("/api/name", '{"name":""}');
  assert.deepEqual([r.status, r.body.field], [400, "name"]);
  r = await post("/api/plugins/..%2Fetc/reload", "{}");
  assert.deepEqual([r.status, r.body.field], [400, "id"]);
  r = await post("/api/buzzer", '{"pattern":"single","node":"nowhere"}');
  assert.deepEqual([r.status, r.body.error], [404, 'Cannot send "buzzer" to node "nowhere": unknown node']);
  r = await post("/api/buzzer", JSON.stringify({ pattern: "single", pad: "x".repeat(5000) }));
  assert.deepEqual([r.status, r.body.error], [413, "Cannot accept body: larger than 4096 bytes"]);
  assert.equal(ran.length, 0);
});

test("body limit holds for a chunked body without content-length", async () => {
  const { hub } = await setup();
  const chunks = Array.from({ length: 10 }, () => new TextEncoder().encode("x".repeat(1000)));
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      const c = chunks.shift();
      if (c) ctl.enqueue(c);
      else ctl.close();
    },
  });
  const req = new Request(
    "http://localhost/api/buzzer",
    { method: "POST", headers: auth(), body: stream, duplex: "half" } as RequestInit,
  );
  assert.equal(req.headers.get("content-length"), null);
  const res = await hub.app.request(req);
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error, "Cannot accept body: larger than 4096 bytes");
});

test("a failing or silent broker maps to 502 / 504 with the command's message", async () => {
  const { hub, bus } = await setup();
  bus.register("hub", (req) => Promise.resolve({ id: req.id, ok: false, error: "Cannot beep: buzzer busy" }));
  let res = await hub.app.request("/api/buzzer", {
    method: "POST",
    headers: auth(),
    body: '{"pattern":"long"}',
  });
  assert.equal(res.status, 502);
  assert.deepEqual(await res.json().then((b) => [b.ok, b.node, b.error, b.code]), [
    false,
    "hub",
    "Cannot beep: buzzer busy",
    "failed",
  ]);
  hub.core.options.commandTimeoutMs = 20;
  bus.register("hub", () => new Promise(() => {}));
  res = await hub.app.request("/api/buzzer", { method: "POST", headers: auth(), body: '{"pattern":"long"}' });
  assert.equal(res.status, 504);
  assert.equal((await res.json()).error, 'Cannot send "buzzer" to node "hub": no answer within 20 ms');
});

test("a refusal the broker names maps to its status: rate limited → 429 + Retry-After, unknown → 404", async () => {
  const { hub, bus } = await setup();
  bus.register("hub", (req) =>
    Promise.resolve(
      req.command.type === "buzzer"
        ? {
          id: req.id,
          ok: false,
          code: "rate_limited",
          error: "Cannot play: rate limited",
          retryAfterMs: 2300,
        }
        : { id: req.id, ok: false, code: "not_found", error: 'Cannot reload plugin "nope": no such plugin' },
    ));
  let res = await hub.app.request("/api/buzzer", {
    method: "POST",
    headers: auth(),
    body: '{"pattern":"long"}',
  });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "3");
  assert.equal((await res.json()).code, "rate_limited");
  res = await hub.app.request("/api/plugins/nope/reload", { method: "POST", headers: auth(), body: "{}" });
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, 'Cannot reload plugin "nope": no such plugin');
});

test("GET /api/events and /api/logs validate queries", async () => {
  const { hub, log, stored } = await setup();
  for (let i = 0; i < 5; i++) log.emit(i % 2 ? "plugin.error" : "reading", { i });
  await stored();
  let res = await hub.app.request("/api/events?type=plugin.&limit=10", { headers: auth(READ) });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).events.map((e: { data: { i: number } }) => e.data.i), [1, 3]);
  res = await hub.app.request("/api/events?limit=5000", { headers: auth(READ) });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json().then((b) => [b.field, b.problem]), ["limit", "must be 1..1000"]);
  res = await hub.app.request("/api/events?limit=abc", { headers: auth(READ) });
  assert.equal(res.status, 400);
  res = await hub.app.request("/api/logs?node=hub", { headers: auth(READ) });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).node, "hub");
  res = await hub.app.request("/api/logs?node=ghost", { headers: auth(READ) });
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, 'Cannot read logs of node "ghost": unknown node');
  res = await hub.app.request("/api/logs?node=../x", { headers: auth(READ) });
  assert.deepEqual([res.status, (await res.json()).field], [400, "node"]);
});

test("POST /push keeps a spoke's log lines for /api/logs and names a bad line's field", async () => {
  const { hub } = await setup();
  const push = (body: unknown) =>
    hub.app.request("/push", { method: "POST", headers: auth(SPOKE), body: JSON.stringify(body) });
  const line = (message: string) => ({
    ts: new Date().toISOString(),
    level: "warn",
    source: "bme680",
    message,
  });
  let res = await push({ node: "pi4", snapshots: [makeSnapshot("pi4")], logs: [line("heater unstable")] });
  assert.equal(res.status, 200);
  res = await push({ node: "pi4", snapshots: [makeSnapshot("pi4")], logs: [line("heater stable")] });
  assert.equal(res.status, 200);
  const logs = await (await hub.app.request("/api/logs?node=pi4", { headers: auth(READ) })).json();
  assert.deepEqual(logs.lines.map((l: { message: string }) => l.message), [
    "heater unstable",
    "heater stable",
  ]);
  res = await push({
    node: "pi4",
    snapshots: [makeSnapshot("pi4")],
    logs: [{ ...line("x"), level: "loud" }],
  });
  assert.deepEqual([res.status, (await res.json()).field], [400, "logs.0.level"]);
});

test("POST /push merges a spoke and checks its token, node and body", async () => {
  const { hub, stored } = await setup();
  const snap = makeSnapshot("pi4", Date.now(), 7, 30.5);
  const push = (body: unknown, token = SPOKE) =>
    hub.app.request("/push", { method: "POST", headers: auth(token), body: JSON.stringify(body) });
  let res = await push({ node: "pi4", snapshots: [snap] });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, accepted: 1, commands: [] });
  const readings = (await (await hub.app.request("/api/readings")).json()).readings;
  assert.deepEqual(readings.map((r: { id: string }) => r.id).sort(), ["hub:bme680", "pi4:bme680"]);
  const events = await stored();
  assert.ok(events.some((e) => e.type === "spoke.push" && e.data.node === "pi4" && e.data.count === 1));
  assert.ok(events.some((e) => e.type === "node.online" && e.data.node === "pi4"));
  assert.ok(events.some((e) => e.type === "reading" && e.data.id === "pi4:bme680"));
  // A bare snapshot is accepted too.
  res = await push(snap);
  assert.equal(res.status, 200);
  res = await push({ node: "pi4", snapshots: [snap] }, WRITE);
  assert.deepEqual([res.status, (await res.json()).error], [401, "Cannot authorize request: wrong token"]);
  res = await push({ node: "zero", snapshots: [makeSnapshot("zero")] });
  assert.deepEqual([res.status, (await res.json()).error], [
    403,
    'Cannot accept push from node "zero": no token configured for it',
  ]);
  res = await push({ node: "pi4", snapshots: [makeSnapshot("hub")] });
  assert.deepEqual([res.status, (await res.json()).field], [400, "snapshots.0.node"]);
  res = await push({ node: "pi4", snapshots: [{ ...snap, cycle: "seven" }] });
  assert.deepEqual([res.status, (await res.json()).field], [400, "snapshots.0.cycle"]);
  res = await push({ node: "pi4", snapshots: [] });
  assert.deepEqual([res.status, (await res.json()).field], [400, "snapshots"]);
});

test("a buzzer command for a spoke rides on its next push and the result comes back", async () => {
  const { hub } = await setup();
  const push = (body: unknown) =>
    hub.app.request("/push", { method: "POST", headers: auth(SPOKE), body: JSON.stringify(body) });
  await push({ node: "pi4", snapshots: [makeSnapshot("pi4")] });
  const pending = hub.app.request("/api/buzzer", {
    method: "POST",
    headers: auth(),
    body: '{"pattern":"single","node":"pi4"}',
  });
  await new Promise((r) => setTimeout(r, 10));
  const res = await push({ node: "pi4", snapshots: [makeSnapshot("pi4")] });
  const { commands } = await res.json();
  assert.equal(commands.length, 1);
  assert.deepEqual(commands[0].command, { type: "buzzer", pattern: "single" });
  assert.equal(commands[0].node, "pi4");
  const back = await hub.app.request("/push/results", {
    method: "POST",
    headers: auth(SPOKE),
    body: JSON.stringify({ node: "pi4", results: [{ id: commands[0].id, ok: true, data: { beeped: 1 } }] }),
  });
  assert.deepEqual(await back.json(), { ok: true, matched: 1 });
  const done = await pending;
  assert.equal(done.status, 200);
  assert.deepEqual(await done.json().then((b) => [b.ok, b.node, b.result.data]), [true, "pi4", {
    beeped: 1,
  }]);
});

test("GET / serves the page unchanged, with no credential; /assets serves files safely with types; CSP is set", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/vendor`);
  await Deno.writeTextFile(
    `${dir}/index.html`,
    "<!doctype html><html><head><title>x</title></head><body></body></html>",
  );
  await Deno.writeTextFile(`${dir}/app.js`, "console.log(1)");
  await Deno.writeTextFile(`${dir}/vendor/style.css`, "body{}");
  try {
    const { hub } = await setup({ dashboardDir: dir });
    const res = await hub.app.request("/");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.equal(html, "<!doctype html><html><head><title>x</title></head><body></body></html>");
    const csp = res.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    let a = await hub.app.request("/assets/app.js");
    assert.equal(a.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await a.text(), "console.log(1)");
    a = await hub.app.request("/assets/vendor/style.css");
    assert.equal(a.headers.get("content-type"), "text/css; charset=utf-8");
    await a.body?.cancel();
    for (
      const bad of [
        "/assets/..%2F..%2Fetc%2Fpasswd",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/assets/vendor",
        "/assets/nope.js",
      ]
    ) {
      const r = await hub.app.request(bad);
      assert.equal(r.status, 404, bad);
      assert.match((await r.json()).error, /^Cannot (serve asset|GET \/etc)/, bad);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("CORS is off by default and on for configured origins", async () => {
  const { hub } = await setup();
  const res = await hub.app.request("/api/readings", { headers: { origin: "https://evil.example" } });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  await res.body?.cancel();
  const log = new TestEventLog();
  const hub2 = createHub({
    node: "hub",
    state: new TestState(),
    events: log,
    emit: log,
    commands: new LocalCommandBus(),
    tokens: { write: null, spokes: {} },
    access: { publicRead: true },
    corsOrigins: ["https://ops.example"],
  });
  const ok = await hub2.app.request("/api/readings", { headers: { origin: "https://ops.example" } });
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://ops.example");
  await ok.body?.cancel();
  const foreign = await hub2.app.request("/api/buzzer", {
    method: "POST",
    headers: { origin: "https://evil.example", host: "localhost" },
    body: '{"pattern":"single"}',
  });
  assert.equal(foreign.status, 403);
  assert.equal(
    (await foreign.json()).error,
    "Cannot accept request from origin 'https://evil.example': not allowed",
  );
});

test("GET /metrics renders Prometheus text", async () => {
  const { hub } = await setup();
  await (await hub.app.request("/api/readings")).body?.cancel();
  const res = await hub.app.request("/metrics", { headers: auth(READ) });
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  assert.match(text, /^# TYPE harvester_temperature_celsius gauge$/m);
  assert.match(text, /^harvester_temperature_celsius\{node="hub",sensor="bme680"\} 21.5$/m);
  assert.match(text, /^harvester_plugin_restarts_total\{node="hub",plugin="bme680"\} 2$/m);
  assert.match(text, /^harvester_scheduler_mood\{node="hub",plugin="bme680",mood="active"\} 1$/m);
  assert.match(text, /^harvester_node_up\{node="hub"\} 1$/m);
  assert.match(text, /^harvester_node_status\{node="hub",status="online"\} 1$/m);
  assert.match(text, /^harvester_node_status\{node="hub",status="offline"\} 0$/m);
  assert.match(text, /^harvester_live_clients 0$/m);
  assert.match(text, /^harvester_events_emitted_total \d+$/m);
  assert.match(text, /^harvester_events_dropped_total 0$/m);
  assert.match(text, /^harvester_scheduler_tick 3$/m);
  assert.match(
    text,
    /^harvester_http_request_duration_seconds_count\{method="GET",route="\/api\/readings",status="200"\} 1$/m,
  );
  assert.match(
    text,
    /^harvester_http_request_duration_seconds_bucket\{method="GET",route="\/api\/readings",status="200",le="\+Inf"\} 1$/m,
  );
  for (const line of text.trim().split("\n")) {
    assert.match(
      line,
      /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[0-9.e+-]+|\w+(\{[^}]*\})? (NaN|\+Inf))$/,
      line,
    );
  }
});

Deno.test("GET /api/nodes shows a silent spoke stale, then offline, on fake time; a push brings it back", async () => {
  const clock = FakeTimers.createClock(Date.parse("2026-01-01T00:00:00Z"));
  const log = new TestEventLog("hub", () => clock.now);
  const hub = createHub({
    node: "hub",
    state: new TestState(),
    events: log,
    emit: log,
    commands: new LocalCommandBus(),
    tokens: { write: null, spokes: { pi4: SPOKE } },
    access: { publicRead: true },
    pushIntervalSeconds: 5,
    clock: { ...clock, now: () => clock.now } as never,
  });
  const push = () =>
    hub.app.request("/push", {
      method: "POST",
      headers: auth(SPOKE),
      body: JSON.stringify({ node: "pi4", snapshots: [makeSnapshot("pi4", clock.now)] }),
    });
  const status = async () => {
    const nodes = (await (await hub.app.request("/api/nodes")).json()).nodes as Array<
      { id: string; status: string }
    >;
    return nodes.find((n) => n.id === "pi4")?.status;
  };
  assert.equal((await push()).status, 200);
  assert.equal(await status(), "online");
  clock.tick(15_000);
  assert.equal(await status(), "stale");
  const readings = (await (await hub.app.request("/api/readings")).json()).readings;
  assert.deepEqual(readings.map((r: { stale: boolean }) => r.stale), [true]);
  clock.tick(15_000);
  assert.equal(await status(), "offline");
  assert.deepEqual(log.types().filter((t) => t.startsWith("node.")).slice(-3), [
    "node.online",
    "node.stale",
    "node.offline",
  ]);
  await push();
  assert.equal(await status(), "online");
  assert.equal(log.types().filter((t) => t.startsWith("node.")).at(-1), "node.online");
});

test("over a real socket: chunked oversized body → 413, malformed JSON → 400", async () => {
  const { hub } = await setup();
  const server = await hub.listen(0);
  try {
    const url = `http://127.0.0.1:${server.port}/api/buzzer`;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent >= 10) return ctl.close();
        sent++;
        ctl.enqueue(new TextEncoder().encode("x".repeat(1000)));
      },
    });
    const res = await fetch(url, { method: "POST", headers: auth(), body, duplex: "half" } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error, "Cannot accept body: larger than 4096 bytes");
    const bad = await fetch(url, { method: "POST", headers: auth(), body: "{nope" });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^Cannot accept body: malformed JSON/);
  } finally {
    await hub.close();
  }
});

Deno.test("a shared state that hangs does not hang the API: the local node just ages", async () => {
  const log = new TestEventLog("hub");
  const hub = createHub({
    node: "hub",
    state: {
      kind: "stuck",
      read: () => new Promise(() => {}),
      write: () => Promise.resolve(),
      close: () => Promise.resolve(),
    },
    events: log,
    emit: log,
    commands: new LocalCommandBus(),
    tokens: { write: null, spokes: {} },
    access: { publicRead: true },
  });
  const t0 = Date.now();
  const res = await hub.app.request("/api/nodes");
  assert.equal(res.status, 200);
  assert.ok(Date.now() - t0 < 3000);
  assert.deepEqual((await res.json()).nodes.map((n: { id: string; status: string }) => [n.id, n.status]), [[
    "hub",
    "offline",
  ]]);
});
