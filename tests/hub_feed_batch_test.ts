/**
 * Live-feed coalescing (services/hub/feed_batch.ts) with real socket.io clients: a client that
 * sends `auth.batch: true` gets `events` arrays, with the same events, order, filters and
 * levels as a legacy client gets one `event` at a time; legacy clients are unchanged.
 */
import assert from "node:assert/strict";
import { io, type Socket } from "socket.io-client";
import { LocalCommandBus } from "../services/link/mod.ts";
import { createHub } from "../services/hub/mod.ts";
import { createEvents } from "../services/events/mod.ts";
import { MemorySharedState } from "../services/shm/mod.ts";
import { makeSnapshot } from "../services/hub/_test_fakes.ts";

type Ev = { type: string; data: Record<string, unknown> };

/** A hub whose batch window is long enough that events emitted together share it. */
async function start(publicRead = false) {
  const events = createEvents({ node: "hub" });
  const state = new MemorySharedState({ node: "hub" });
  await state.write(makeSnapshot("hub"));
  const hub = createHub({
    node: "hub",
    state,
    events: events.log,
    emit: events.emitter,
    commands: new LocalCommandBus(),
    tokens: { write: "write-token", spokes: {}, feed: ["feed-token"] },
    feedBatchMs: 250,
    access: { publicRead, log: () => {} },
  });
  const server = await hub.listen(0);
  const url = `http://127.0.0.1:${server.port}`;
  const clients: Socket[] = [];
  const connect = async (token: string | null, batch: boolean, opts: Record<string, unknown> = {}) => {
    const s = io(url, {
      transports: ["websocket"],
      auth: { ...(token === null ? {} : { token }), ...(batch ? { batch: true } : {}) },
      extraHeaders: token === null ? {} : { authorization: `Bearer ${token}` },
      reconnection: false,
      ...opts,
    });
    clients.push(s);
    const packets: Ev[][] = [];
    const single: Ev[] = [];
    s.on("events", (list: Ev[]) => packets.push(list));
    s.on("event", (e: Ev) => single.push(e));
    await new Promise((resolve, reject) => {
      s.once("connect", () => resolve(undefined));
      s.once("connect_error", reject);
    });
    return { s, packets, single, all: () => packets.flat() };
  };
  const stored = (n: number) => until(async () => (await events.log.latest(n)).length >= n);
  const close = async () => {
    for (const c of clients) c.close();
    await hub.close();
    await events.close();
  };
  return { hub, server, emit: events.emitter, stored, connect, close };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("Cannot wait for condition: timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("batch client: events emitted together arrive as one array, in order; a legacy client gets one event each", async () => {
  const t = await start();
  try {
    const batch = await t.connect("feed-token", true);
    const legacy = await t.connect("feed-token", false);
    for (let i = 0; i < 20; i++) t.emit.emit("plugin.tick", { i });
    await until(() => batch.all().length === 20 && legacy.single.length === 20);
    assert.deepEqual(batch.all().map((e) => e.data.i), Array.from({ length: 20 }, (_, i) => i));
    assert.ok(batch.packets.length < 20, `20 events came in ${batch.packets.length} packets`);
    assert.equal(batch.single.length, 0, "a batch client gets no single `event` packets");
    assert.deepEqual(legacy.single.map((e) => e.data.i), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(legacy.packets.length, 0, "a legacy client gets no `events` arrays");
  } finally {
    await t.close();
  }
});

Deno.test("batch client: levels and subscriptions filter as for legacy clients", async () => {
  const t = await start(true);
  try {
    const admin = t.hub.core.access.store.createToken("root", ["admin"], "test").token;
    const anon = await t.connect(null, true);
    const reader = await t.connect("feed-token", true);
    const root = await t.connect(admin, true);
    const plugins = await t.connect("feed-token", true);
    assert.deepEqual(await plugins.s.emitWithAck("subscribe", { types: ["plugin."] }), {
      ok: true,
      types: ["plugin."],
    });
    for (const type of ["reading", "plugin.error", "audit.login", "node.online", "cycle.end"]) {
      t.emit.emit(type, {});
    }
    await until(() => root.all().length === 5);
    await until(() => anon.all().length === 2 && reader.all().length === 4 && plugins.all().length === 1);
    assert.deepEqual(anon.all().map((e) => e.type), ["reading", "node.online"]);
    assert.deepEqual(reader.all().map((e) => e.type), [
      "reading",
      "plugin.error",
      "node.online",
      "cycle.end",
    ]);
    assert.deepEqual(root.all().map((e) => e.type), [
      "reading",
      "plugin.error",
      "audit.login",
      "node.online",
      "cycle.end",
    ]);
    assert.deepEqual(plugins.all().map((e) => e.type), ["plugin.error"]);
    // Back to everything: an empty subscription.
    await plugins.s.emitWithAck("subscribe", { types: [] });
    t.emit.emit("cycle.end", { last: true });
    await until(() => plugins.all().length === 2);
    assert.equal(plugins.all()[1].type, "cycle.end");
  } finally {
    await t.close();
  }
});

Deno.test("batch client: catch-up and replay come as one array each", async () => {
  const t = await start();
  try {
    for (let i = 0; i < 60; i++) t.emit.emit("reading", { i });
    await t.stored(60);
    const c = await t.connect("feed-token", true);
    await until(() => c.packets.length >= 1);
    assert.deepEqual(c.packets[0].map((e) => e.data.i), Array.from({ length: 50 }, (_, k) => k + 10));
    const ack = await c.s.emitWithAck("replay", { count: 5 });
    assert.deepEqual(ack, { ok: true, count: 5, truncated: false });
    await until(() => c.packets.length >= 2);
    assert.deepEqual(c.packets[1].map((e) => e.data.i), [55, 56, 57, 58, 59]);
    assert.equal(c.single.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("batch client: a recovered session keeps its subscription and still gets arrays", async () => {
  const t = await start();
  try {
    const c = await t.connect("feed-token", true, {
      reconnection: true,
      reconnectionDelay: 20,
      reconnectionDelayMax: 20,
    });
    await c.s.emitWithAck("subscribe", { types: ["plugin."] });
    t.emit.emit("plugin.error", { n: 1 });
    await until(() => c.all().length === 1);
    c.s.io.engine.close();
    await new Promise<void>((r) => c.s.once("connect", () => r()));
    assert.equal(c.s.recovered, true);
    t.emit.emit("reading", { n: 2 });
    t.emit.emit("plugin.reload", { n: 3 });
    await until(() => c.all().length === 2);
    assert.equal(c.all()[1].type, "plugin.reload");
    assert.equal(c.single.length, 0);
    // Nothing went to the old (pre-recovery) room twice.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.all().length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("batch client: events emitted while it is away are delivered on recovery", async () => {
  const t = await start();
  try {
    const c = await t.connect("feed-token", true);
    t.emit.emit("plugin.error", { n: 1 });
    await until(() => c.all().length === 1);
    // Away: the server sees the transport close and keeps the session for recovery.
    c.s.io.engine.close();
    await until(() => t.server.feed.clients === 0);
    t.emit.emit("plugin.reload", { n: 2 });
    t.emit.emit("reading", { n: 3 });
    await new Promise((r) => setTimeout(r, 400)); // past the 250 ms window: the packet is sent (to nobody)
    c.s.connect();
    await new Promise<void>((r) => c.s.once("connect", () => r()));
    assert.equal(c.s.recovered, true);
    await until(() => c.all().length === 3);
    assert.deepEqual(c.all().map((e) => e.data.n), [1, 2, 3]);
  } finally {
    await t.close();
  }
});
