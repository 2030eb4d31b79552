/**
 * The five first-party plugins as the sandbox gets them: each manifest validates, each
 * plugin bundles from its own folder plus the SDK and passes the bundle check, the bundle
 * exports what the manifest's world says, and a bundled plugin runs against the sim devices.
 */
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { bundlePlugin } from "../../services/plugin_host/bundle.ts";
import { readManifest } from "../../services/plugin_host/manifest.ts";
import type { Plugin } from "../sdk/mod.ts";
import { createHarness, snapshotOf } from "./harness.ts";

const FIRST_PARTY = ["bme680", "dht22", "system-monitor", "oled", "anima"];
const pluginsDir = fromFileUrl(new URL("..", import.meta.url));

async function bundled(id: string): Promise<Plugin> {
  const code = await bundlePlugin({
    id,
    dir: `${pluginsDir}${id}`,
    main: "mod.ts",
    sdkDir: `${pluginsDir}sdk`,
  });
  const mod = await import(`data:text/javascript;base64,${toBase64(code)}`);
  return mod.default as Plugin;
}

Deno.test("first-party plugins: manifests validate and bundles export their world", async () => {
  for (const id of FIRST_PARTY) {
    const manifest = await readManifest(`${pluginsDir}${id}`, id);
    const plugin = await bundled(id);
    for (const name of manifest.world.exports) {
      assert.equal(typeof plugin[name], "function", `${id} bundle lacks ${name}()`);
    }
    if (id === "anima") assert.equal(typeof plugin.command, "function");
  }
});

Deno.test("first-party plugins: the bundled bme680 and oled run against the sim devices", async () => {
  const bme = await bundled("bme680");
  const h = createHarness({ manifest: await readManifest(`${pluginsDir}bme680`, "bme680") });
  h.environment.set({ temperatureC: 24.2 });
  await bme.init!(h.ctx);
  h.clock.advance(5000);
  const [r] = await bme.poll!(h.ctx);
  assert.ok(Math.abs((r.values.temperature as number) - 24.2) <= 0.1);

  const oled = await bundled("oled");
  const o = createHarness({ manifest: await readManifest(`${pluginsDir}oled`, "oled") });
  await oled.init!(o.ctx);
  await oled.update!(o.ctx, snapshotOf({ dht22: { temperature: 21, humidity: 40 } }));
  assert.ok(o.oled.framebuffer().some((b) => b !== 0));
});

Deno.test("first-party plugins: a bundled plugin tolerates a refusal raised by the host's CapabilityError", async () => {
  // The bundle carries its own copy of the SDK, so the plugin must recognise the error by name.
  const sys = await bundled("system-monitor");
  const manifest = await readManifest(`${pluginsDir}system-monitor`, "system-monitor");
  const h = createHarness({ manifest, grant: { buzzer: false } });
  await sys.init!(h.ctx);
  h.system.set({ cpuTemperatureC: 85 });
  const [r] = await sys.poll!(h.ctx);
  assert.equal(r.values.cpu_temp, 85);
  assert.deepEqual(h.denied, [{ capability: "buzzer", argument: "2" }]);
});

function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
