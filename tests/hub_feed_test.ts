import assert from "node:assert/strict";
import { io, type Socket } from "socket.io-client";
import { LocalCommandBus } from "../services/link/mod.ts";
import { createHub } from "../services/hub/mod.ts";
import { createEvents } from "../services/events/mod.ts";
import { MemorySharedState } from "../services/shm/mod.ts";
import { makeSnapshot } from "../services/hub/_test_fakes.ts";

async function start(feedMaxPending?: number, publicRead = false) {
  // The lagging test sends 64 KiB events: above the default per-event byte budget.
  const events = createEvents({ node: "hub", eventMaxBytes: 128 * 1024 });
  const log = events.emitter;
  const state = new MemorySharedState({ node: "hub" });
  await state.write(makeSnapshot("hub"));
  /** Wait until the store holds `n` events (the emitter writes in the background). */
  const stored = (n: number) => until(async () => (await events.log.latest(n)).length >= n);
  const feedTokens = ["feed-token"];
  const hub = createHub({
    node: "hub",
    state,
    events: events.log,
    emit: events.emitter,
    commands: new LocalCommandBus(),
    tokens: { write: "write-token", spokes: {}, feed: feedTokens },
    feedMaxPending,
    access: { publicRead, log: () => {} },
  });
  const server = await hub.listen(0);
  const url = `http://127.0.0.1:${server.port}`;
  const clients: Socket[] = [];
  const connect = (token: string | null, opts: Record<string, unknown> = {}) => {
    const s = io(url, {
      transports: ["websocket"],
      auth: token === null ? {} : { token },
      // The engine.io handshake is checked too: a Node client sends the token as a header.
      extraHeaders: token === null ? {} : { authorization: `Bearer ${token}` },
      reconnection: false,
      ...opts,
    });
    clients.push(s);
    return s;
  };
  const close = async () => {
    for (const c of clients) c.close();
    await hub.close();
    await events.close();
  };
  return { hub, server, log, stored, url, connect, close, feedTokens };
}

function collect(s: Socket, name = "event"): Array<{ type: string; data: Record<string, unknown> }> {
  const got: Array<{ type: string; data: Record<string, unknown> }> = [];
  s.on(name, (e) => got.push(e));
  return got;
}

function once<T = unknown>(s: Socket, name: string): Promise<T> {
  return new Promise((resolve) => s.once(name, resolve));
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("Cannot wait for condition: timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("live feed: catch-up of the last 50 events on connect, then live events", async () => {
  const t = await start();
  try {
    for (let i = 0; i < 60; i++) t.log.emit("reading", { i });
    await t.stored(60);
    const s = t.connect("write-token");
    const got = collect(s);
    await once(s, "connect");
    await until(() => got.length >= 50);
    assert.deepEqual(got.map((e) => e.data.i), Array.from({ length: 50 }, (_, k) => k + 10));
    t.log.emit("plugin.error", { live: true });
    await until(() => got.length === 51);
    assert.equal(got[50].type, "plugin.error");
  } finally {
    await t.close();
  }
});

Deno.test("live feed: a replay is capped in bytes too, newest first, and says it was cut", async () => {
  const t = await start();
  try {
    for (let i = 0; i < 60; i++) t.log.emit("reading", { i, pad: "x".repeat(60_000) });
    await t.stored(60);
    const s = t.connect("feed-token");
    await once(s, "connect");
    const got = collect(s);
    const ack = await s.emitWithAck("replay", { count: 60 });
    assert.equal(ack.truncated, true);
    assert.ok(ack.count >= 10 && ack.count <= 18, `1 MiB of 60 KB events: ${ack.count}`);
    await until(() => got.length >= ack.count);
    const replayed = got.slice(-ack.count);
    assert.equal(replayed.at(-1)!.data.i, 59, "the newest events are the ones kept");
    assert.deepEqual(
      replayed.map((e) => e.data.i),
      Array.from({ length: ack.count }, (_, k) => 60 - ack.count + k),
    );
  } finally {
    await t.close();
  }
});

Deno.test("live feed: replay up to 1000, more is refused naming the limit", async () => {
  const t = await start();
  try {
    for (let i = 0; i < 1200; i++) t.log.emit("reading", { i });
    await t.stored(1200);
    const s = t.connect("feed-token");
    const got = collect(s);
    await once(s, "connect");
    await until(() => got.length === 50);
    const ack = await s.emitWithAck("replay", { count: 1000 });
    assert.deepEqual(ack, { ok: true, count: 1000, truncated: false });
    await until(() => got.length === 1050);
    assert.equal(got[50].data.i, 200);
    const errors = collect(s, "feed_error");
    const refused = await s.emitWithAck("replay", { count: 1001 });
    assert.deepEqual(refused, {
      ok: false,
      error: "Cannot replay 1001 events: the limit is 1000",
      field: "count",
      problem: "must be at most 1000",
    });
    const bad = await s.emitWithAck("replay", { count: "all" });
    assert.equal(bad.field, "count");
    await until(() => errors.length === 2);
    assert.equal(got.length, 1050);
  } finally {
    await t.close();
  }
});

