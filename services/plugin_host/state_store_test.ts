import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_STATE_BYTES, StateStore } from "./state_store.ts";

Deno.test("StateStore.flush() writes atomically and load() restores", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = new StateStore(dir, "demo");
    assert.deepEqual(await s.load(), { restored: 0 });
    s.set("a", { b: [1, 2] });
    assert.equal(s.dirty, true);
    assert.equal(await s.flush(), true);
    assert.equal(await s.flush(), false, "nothing new to write");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["demo.json"], "no temp file left");
    const t = new StateStore(dir, "demo");
    assert.deepEqual(await t.load(), { restored: 1 });
    assert.deepEqual(t.get("a"), { b: [1, 2] });
    t.set("a", undefined);
    assert.equal(t.get("a"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StateStore refuses a store over the size bound and reports a corrupt file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = new StateStore(dir, "big");
    assert.throws(
      () => s.set("k", "x".repeat(MAX_STATE_BYTES)),
      /^RangeError: Cannot store state key "k" for plugin "big"/,
    );
    assert.throws(() => s.set("k", 10n), TypeError);
    await Deno.writeTextFile(join(dir, "bad.json"), "[1,");
    const r = await new StateStore(dir, "bad").load();
    assert.equal(r.restored, 0);
    assert.match(String(r.error), /^Cannot restore state of plugin "bad": .*bad\.json is not a JSON object/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
