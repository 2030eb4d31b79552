import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import type { Snapshot } from "../shm/snapshot.ts";
import { makeSnapshot, TestEventLog } from "../hub/_test_fakes.ts";
import { commandRunner, SpokePusher } from "./spoke_pusher.ts";
import { LogRing } from "../broker/logs.ts";

interface Call {
  url: string;
  auth: string | null;
  body: {
    node: string;
    snapshots?: Snapshot[];
    results?: Array<{ id: string; ok: boolean }>;
    logs?: Array<{ message: string }>;
  };
}

// deno-lint-ignore no-explicit-any
type OnCommands = any;

function setup(
  opts: { bufferMax?: number; batchMax?: number; onCommands?: OnCommands; logs?: LogRing } = {},
) {
  const clock = FakeTimers.createClock(0);
  const log = new TestEventLog("pi4", () => clock.now);
  const calls: Call[] = [];
  let cycle = 0;
  let answer: (call: Call) => Response | Promise<Response> = () => Response.json({ ok: true, commands: [] });
  const fakeFetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const call = {
      url: String(input),
      auth: new Headers(init?.headers).get("authorization"),
      body: JSON.parse(String(init?.body)),
    };
    calls.push(call);
    return await answer(call);
  };
  const pusher = new SpokePusher({
    hubUrl: "http://hub:3000",
    token: "pi4-token",
    node: "pi4",
    intervalMs: 5000,
    bufferMax: opts.bufferMax ?? 100,
    batchMax: opts.batchMax,
    source: () => makeSnapshot("pi4", clock.now, ++cycle),
    emit: log,
    fetch: fakeFetch as typeof fetch,
    clock: { now: () => clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout } as never,
    onCommands: opts.onCommands,
    logs: opts.logs ? (seq) => opts.logs!.after(seq) : undefined,
  });
  return { clock, log, calls, pusher, setAnswer: (f: typeof answer) => (answer = f) };
}

const cycles = (c: Call) => c.body.snapshots!.map((s) => s.cycle);

Deno.test("SpokePusher pushes every interval to /push with the bearer token", async () => {
  const t = setup();
  t.pusher.start();
  await t.clock.tickAsync(0);
  await t.clock.tickAsync(5000);
  await t.clock.tickAsync(5000);
  await t.pusher.stop();
  assert.equal(t.calls.length, 3);
  assert.equal(t.calls[0].url, "http://hub:3000/push");
  assert.equal(t.calls[0].auth, "Bearer pi4-token");
  assert.deepEqual(t.calls.map(cycles), [[1], [2], [3]]);
  assert.equal(t.pusher.stats().pushed, 3);
  assert.deepEqual(t.log.types(), ["spoke.push", "spoke.push", "spoke.push"]);
  assert.deepEqual(t.log.events[0].data, { count: 1, buffered: 0 });
});

Deno.test("SpokePusher buffers while the hub is away, drops the oldest beyond bufferMax, sends the rest in order", async () => {
  const t = setup({ bufferMax: 3 });
  t.setAnswer(() => Promise.reject(new TypeError("connection refused")));
  for (let i = 0; i < 5; i++) await t.pusher.tick();
  let s = t.pusher.stats();
  assert.deepEqual([s.buffered, s.dropped, s.pushed, s.connected], [3, 2, 0, false]);
  assert.equal(s.lastError, "Cannot push to http://hub:3000/push: connection refused");
  assert.deepEqual(t.log.types(), ["spoke.dropped", "spoke.dropped"]);
  assert.equal(t.log.events[1].data.total, 2);
  t.setAnswer(() => new Response('{"error":"Cannot handle: overloaded"}', { status: 503 }));
  await t.pusher.tick();
  s = t.pusher.stats();
  assert.deepEqual([s.buffered, s.dropped], [3, 3]);
  assert.match(s.lastError!, /hub answered 503 \(Cannot handle: overloaded\)/);
  t.setAnswer(() => Response.json({ ok: true, commands: [] }));
  await t.pusher.tick();
  assert.deepEqual(cycles(t.calls.at(-1)!), [5, 6, 7]);
  s = t.pusher.stats();
  assert.deepEqual([s.buffered, s.pushed, s.dropped, s.connected, s.lastError], [0, 3, 4, true, null]);
});

Deno.test("SpokePusher sends a long backlog in batches and drops a batch the hub refuses as invalid", async () => {
  const t = setup({ batchMax: 2 });
  t.setAnswer(() => Promise.reject(new TypeError("down")));
  for (let i = 0; i < 4; i++) await t.pusher.tick();
  t.setAnswer((c) =>
    cycles(c).includes(3)
      ? Response.json({ error: "Cannot accept body: 'snapshots.0.cycle' bad" }, { status: 400 })
      : Response.json({ ok: true, commands: [] })
  );
  await t.pusher.tick();
  assert.deepEqual(t.calls.slice(-3).map(cycles), [[1, 2], [3, 4], [5]]);
  const s = t.pusher.stats();
  assert.deepEqual([s.pushed, s.dropped, s.buffered], [3, 2, 0]);
  assert.equal(t.log.events.at(-2)!.type, "spoke.dropped");
});

