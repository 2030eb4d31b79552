import assert from "node:assert/strict";
import { join } from "node:path";
import { readManifest } from "./manifest.ts";

const good = {
  id: "demo",
  version: "1.0.0",
  world: { imports: ["i2c", "log"], exports: ["poll"] },
  cadence_seconds: 5,
  priority: 0.5,
};

async function withManifest(value: unknown, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "manifest.json"),
      typeof value === "string" ? value : JSON.stringify(value),
    );
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readManifest() returns a valid manifest", async () => {
  await withManifest(good, async (dir) => assert.deepEqual(await readManifest(dir, "demo"), good));
});

Deno.test("readManifest() names file, key and problem for bad manifests", async () => {
  const bad: [unknown, RegExp][] = [
    ["{", /manifest\.json: .*JSON/],
    [{ ...good, id: "other" }, /id: must equal the folder name "demo", got "other"/],
    [{ ...good, world: { imports: ["teleport"], exports: [] } }, /world\.imports\.0: /],
    [{ ...good, priority: 2 }, /priority: /],
    [{ ...good, cadence_seconds: 0 }, /cadence_seconds: /],
    [{ ...good, main: "../x.ts" }, /main: must be a relative \.ts\/\.js path inside the folder/],
  ];
  for (const [value, pattern] of bad) {
    await withManifest(value, async (dir) => {
      await assert.rejects(
        readManifest(dir, "demo"),
        (e: Error) =>
          e.name === "PluginError" && e.message.startsWith('Cannot read manifest of plugin "demo": ') &&
          pattern.test(e.message),
      );
    });
  }
});
