import assert from "node:assert/strict";
import { Health } from "./health.ts";
import { probeWritable, StorageFaults } from "./storage.ts";

function setup() {
  const lines: string[] = [];
  const events: Array<[string, Record<string, unknown>]> = [];
  const health = new Health({ log: (l) => lines.push(`health ${l}`) });
  const storage = new StorageFaults({
    health,
    emit: { emit: (type, data = {}) => void events.push([type, data]) },
    log: (l) => lines.push(l),
  });
  return { lines, events, health, storage };
}

Deno.test("StorageFaults speaks once per episode with path and cause, and once when writes work again", () => {
  const { lines, events, health, storage } = setup();
  const msg = "Cannot write snapshot file '/run/shm/pi.json': No space left on device (os error 28)";
  for (let i = 0; i < 5; i++) storage.fail("snapshot", msg);
  assert.deepEqual(lines, [`storage: snapshot: ${msg}`]);
  assert.deepEqual(events.map(([t]) => t), ["storage.error"]);
  assert.equal(events[0][1].path, "/run/shm/pi.json");
  assert.equal(health.report().components.snapshot.status, "degraded");
  assert.match(health.report().components.snapshot.reason!, /\(5 failures\)$/);
  storage.succeed("snapshot");
  storage.succeed("snapshot");
  assert.equal(lines.length, 2);
  assert.match(lines[1], /^storage: snapshot: writes work again after 5 failures in \d+ ms$/);
  assert.deepEqual(events.map(([t]) => t), ["storage.error", "storage.recovered"]);
  assert.equal(health.report().components.snapshot.status, "ok");
});

Deno.test("StorageFaults.watchPluginState() names each plugin whose state could not be persisted", () => {
  const lines: string[] = [];
  const inner: string[] = [];
  const s2 = new StorageFaults({
    health: new Health({ log: () => {} }),
    emit: { emit: (t) => void inner.push(t) },
    log: (l) => lines.push(l),
  });
  const sink = s2.watchPluginState({ emit: (t) => void inner.push(t) });
  const err = (plugin: string) =>
    sink.emit("error", {
      source: "plugin_host",
      plugin,
      message:
        `Cannot persist state: No space left on device (os error 28): writefile '/st/${plugin}.json.tmp'`,
    });
  err("anima");
  err("anima");
  err("bme680");
  sink.emit("error", { source: "shm", message: "other" });
  assert.deepEqual(lines, [
    `storage: plugin state: Cannot persist state of plugin "anima": No space left on device (os error 28): writefile '/st/anima.json.tmp'`,
    `storage: plugin state: Cannot persist state of plugin "bme680": No space left on device (os error 28): writefile '/st/bme680.json.tmp'`,
  ]);
  assert.equal(inner.filter((t) => t === "error").length, 4, "every event still reaches the sink");
  assert.equal(inner.filter((t) => t === "storage.error").length, 2);
});

Deno.test("probeWritable() names the cause for a path that cannot take a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await probeWritable(`${dir}/sub`), null);
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)], [], "the probe file is removed");
    await Deno.writeTextFile(`${dir}/file`, "x");
    assert.match((await probeWritable(`${dir}/file/sub`)) ?? "", /Not a directory|File exists/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
