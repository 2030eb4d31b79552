import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LocalCommandBus } from "../services/link/mod.ts";
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
    tokens: { write: "write-token", spokes: {}, feed: ["read-token"] },
    access: { log: () => {} },
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
  /** Scoped API tokens made the way an admin makes them. */
  const mint = (name: string, scopes: string[]) => hub.core.access.store.createToken(name, scopes, "test");
  return {
    hub,
    mint,
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
    const c = await t.connect(t.mint("assistant", ["read"]).token);
    const listedTools = (await c.listTools()).tools as Array<
      { name: string; annotations?: { readOnlyHint?: boolean } }
    >;
    // Annotations say which tools act: exactly the three that send commands.
    assert.deepEqual(
      listedTools.filter((x) => x.annotations?.readOnlyHint === false).map((x) => x.name).sort(),
      ["buzz", "set_led", "set_name"],
    );
    assert.ok(listedTools.every((x) => typeof x.annotations?.readOnlyHint === "boolean"));
    const tools = listedTools.map((x) => x.name).sort();
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

Deno.test("MCP: no token, a wrong or revoked token is refused; read scope reads; act scope acts", async () => {
  const t = await start();
  try {
    await assert.rejects(() => t.connect(), /401|bearer token/);
    await assert.rejects(() => t.connect("guess"), /401|wrong token/);
    const reader = await t.connect(t.mint("reader", ["read"]).token);
    const refused = await reader.callTool({ name: "buzz", arguments: { pattern: "single" } });
    assert.equal(refused.isError, true);
    assert.equal(text(refused), "Cannot buzz: token 'reader' lacks the 'act' scope");
    assert.equal((await reader.callTool({ name: "set_name", arguments: { name: "X" } })).isError, true);
    assert.equal((await reader.callTool({ name: "get_readings", arguments: {} })).isError, undefined);
    // A push-only (spoke) token is not an MCP token.
    await assert.rejects(() => t.connect(t.mint("pusher", ["push:pi4"]).token), /403|read/);
    assert.deepEqual(t.ran, []);
    const actor = t.mint("operator-bot", ["act"]);
    const c = await t.connect(actor.token);
    const ok = await c.callTool({ name: "buzz", arguments: { pattern: "triple" } });
    assert.equal(ok.isError, undefined);
    assert.equal(JSON.parse(text(ok)).ok, true);
    await c.callTool({ name: "set_led", arguments: { index: 1, r: 1, g: 2, b: 3 } });
    await c.callTool({ name: "set_name", arguments: { name: "Ember" } });
    // The configured hub.token keeps working for scripts (read + act).
    const legacy = await t.connect("write-token");
    assert.equal(
      (await legacy.callTool({ name: "buzz", arguments: { pattern: "single" } })).isError,
      undefined,
    );
    assert.deepEqual(t.ran, [
      { type: "buzzer", pattern: "triple" },
      { type: "led", index: 1, r: 1, g: 2, b: 3 },
      { type: "set_name", name: "Ember" },
      { type: "buzzer", pattern: "single" },
    ]);
    const bad = await c.callTool({ name: "set_led", arguments: { index: 1, r: 300, g: 0, b: 0 } });
    assert.equal(bad.isError, true);
    assert.match(text(bad), /r/);
    // Every act is audited with who did it.
    for (let i = 0; i < 100 && (await t.events.log.query({ type: "audit.", limit: 10 })).length < 4; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const audit = await t.events.log.query({ type: "audit.", limit: 10 });
    assert.deepEqual(audit.map((e) => [e.type, e.data.actor]), [
      ["audit.buzzer", "token:operator-bot"],
      ["audit.led", "token:operator-bot"],
      ["audit.set_name", "token:operator-bot"],
      ["audit.buzzer", "token:hub.token"],
    ]);
    // Revocation takes effect on the next request.
    t.hub.core.access.store.revokeToken(actor.view.id);
    await assert.rejects(
      () => c.callTool({ name: "buzz", arguments: { pattern: "single" } }),
      /401|wrong token/,
    );
    assert.equal(t.ran.length, 4);
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
        authorization: "Bearer read-token",
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
        authorization: "Bearer read-token",
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
