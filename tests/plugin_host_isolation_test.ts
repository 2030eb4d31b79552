/**
 * Naming a plugin in config (for a setting) never moves it into the first-party shared sandbox;
 * only an explicit `isolation = "shared"` (own worker) or `"trusted"` (the first-party plugins'
 * worker) does. Run against the real service.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";

/** A read-scoped credential: the hub answers nothing but the page and /health without one. */
const AUTH = { headers: { authorization: "Bearer iso-token" } };

async function thirdParty(plugins: string, id: string): Promise<void> {
  await Deno.mkdir(join(plugins, id));
  const manifest = JSON.parse(
    await Deno.readTextFile(join(ROOT, "tests/fixtures/plugins/ticker/manifest.json")),
  );
  await Deno.writeTextFile(join(plugins, id, "manifest.json"), JSON.stringify({ ...manifest, id }));
  const mod = await Deno.readTextFile(join(ROOT, "tests/fixtures/plugins/ticker/mod.ts"));
  await Deno.writeTextFile(
    join(plugins, id, "mod.ts"),
    mod.replaceAll("../../../../plugins/sdk/", "../sdk/").replace('sensor: "ticker"', `sensor: "${id}"`),
  );
}

Deno.test({
  name:
    'main.ts: a third-party plugin named in config keeps its own process unless isolation = "shared" or "trusted"',
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-isolation-" });
    const plugins = join(dir, "plugins");
    await Deno.mkdir(plugins);
    for (const id of ["sdk", "bme680"]) {
      const r = await new Deno.Command("cp", { args: ["-r", join(ROOT, "plugins", id), join(plugins, id)] })
        .output();
      assert.ok(r.success);
    }
    await thirdParty(plugins, "weather-x");
    await thirdParty(plugins, "trusted-x");
    await thirdParty(plugins, "pooled-x");
    const node = `iso${Date.now() % 100000}`;
    const svc = await startService({
      name: `isolation-${node}`,
      toml: serviceToml(node, `${dir}/state`, {
        polling: { interval_seconds: 1 },
        shm: { backend: "memory", file_dir: undefined },
        hub: { token: "iso-token" },
        "plugins.weather-x.settings": { city: "Oslo" },
        "plugins.trusted-x": { isolation: "shared" },
        "plugins.pooled-x": { isolation: "trusted" },
      }),
      env: { HARVESTER_PLUGINS_DIR: plugins },
    });
    try {
      const found = await waitFor("four plugin.start events", async () => {
        const res = await fetch(`${svc.url}/api/events?type=plugin.start&limit=20`, AUTH);
        const { events } = await res.json() as { events: { data: Record<string, unknown> }[] };
        const by = Object.fromEntries(events.map((e) => [String(e.data.plugin), e.data]));
        return by["weather-x"] && by["trusted-x"] && by["pooled-x"] && by.bme680 ? by : null;
      }, 60_000);
      assert.ok(found);
      const starts = found;
      assert.equal(starts["weather-x"].isolation, "process", "named for a setting: still its own process");
      assert.equal(starts["trusted-x"].isolation, "shared", "explicitly shared");
      assert.equal(starts["pooled-x"].isolation, "trusted", "explicitly trusted");
      assert.equal(starts.bme680.isolation, "trusted", "first-party default: the trusted worker");
      assert.notEqual(starts["weather-x"].pid, starts.bme680.pid);
      assert.equal(starts["trusted-x"].pid, starts.bme680.pid);
      assert.equal(starts["pooled-x"].pid, starts.bme680.pid);
      // Both trusted plugins answer from the one worker, each under its own sensor id.
      const sensors = await waitFor("readings of pooled-x and bme680", async () => {
        const res = await fetch(`${svc.url}/api/readings`, AUTH);
        const body = await res.json() as { readings?: { plugin: string }[] };
        const seen = new Set((body.readings ?? []).map((r) => r.plugin));
        return seen.has("pooled-x") && seen.has("bme680") ? seen : null;
      }, 30_000);
      assert.ok(sensors);
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
