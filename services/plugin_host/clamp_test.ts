import assert from "node:assert/strict";
import type { PluginManifest } from "../../plugins/sdk/mod.ts";
import { clampManifest, DEFAULT_MANIFEST_POLICY } from "./clamp.ts";

const greedy: PluginManifest = {
  id: "greedy",
  version: "v".repeat(10_000),
  world: { imports: ["log"], exports: ["poll"] },
  cadence_seconds: 0.001,
  priority: 1,
  deadline_ms: 3_600_000,
  depends_on: ["greedy", "anima", "anima", "../x"],
  description: "d".repeat(5000),
};

Deno.test("clampManifest() clamps what a manifest grants itself and names each clamp", () => {
  const { manifest, clamps } = clampManifest(greedy, DEFAULT_MANIFEST_POLICY, {});
  assert.equal(manifest.priority, 0.8);
  assert.equal(manifest.cadence_seconds, 1);
  assert.equal(manifest.deadline_ms, 10_000);
  assert.equal(manifest.version.length, 32);
  assert.equal(manifest.description?.length, 200);
  assert.deepEqual(manifest.depends_on, ["anima"]);
  assert.deepEqual(clamps, [
    "priority 1 → 0.8",
    "cadence_seconds 0.001 → 1",
    "deadline_ms 3600000 → 10000",
    "version cut from 10000 to 32 characters",
    "description cut from 5000 to 200 characters",
    "depends_on kept 1 of 4 entries",
  ]);
});

Deno.test("clampManifest() leaves what config set to config, and a modest manifest alone", () => {
  const { clamps } = clampManifest(greedy, DEFAULT_MANIFEST_POLICY, {
    priority: 0.9,
    cadence_seconds: 0.5,
    deadline_ms: 60_000,
  });
  assert.ok(!clamps.some((c) => /priority|cadence|deadline/.test(c)), clamps.join());
  const modest = { ...greedy, version: "1.0.0", cadence_seconds: 5, priority: 0.6, deadline_ms: 3000 };
  delete modest.description;
  delete modest.depends_on;
  assert.deepEqual(clampManifest(modest, DEFAULT_MANIFEST_POLICY, {}).clamps, []);
});
