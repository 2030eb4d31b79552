import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { LocalCommandBus } from "../services/link/mod.ts";
import { createEvents } from "../services/events/mod.ts";
import { createHub } from "../services/hub/mod.ts";
import { createSharedState, MemorySharedState } from "../services/shm/mod.ts";
import { makeSnapshot } from "../services/shm/_test_snapshot.ts";
import { startRedis } from "./_redis.ts";

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("Cannot wait for condition: timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("live feed over Redis: a broker's events in another connection reach socket.io clients, catch-up from the stream", async () => {
  const redis = await startRedis();
  const broker = createEvents({ redisUrl: redis.url, node: "pi4" });
  const hubEvents = createEvents({ redisUrl: redis.url, node: "hub" });
  const hub = createHub({
    node: "hub",
    state: new MemorySharedState({ node: "hub" }),
    events: hubEvents.log,
    emit: hubEvents.emitter,
    commands: new LocalCommandBus(),
    tokens: { write: "w", spokes: {} },
    access: { log: () => {} },
  });
  const server = await hub.listen(0);
  const socket = io(`http://127.0.0.1:${server.port}`, {
    transports: ["websocket"],
    auth: { token: "w" },
    extraHeaders: { authorization: "Bearer w" },
    reconnection: false,
    autoConnect: false,
  });
  try {
    for (let i = 0; i < 3; i++) broker.emitter.emit("reading", { i });
    await until(async () => (await hubEvents.log.latest(3)).length === 3);
    const got: Array<{ type: string; node: string; data: { i: number } }> = [];
    socket.on("event", (e) => got.push(e));
    const connected = new Promise<void>((r) => socket.once("connect", () => r()));
    socket.connect();
    await connected;
    await until(() => got.length === 3);
    assert.deepEqual(got.map((e) => [e.node, e.data.i]), [["pi4", 0], ["pi4", 1], ["pi4", 2]]);
    broker.emitter.emit("plugin.error", { i: 3 });
    await until(() => got.length === 4);
    assert.equal(got[3].type, "plugin.error");
    const res =
      await (await hub.app.request("/api/events?type=plugin.", { headers: { authorization: "Bearer w" } }))
        .json();
    assert.deepEqual(res.events.map((e: { data: { i: number } }) => e.data.i), [3]);
  } finally {
    socket.close();
    await hub.close();
    await hubEvents.close();
    await broker.close();
    await redis.stop();
  }
});

Deno.test("a hub on a Redis listing 600 nodes shows at most 512 of them and says so once", async () => {
  const redis = await startRedis();
  const state = await createSharedState({ backend: "redis", node: "hub", redisUrl: redis.url });
  const events = createEvents({ node: "hub" });
  const lines: string[] = [];
  const hub = createHub({
    node: "hub",
    state,
    events: events.log,
    emit: events.emitter,
    commands: new LocalCommandBus(),
    tokens: { write: "w", spokes: {} },
    access: { log: () => {} },
    log: (_level, message) => lines.push(message),
  });
  try {
    for (let i = 0; i < 600; i++) await state.write(makeSnapshot(`flood-${i}`, 1));
    await hub.core.refresh();
    assert.equal(hub.registry.ids().length, 513, "512 from Redis and the hub's own node");
    await new Promise((r) => setTimeout(r, 250));
    await hub.core.refresh();
    assert.equal(hub.registry.ids().length, 513);
    assert.deepEqual(
      lines.filter((l) => l.includes("Cannot show more than 512 nodes")).length,
      1,
      lines.join("\n"),
    );
  } finally {
    await hub.close();
    await events.close();
    await state.close();
    await redis.stop();
  }
});