Deno.test("live feed: subscribe filters by type prefix", async () => {
  const t = await start();
  try {
    const s = t.connect("write-token");
    await once(s, "connect");
    const ack = await s.emitWithAck("subscribe", { types: ["sensor.", "plugin."] });
    assert.deepEqual(ack, { ok: true, types: ["sensor.", "plugin."] });
    const all = t.connect("write-token");
    await once(all, "connect");
    const got = collect(s);
    const gotAll = collect(all);
    for (const type of ["reading", "plugin.error", "cycle.end", "sensor.bme680", "plugin.reload"]) {
      t.log.emit(type);
    }
    await until(() => gotAll.length === 5);
    await until(() => got.length === 3);
    assert.deepEqual(got.map((e) => e.type), ["plugin.error", "sensor.bme680", "plugin.reload"]);
    const bad = await s.emitWithAck("subscribe", { types: "plugin." });
    assert.equal(bad.ok, false);
    assert.equal(bad.field, "types");
  } finally {
    await t.close();
  }
});

Deno.test("live feed: the engine.io handshake needs a credential; a wrong token is refused", async () => {
  const t = await start();
  try {
    const poll = (headers: Record<string, string> = {}) =>
      fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, { headers }).then(async (
        r,
      ) => [r.status, await r.text()]);
    const [status] = await poll();
    assert.equal(status, 403, "no engine.io session without a credential");
    const [ok, body] = await poll({ authorization: "Bearer feed-token" });
    assert.equal(ok, 200);
    assert.match(String(body), /"sid"/);
    const [wrong] = await poll({ authorization: "Bearer guess" });
    assert.equal(wrong, 403);
    const none = t.connect(null);
    await once<Error>(none, "connect_error");
    assert.equal(t.server.feed.clients, 0);
  } finally {
    await t.close();
  }
  // With public readings the handshake opens, and a presented wrong token is still refused by name.
  const p = await start(undefined, true);
  try {
    const wrong = io(p.url, { transports: ["websocket"], auth: { token: "guess" }, reconnection: false });
    assert.equal((await once<Error>(wrong, "connect_error")).message, "Cannot join live feed: wrong token");
    wrong.close();
  } finally {
    await p.close();
  }
});

Deno.test("live feed: recovery restores a session but still runs auth; revoking a token drops it at once", async () => {
  const t = await start();
  try {
    const admin = t.hub.core.access.store.createToken("root", ["admin"], "test").token;
    const made = await (await t.hub.app.request("/api/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "wall", scopes: ["read"] }),
    })).json();
    const s = t.connect(made.token, {
      reconnection: true,
      reconnectionDelay: 20,
      reconnectionDelayMax: 20,
    });
    await once(s, "connect");
    await s.emitWithAck("subscribe", { types: ["plugin."] });
    const got = collect(s);
    t.log.emit("plugin.error", { n: 1 });
    await until(() => got.length === 1);
    // Drop the transport: the client reconnects and recovers its session (rooms, missed packets).
    s.io.engine.close();
    await once(s, "connect");
    assert.equal(s.recovered, true);
    t.log.emit("reading", { n: 2 });
    t.log.emit("plugin.reload", { n: 3 });
    await until(() => got.length === 2);
    assert.equal(got[1].type, "plugin.reload");
    // Revoke the token: the connected client is dropped at once, and it cannot come back.
    const dropped = once<string>(s, "disconnect");
    const res = await t.hub.app.request(`/api/tokens/${made.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(res.status, 200);
    assert.equal(await dropped, "io server disconnect");
    await until(() => t.server.feed.clients === 0);
    const again = t.connect(made.token);
    await once<Error>(again, "connect_error");
    assert.equal(t.server.feed.clients, 0);
  } finally {
    await t.close();
  }
});

/** A WebSocket client on a raw TCP socket, so the test controls when it reads. */
async function rawClient(port: number, token: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const enc = new TextEncoder();
  await conn.write(enc.encode(
    `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  let seen = "";
  const buf = new Uint8Array(65536);
  const readUntil = async (needle: string) => {
    while (!seen.includes(needle)) {
      const n = await conn.read(buf);
      if (n === null) return false;
      seen += new TextDecoder("latin1").decode(buf.subarray(0, n));
    }
    return true;
  };
  const sendText = async (text: string) => {
    const payload = enc.encode(text);
    const mask = [1, 2, 3, 4];
    const frame = new Uint8Array(6 + payload.length);
    frame[0] = 0x81;
    frame[1] = 0x80 | payload.length;
    frame.set(mask, 2);
    payload.forEach((b, i) => (frame[6 + i] = b ^ mask[i % 4]));
    await conn.write(frame);
  };
  await readUntil('0{"sid"');
  await sendText(`40${JSON.stringify({ token })}`);
  await readUntil('40{"sid"');
  return { conn, readUntil, seen: () => seen };
}

Deno.test("live feed: a client that stops reading is told it is lagging and dropped", async () => {
  const t = await start(20);
  const raw = await rawClient(t.server.port, "feed-token");
  try {
    assert.equal(t.server.feed.clients, 1);
    const big = "x".repeat(64 * 1024);
    for (let i = 0; i < 600 && t.server.feed.lagDrops === 0; i++) {
      t.log.emit("reading", { i, big });
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(t.server.feed.lagDrops, 1);
    // Now read: the backlog, then the `lagging` notice, then the server closes.
    assert.equal(await raw.readUntil('"limit":20}'), true);
    assert.match(raw.seen(), /42\["lagging",\{"pending":\d+,"limit":20\}/);
    raw.conn.close();
    await until(() => t.server.feed.clients === 0);
    const metrics =
      await (await t.hub.app.request("/metrics", { headers: { authorization: "Bearer feed-token" } }))
        .text();
    assert.match(metrics, /^harvester_live_lagging_drops_total 1$/m);
  } finally {
    await t.close();
  }
});