Deno.test("SpokePusher runs commands from the push response and posts their results", async () => {
  const ran: string[] = [];
  const t = setup({
    onCommands: (cmds: Array<{ id: string; command: { type: string } }>) => {
      ran.push(...cmds.map((c) => c.command.type));
      return Promise.resolve(cmds.map((c) => ({ id: c.id, ok: true })));
    },
  });
  let first = true;
  t.setAnswer((c) => {
    if (c.url.endsWith("/results")) return Response.json({ ok: true, matched: 1 });
    const commands = first ? [{ id: "c1", node: "pi4", command: { type: "buzzer", pattern: "single" } }] : [];
    first = false;
    return Response.json({ ok: true, commands });
  });
  await t.pusher.tick();
  assert.deepEqual(ran, ["buzzer"]);
  assert.equal(t.calls[1].url, "http://hub:3000/push/results");
  assert.deepEqual(t.calls[1].body, { node: "pi4", results: [{ id: "c1", ok: true }] });
  assert.equal(t.pusher.stats().commands, 1);
});

Deno.test("SpokePusher carries results on the next push when /push/results fails", async () => {
  const t = setup({
    onCommands: (cmds: Array<{ id: string }>) => Promise.resolve(cmds.map((c) => ({ id: c.id, ok: true }))),
  });
  let n = 0;
  t.setAnswer((c) => {
    if (c.url.endsWith("/results")) return new Response("", { status: 502 });
    return Response.json({
      ok: true,
      commands: n++ === 0 ? [{ id: "c9", node: "pi4", command: { type: "set_name", name: "x" } }] : [],
    });
  });
  await t.pusher.tick();
  await t.pusher.tick();
  assert.deepEqual(t.calls[2].body.results, [{ id: "c9", ok: true }]);
  await t.pusher.tick();
  assert.equal(t.calls[3].body.results, undefined);
});

Deno.test("SpokePusher refuses bad options", () => {
  const base = { token: "t", node: "n", source: () => null, emit: new TestEventLog() };
  assert.throws(() => new SpokePusher({ ...base, hubUrl: "hub", intervalMs: 1000 }), {
    name: "TypeError",
    message: `Cannot create spoke pusher: 'hubUrl' is not a URL: current value is "hub"`,
  });
  assert.throws(() => new SpokePusher({ ...base, hubUrl: "http://h/", intervalMs: 0 }), {
    name: "RangeError",
  });
  assert.equal(new SpokePusher({ ...base, hubUrl: "http://h:1/push", intervalMs: 1 }).url, "http://h:1/push");
});

Deno.test("commandRunner() runs forwarded commands in order and turns throws into failed results", async () => {
  const seen: string[] = [];
  const run = commandRunner((req) => {
    seen.push(req.command.type);
    if (req.command.type === "set_name") throw new Error("Cannot set name: anima not running");
    return Promise.resolve({ id: "x", ok: true });
  });
  const results = await run([
    { id: "a", node: "pi4", command: { type: "buzzer", pattern: "single" } },
    { id: "b", node: "pi4", command: { type: "set_name", name: "N" } },
  ]);
  assert.deepEqual(seen, ["buzzer", "set_name"]);
  assert.deepEqual(results, [
    { id: "a", ok: true },
    { id: "b", ok: false, code: "failed", error: "Cannot set name: anima not running" },
  ]);
});

Deno.test("SpokePusher ships each log line once, and again only when the hub did not take it", async () => {
  const ring = new LogRing({ echo: null });
  const t = setup({ logs: ring });
  ring.log("info", "broker", "one");
  ring.log("warn", "bme680", "two");
  await t.pusher.tick();
  assert.deepEqual(t.calls[0].body.logs?.map((l) => l.message), ["one", "two"]);
  await t.pusher.tick();
  assert.equal(t.calls[1].body.logs, undefined, "nothing new, nothing sent");
  ring.log("error", "dht22", "three");
  t.setAnswer(() => Promise.reject(new TypeError("connection refused")));
  await t.pusher.tick();
  t.setAnswer(() => Response.json({ ok: true, commands: [] }));
  await t.pusher.tick();
  assert.deepEqual(t.calls[2].body.logs?.map((l) => l.message), ["three"]);
  assert.deepEqual(t.calls[3].body.logs?.map((l) => l.message), ["three"], "resent after the failed push");
  await t.pusher.tick();
  assert.equal(t.calls[4].body.logs, undefined);
});
