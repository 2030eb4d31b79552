import assert from "node:assert/strict";
import { join } from "node:path";
import { bundlePlugin } from "./bundle.ts";
import { PluginError } from "./errors.ts";

/** A plugins folder with an SDK and one plugin whose mod.ts is `source`. */
async function fixture(source: string, extra: Record<string, string> = {}) {
  const root = await Deno.makeTempDir({ prefix: "bundle-test-" });
  await Deno.mkdir(join(root, "sdk"));
  await Deno.writeTextFile(join(root, "sdk/mod.ts"), "export const definePlugin = <T>(p: T): T => p;\n");
  await Deno.mkdir(join(root, "p"));
  await Deno.writeTextFile(join(root, "p/mod.ts"), source);
  for (const [name, text] of Object.entries(extra)) await Deno.writeTextFile(join(root, name), text);
  const input = { id: "p", dir: join(root, "p"), main: "mod.ts", sdkDir: join(root, "sdk") };
  return { root, input, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

const refusal = (message: string) => (e: unknown) => e instanceof PluginError && e.message === message;

Deno.test("bundlePlugin() bundles the plugin folder and the SDK into one import-free module", async () => {
  await using f = await fixture(
    'import { definePlugin } from "../sdk/mod.ts";\nimport { n } from "./n.ts";\nimport d from "./d.json" with { type: "json" };\nexport default definePlugin({ poll: () => [{ sensor: "s", values: { n, d: d.v } }] });\n',
    { "p/n.ts": "export const n: number = 7;\n", "p/d.json": '{"v": 1}' },
  );
  const code = await bundlePlugin(f.input);
  assert.ok(!/^\s*import /m.test(code));
  const mod = await import(`data:text/javascript,${encodeURIComponent(code)}`);
  assert.deepEqual(mod.default.poll(), [{ sensor: "s", values: { n: 7, d: 1 } }]);
});

Deno.test("bundlePlugin() refuses imports outside the folder, absolute, remote, npm and node specifiers", async () => {
  const cases: [string, string][] = [
    [
      'import "../outside.ts";',
      'mod.ts imports "../outside.ts": it is outside the plugin folder and the SDK',
    ],
    ['import "/etc/hostname";', 'mod.ts imports "/etc/hostname": absolute paths are not allowed'],
    [
      'import "npm:left-pad";',
      'mod.ts imports "npm:left-pad": npm:, jsr: and node: specifiers are not allowed',
    ],
    ['import "node:fs";', 'mod.ts imports "node:fs": npm:, jsr: and node: specifiers are not allowed'],
    [
      'import "https://x.example/a.ts";',
      'mod.ts imports "https://x.example/a.ts": remote imports are not allowed',
    ],
    [
      'export const f = () => import("./mod.ts");',
      'mod.ts imports "./mod.ts": dynamic import() is not allowed',
    ],
  ];
  for (const [source, why] of cases) {
    await using f = await fixture(source + "\nexport default {};\n", { "outside.ts": "export {};\n" });
    await assert.rejects(bundlePlugin(f.input), refusal(`Cannot bundle plugin "p": ${why}`), source);
  }
});

Deno.test("bundlePlugin() follows symlinks: a link inside the folder to a file outside is refused", async () => {
  await using f = await fixture(
    'import x from "./link.json" with { type: "json" };\nexport default { x };\n',
    {
      "secret.json": '{"s": "do-not-leak"}',
    },
  );
  await Deno.symlink(join(f.root, "secret.json"), join(f.root, "p/link.json"));
  await assert.rejects(
    bundlePlugin(f.input),
    refusal(
      'Cannot bundle plugin "p": mod.ts imports "./link.json": it is outside the plugin folder and the SDK',
    ),
  );
});

Deno.test("bundlePlugin() refuses a main outside the folder and names a syntax error", async () => {
  await using f = await fixture("export default {\n");
  await assert.rejects(
    bundlePlugin({ ...f.input, main: "../sdk/mod.ts" }),
    refusal('Cannot bundle plugin "p": main "../sdk/mod.ts" is outside the plugin folder'),
  );
  await assert.rejects(
    bundlePlugin(f.input),
    (e: unknown) => e instanceof PluginError && /^Cannot (bundle|resolve) plugin "p": /.test(e.message),
  );
});
