import assert from "node:assert/strict";
import type { EventEnvelope } from "../events/event.ts";
import { createSharedState, FileSharedState, MemorySharedState, parseSnapshot } from "./mod.ts";
import { makeSnapshot } from "./_test_snapshot.ts";

function sink() {
  const events: Pick<EventEnvelope, "type" | "data">[] = [];
  return { events, emit: (type: string, data: Record<string, unknown> = {}) => events.push({ type, data }) };
}

Deno.test("parseSnapshot() accepts a valid snapshot and names the first bad field", () => {
  const s = makeSnapshot("pi-1", 1);
  assert.deepEqual(parseSnapshot(JSON.stringify(s)), { ok: true, snapshot: s });
  assert.deepEqual(parseSnapshot(JSON.stringify({ ...s, cycle: "x" })), {
    ok: false,
    error: "'cycle' Invalid input: expected number, received string",
  });
  assert.equal(parseSnapshot('{"timestamp": "2026').ok, false);
});

Deno.test("MemorySharedState writes, reads by node, lists nodes, copies on read", async () => {
  const s = new MemorySharedState({ node: "a" });
  await s.write(makeSnapshot("a", 1));
  await s.write(makeSnapshot("b", 2));
  const a = await s.read();
  assert.equal(a?.cycle, 1);
  a!.cycle = 99;
  assert.equal((await s.read())?.cycle, 1);
  assert.equal((await s.read("b"))?.cycle, 2);
  assert.equal(await s.read("c"), null);
  assert.deepEqual(await s.nodes(), ["a", "b"]);
});

Deno.test("SharedState.write() rejects an invalid snapshot or node with a clear TypeError", async () => {
  const s = new MemorySharedState({ node: "a" });
  await assert.rejects(() => s.write({ ...makeSnapshot("a", 1), leds: "red" } as never), {
    name: "TypeError",
    message: "Cannot write snapshot: 'leds' Invalid input: expected array, received string",
  });
  await assert.rejects(() => s.write(makeSnapshot("../etc", 1)), {
    name: "TypeError",
    message: /node id must match/,
  });
  await assert.rejects(() => s.read("a/b"), { name: "TypeError" });
});

Deno.test("A corrupt snapshot reads as null and emits an error event (memory and file)", async () => {
  const ev = sink();
  const m = new MemorySharedState({ node: "a", emit: ev });
  m.writeRaw("a", '{"timestamp":');
  assert.equal(await m.read(), null);
  const dir = await Deno.makeTempDir();
  try {
    const f = new FileSharedState({ node: "a", dir, emit: ev });
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify({ node: "a" }));
    assert.equal(await f.read(), null);
    assert.equal(await f.read("missing"), null);
    assert.deepEqual(ev.events.map((e) => [e.type, e.data.backend]), [["error", "memory"], [
      "error",
      "file",
    ]]);
    assert.match(String(ev.events[1].data.message), /a\.json.*'timestamp'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileSharedState writes <dir>/<node>.json via a temp file and removes a dead writer's temp files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A temp file from a pid that cannot exist (beyond pid_max) is stray.
    await Deno.writeTextFile(`${dir}/.a.json.99999999.0.tmp`, "{");
    const f = new FileSharedState({ node: "a", dir });
    const names = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names(), []);
    await f.write(makeSnapshot("a", 7));
    assert.deepEqual(names(), ["a.json"]);
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/a.json`)).cycle, 7);
    assert.equal((await f.read())?.cycle, 7);
    assert.deepEqual(await f.nodes(), ["a"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createSharedState() picks the backend and refuses bad options", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await createSharedState({ backend: "memory", node: "n" })).kind, "memory");
    assert.equal((await createSharedState({ backend: "file", node: "n", fileDir: dir })).kind, "file");
    assert.equal((await createSharedState({ backend: "auto", node: "n", fileDir: dir })).kind, "file");
    await assert.rejects(() => createSharedState({ backend: "redis", node: "n" }), { name: "TypeError" });
    await assert.rejects(() => createSharedState({ backend: "disk" as never, node: "n" }), {
      name: "TypeError",
      message:
        "Cannot open shared state as 'backend' must be auto, redis, file or memory: current value is 'disk'",
    });
    await assert.rejects(
      () =>
        createSharedState({
          backend: "redis",
          node: "n",
          redisUrl: "redis://127.0.0.1:1",
          connectTimeoutMs: 200,
        }),
      { message: /^Cannot open shared state: Redis at redis:\/\/127\.0\.0\.1:1 is unreachable/ },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
