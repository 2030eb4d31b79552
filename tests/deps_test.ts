/**
 * Boundaries checked by a tool, not by memory (STYLE.md): every import edge between the top-level
 * parts of the tree must follow the dependency direction.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

function* walk(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) {
      if (["node_modules", "out", "vendor", "fixtures", ".git"].includes(e.name)) continue;
      yield* walk(p);
    } else if (/\.(ts|js)$/.test(e.name)) yield p;
  }
}

/** Relative specifiers imported by a file (static, re-export, and dynamic with a literal). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;
  for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** The rule a non-test file at `from` breaks by importing `to` (repo-relative paths), or null. */
export function violation(from: string, to: string): string | null {
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir + "/");
  if (to === "main.ts") return "nothing imports main.ts (it is the composition root)";
  const plugin = from.match(/^plugins\/([^/]+)\//)?.[1];
  if (plugin && plugin !== "_testing") {
    if (plugin === "sdk") {
      return under(to, "plugins/sdk") ? null : "plugins/sdk imports nothing outside itself";
    }
    return under(to, `plugins/${plugin}`) || under(to, "plugins/sdk")
      ? null
      : `plugin "${plugin}" may import only plugins/sdk and its own folder`;
  }
  if (under(from, "hal")) {
    if (under(to, "services") || under(to, "plugins") || under(to, "config")) {
      return "hal imports nothing from services, plugins or config";
    }
    const backend = from.match(/^hal\/(linux|sim)\//)?.[1];
    const other = backend === "linux" ? "hal/sim" : "hal/linux";
    if (backend && under(to, other)) return `hal/${backend} must not import ${other}`;
    if (!backend && (under(to, "hal/linux") || under(to, "hal/sim"))) {
      return "hal interfaces import no backend";
    }
    return null;
  }
  if (under(from, "services")) {
    if (under(to, "hal/linux") || under(to, "hal/sim")) return "services use hal interfaces, never a backend";
    if (under(to, "plugins") && !under(to, "plugins/sdk")) return "services import only plugins/sdk";
    return null;
  }
  if (under(from, "config")) {
    return under(to, "services") || under(to, "hal") && !/^hal\/[^/]+\.ts$/.test(to)
      ? "config imports no services and no hal backend"
      : null;
  }
  return null;
}

Deno.test("violation() flags each forbidden edge and allows the permitted ones", () => {
  assert.match(violation("plugins/oled/mod.ts", "hal/mod.ts")!, /plugin "oled" may import only plugins\/sdk/);
  assert.equal(violation("plugins/oled/mod.ts", "plugins/sdk/mod.ts"), null);
  assert.equal(violation("plugins/oled/mod.ts", "plugins/oled/font.ts"), null);
  assert.match(violation("plugins/sdk/mod.ts", "services/x.ts")!, /plugins\/sdk imports nothing/);
  assert.match(violation("services/hub/app.ts", "hal/sim/mod.ts")!, /never a backend/);
  assert.match(violation("services/broker/broker.ts", "plugins/bme680/mod.ts")!, /only plugins\/sdk/);
  assert.match(violation("hal/linux/i2c.ts", "hal/sim/i2c_bus.ts")!, /must not import hal\/sim/);
  assert.match(violation("hal/sim/mod.ts", "services/events/event.ts")!, /hal imports nothing/);
  assert.equal(violation("hal/sim/mod.ts", "hal/i2c.ts"), null);
  assert.match(violation("services/x.ts", "main.ts")!, /composition root/);
});

Deno.test("every import in the tree follows the dependency direction", () => {
  const problems: string[] = [];
  let edges = 0;
  for (const file of walk(ROOT)) {
    const from = relative(ROOT, file);
    if (/_test\.ts$/.test(from) || from.startsWith("tests/") || from.startsWith("bench/")) continue;
    for (const spec of importsOf(Deno.readTextFileSync(file))) {
      if (!spec.startsWith(".")) continue;
      const to = relative(ROOT, resolve(dirname(file), spec));
      edges++;
      const why = violation(from, to);
      if (why) problems.push(`${from} → ${to}: ${why}`);
    }
  }
  assert.ok(edges > 10, `expected to read the import graph, saw ${edges} edges`);
  assert.deepEqual(problems, []);
});

/** npm package names a lockfile's snapshot would install on a first run. */
function lockedPackages(lockPath: string): Set<string> {
  const lock = JSON.parse(Deno.readTextFileSync(lockPath)) as { npm?: Record<string, unknown> };
  return new Set(Object.keys(lock.npm ?? {}).map((k) => k.replace(/^(@?[^@]+)@.*$/, "$1")));
}

Deno.test("the runtime import map and lock hold only what the service runs; dev packages live in tests/", () => {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))) as {
    imports: Record<string, string>;
  };
  const dev = JSON.parse(Deno.readTextFileSync(join(ROOT, "tests", "import_map.json"))) as {
    imports: Record<string, string>;
  };
  const devOnly = ["@sinonjs/fake-timers", "playwright-core", "autocannon", "socket.io-client"];
  for (const name of devOnly) {
    assert.ok(!(name in config.imports), `${name} must not be in deno.json's imports (a Pi would fetch it)`);
    assert.ok(name in dev.imports, `${name} belongs in tests/import_map.json`);
  }
  // The dev map is the runtime map plus dev packages: the same versions, so tests run what ships.
  for (const [name, target] of Object.entries(config.imports)) {
    assert.equal(dev.imports[name], target, `tests/import_map.json must map ${name} as deno.json does`);
  }
  const runtime = lockedPackages(join(ROOT, "deno.lock"));
  for (const name of [...devOnly, "@sinonjs/commons"]) {
    assert.ok(!runtime.has(name), `deno.lock installs ${name} on a first start`);
  }
  assert.ok(runtime.has("hono") && runtime.has("zod"), "deno.lock should lock the runtime packages");
});
