import assert from "node:assert/strict";
import { docProblems, GENERATED, renderReference, schemaKeys } from "./reference.ts";
import { parseToml } from "./_toml.ts";
import { parseConfig } from "./schema.ts";

const DIR = new URL("./", import.meta.url).pathname;

Deno.test("every schema key is documented, and no doc names a key that is gone", () => {
  assert.deepEqual(docProblems(), []);
  const keys = schemaKeys().map((k) => k.path);
  for (
    const k of [
      "polling.interval_seconds",
      "hub.port",
      "plugins.<id>.memory_mb",
      "cluster.spoke_tokens.<node>",
    ]
  ) {
    assert.ok(keys.includes(k), k);
  }
});

Deno.test("config/REFERENCE.md and config/host.toml are what the schema generates (deno task config:reference)", async () => {
  for (const [name, render] of Object.entries(GENERATED)) {
    assert.equal(
      await Deno.readTextFile(`${DIR}${name}`),
      render(),
      `config/${name} is stale: run deno task config:reference`,
    );
  }
});

Deno.test("config/host.toml names every key, sets each one that has a default, and is valid", async () => {
  const text = await Deno.readTextFile(`${DIR}host.toml`);
  const config = parseConfig(parseToml(text, "config/host.toml"), "config/host.toml");
  for (const k of schemaKeys()) {
    const key = k.path.split(".").at(k.path.startsWith("plugins.") ? 2 : k.path.includes("<node>") ? 1 : -1)!;
    assert.ok(new RegExp(`^#?\\s*${key}\\b`, "m").test(text), `host.toml does not mention ${k.path}`);
  }
  assert.equal(config.hal.backend, "sim");
  assert.deepEqual(Object.keys(config.plugins).sort(), [
    "anima",
    "bme680",
    "dht22",
    "oled",
    "system-monitor",
  ]);
  assert.match(renderReference(), /\| `interval_seconds` \| number \| `2` \|/);
});
