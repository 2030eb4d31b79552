import assert from "node:assert/strict";
import { UnixCommandClient, UnixCommandServer } from "../services/link/mod.ts";

async function tempSocket(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-ctl-" });
  return { path: `${dir}/control.sock`, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("UnixCommandClient and UnixCommandServer round-trip commands over a real Unix socket", async () => {
  const { path, cleanup } = await tempSocket();
  const server = new UnixCommandServer({
    path,
    node: "hub",
    handler: (req) => Promise.resolve({ id: req.id, ok: true, data: req.command }),
  });
  const client = new UnixCommandClient({ path });
  try {
    await server.start();
    const results = await Promise.all(
      [1, 2, 3].map((i) => client.send("hub", { type: "led", index: i, r: 0, g: 0, b: i })),
    );
    assert.deepEqual(results.map((r) => (r.data as { index: number }).index), [1, 2, 3]);
    const wrong = await client.send("pi4", { type: "buzzer", pattern: "single" });
    assert.equal(wrong.code, "rejected");
    assert.equal(wrong.error, 'Cannot run command for node "pi4": this broker serves "hub"');
  } finally {
    await client.close();
    await server.stop();
    await cleanup();
  }
});

Deno.test("UnixCommandServer.start() refuses a path another server holds and replaces a stale file", async () => {
  const { path, cleanup } = await tempSocket();
  const handler = (req: { id: string }) => Promise.resolve({ id: req.id, ok: true });
  const a = new UnixCommandServer({ path, node: "hub", handler });
  const b = new UnixCommandServer({ path, node: "hub", handler });
  try {
    await Deno.writeTextFile(path, "stale");
    await a.start();
    await assert.rejects(() => b.start(), {
      name: "AddrInUse",
      message: `Cannot listen on control socket ${path}: another process serves it`,
    });
  } finally {
    await a.stop();
    await cleanup();
  }
});

Deno.test("UnixCommandClient.send() reports a missing socket as unreachable and a silent broker as timeout", async () => {
  const { path, cleanup } = await tempSocket();
  const client = new UnixCommandClient({ path });
  const server = new UnixCommandServer({ path, node: "hub", handler: () => new Promise(() => {}) });
  try {
    const r = await client.send("hub", { type: "buzzer", pattern: "single" }, 500);
    assert.equal(r.code, "unreachable");
    assert.match(r.error!, /^Cannot send "buzzer" to node "hub": control socket .* unreachable/);
    await server.start();
    const t = await client.send("hub", { type: "buzzer", pattern: "single" }, 100);
    assert.equal(t.code, "timeout");
    assert.equal(t.error, 'Cannot send "buzzer" to node "hub": no answer within 100 ms');
  } finally {
    await client.close();
    await server.stop();
    await cleanup();
  }
});
