import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LocalCommandBus } from "../services/commands/mod.ts";
import { createHub } from "../services/hub/mod.ts";
import { createEvents } from "../services/events/mod.ts";
import { MemorySharedState } from "../services/shm/mod.ts";
import { makeSnapshot } from "../services/hub/_test_fakes.ts";

async function start() {
  const events = createEvents({ node: "hub" });
  const log = events.emitter;
  const state = new MemorySharedState({ node: "hub" });
  await state.write(makeSnapshot("hub"));
  const bus = new LocalCommandBus();
  const ran: unknown[] = [];
  bus.register("hub", (req) => {
    ran.push(req.command);
    return Promise.resolve({ id: req.id, ok: true });
  });
  const hub = createHub({
    node: "hub",
    state,
    events: events.log,
    emit: events.emitter,
    commands: bus,
    tokens: { write: "write-token", spokes: {} },
  });
  const server = await hub.listen(0);
  const url = new URL(`http://127.0.0.1:${server.port}/mcp`);
  const clients: Client[] = [];
  const connect = async (token?: string) => {
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
    });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  return {
    hub,
    log,
    events,
    url,
    ran,
    connect,
    close: async () => {
      for (const c of clients) await c.close();
      await hub.close();
      await events.close();
    },
  };
}

function text(r: unknown): string {
  return (r as { content: Array<{ text: string }> }).content[0].text;
}

Deno.test("MCP: the SDK client lists and calls the read tools and reads the snapshot resource", async () => {
  const t = await start();
  try {
    const c = await t.connect();
    const tools = (await c.listTools()).tools.map((x: { name: string }) => x.name).sort();
    assert.deepEqual(tools, [
      "buzz",
      "get_events",
      "get_history",
      "get_readings",
      "get_state",
      "get_statistics",
      "list_plugins",
      "set_led",
      "set_name",
    ]);
    const readings = JSON.parse(text(await c.callTool({ name: "get_readings", arguments: {} })));
    assert.equal(readings.readings[0].id, "hub:bme680");
    const state = JSON.parse(text(await c.callTool({ name: "get_state", arguments: { node: "hub" } })));
    assert.equal(state.snapshot.identity.name, "Lumen");
    assert.equal(state.status, "online");
    const plugins = JSON.parse(text(await c.callTool({ name: "list_plugins", arguments: {} })));
    assert.equal(plugins.plugins[0].id, "bme680");
    for (const v of [20, 21, 22]) {
      t.log.emit("reading", { ...makeSnapshot("hub", Date.now(), 1, v).readings["hub:bme680"] });
    }
    t.log.emit("plugin.error", { plugin: "oled" });
    for (let i = 0; i < 100 && (await t.events.log.latest(4)).length < 4; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const history = JSON.parse(
      text(await c.callTool({ name: "get_history", arguments: { sensor: "hub:bme680", limit: 2 } })),
    );
    assert.deepEqual(history.points.map((p: { values: { temperature: number } }) => p.values.temperature), [
      21,
      22,
    ]);
    const events = JSON.parse(text(await c.callTool({ name: "get_events", arguments: { type: "plugin." } })));
    assert.deepEqual(events.events.map((e: { type: string }) => e.type), ["plugin.error"]);
    const unknown = await c.callTool({ name: "get_state", arguments: { node: "ghost" } });
    assert.equal(unknown.isError, true);
    assert.equal(text(unknown), 'Cannot get state of node "ghost": unknown node');
    const res = await c.readResource({ uri: "harvester://snapshot/hub" });
    assert.equal(JSON.parse((res.contents[0] as { text: string }).text).node, "hub");
    const listed = await c.listResources();
    assert.deepEqual(listed.resources.map((r: { uri: string }) => r.uri), ["harvester://snapshot/hub"]);
  } finally {
    await t.close();
  }
});

Deno.test("MCP: acting tools need a token; with one they reach the broker", async () => {
  const t = await start();
  try {
    const anon = await t.connect();
    const refused = await anon.callTool({ name: "buzz", arguments: { pattern: "single" } });
    assert.equal(refused.isError, true);
    assert.equal(text(refused), "Cannot buzz: a bearer token is required for this tool");
    const wrong = await t.connect("guess");
    assert.equal((await wrong.callTool({ name: "set_name", arguments: { name: "X" } })).isError, true);
    assert.deepEqual(t.ran, []);
    const c = await t.connect("write-token");
    const ok = await c.callTool({ name: "buzz", arguments: { pattern: "triple" } });
    assert.equal(ok.isError, undefined);
    assert.equal(JSON.parse(text(ok)).ok, true);
    await c.callTool({ name: "set_led", arguments: { index: 1, r: 1, g: 2, b: 3 } });
    await c.callTool({ name: "set_name", arguments: { name: "Ember" } });
    assert.deepEqual(t.ran, [
      { type: "buzzer", pattern: "triple" },
      { type: "led", index: 1, r: 1, g: 2, b: 3 },
      { type: "set_name", name: "Ember" },
    ]);
    const bad = await c.callTool({ name: "set_led", arguments: { index: 1, r: 300, g: 0, b: 0 } });
    assert.equal(bad.isError, true);
    assert.match(text(bad), /r/);
  } finally {
    await t.close();
  }
});

Deno.test("MCP: a foreign Origin is refused with 403", async () => {
  const t = await start();
  try {
    const res = await fetch(t.url, {
      method: "POST",
      headers: {
        origin: "https://evil.example",
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(res.status, 403);
    assert.equal(
      (await res.json()).error,
      "Cannot accept request from origin 'https://evil.example': not allowed",
    );
    const same = await fetch(t.url, {
      method: "POST",
      headers: {
        origin: `http://${t.url.host}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "x", version: "1" } },
      }),
    });
    assert.equal(same.status, 200);
    await same.body?.cancel();
  } finally {
    await t.close();
  }
});
