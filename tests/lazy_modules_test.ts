/**
 * What a running service has loaded, read from V8 through the inspector: a node without a Redis
 * URL never loads node-redis (~10 MB of memory, bench/README.md), and a broker never loads the hub
 * (Hono, socket.io, the MCP SDK). A Redis URL loads the client and the node uses it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startRedis } from "./_redis.ts";
import { type Service, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";
import { createClient } from "redis";

/** URLs of every script V8 has parsed in the service's main process. */
async function loadedScripts(svc: Service): Promise<string[]> {
  const ws = await waitFor("the inspector's address", () => {
    const m = svc.output().match(/Debugger listening on (ws:\/\/\S+)/);
    if (!m) throw new Error("not printed yet");
    return m[1];
  }, 30_000);
  const socket = new WebSocket(ws);
  const urls: string[] = [];
  try {
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`Cannot connect to the inspector at ${ws}`));
    });
    // Debugger.enable replays a scriptParsed event for every script already parsed, then answers.
    const answered = new Promise<void>((resolve) => {
      socket.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.method === "Debugger.scriptParsed") urls.push(m.params.url);
        if (m.id === 1) resolve();
      };
    });
    socket.send(JSON.stringify({ id: 1, method: "Debugger.enable" }));
    await Promise.race([
      answered,
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer to Debugger.enable")), 10_000)),
    ]);
  } finally {
    socket.close();
  }
  return urls;
}

const uses = (urls: string[], pkg: string) => urls.some((u) => u.includes(`/${pkg}/`));

Deno.test("a broker without a Redis URL loads neither node-redis nor the hub's packages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-lazy-" });
  const svc = await startService({
    name: "lazy-broker",
    mode: "broker",
    waitHealth: false,
    denoFlags: ["--inspect=127.0.0.1:0"],
    toml: serviceToml("lazy", dir, { shm: { backend: "memory" } }),
  });
  try {
    const urls = await waitFor("the plugin host's modules", async () => {
      const u = await loadedScripts(svc);
      if (!u.some((x) => x.includes("/services/plugin_host/"))) throw new Error("plugin host not loaded yet");
      return u;
    }, 30_000);
    assert.ok(urls.some((u) => u.includes("/services/events/redis_module.ts")), "the loader itself is there");
    for (const pkg of ["@redis/client", "hono", "socket.io", "@modelcontextprotocol/sdk"]) {
      assert.equal(uses(urls, pkg), false, `a broker without Redis loaded ${pkg}`);
    }
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a node with a Redis URL loads node-redis and writes its snapshot there", async () => {
  const redis = await startRedis();
  const dir = await Deno.makeTempDir({ prefix: "harvester-lazy-" });
  const svc = await startService({
    name: "lazy-redis",
    denoFlags: ["--inspect=127.0.0.1:0"],
    toml: serviceToml("lazyr", dir, { shm: { backend: "redis", redis_url: redis.url }, hub: { token: "t" } }),
  });
  try {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const snapshot = await waitFor("the node's snapshot in Redis", async () => {
        const text = await client.get("harvester:snapshot:lazyr");
        if (text === null) throw new Error("no snapshot yet");
        return text;
      }, 20_000);
      assert.match(snapshot, /bme680/);
    } finally {
      client.destroy();
    }
    const urls = await loadedScripts(svc);
    assert.ok(uses(urls, "@redis/client"), "node-redis is loaded once a Redis URL is configured");
  } finally {
    await svc.stop();
    await redis.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
