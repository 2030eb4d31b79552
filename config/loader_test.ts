import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { checkPluginIds, loadConfig } from "./loader.ts";
import { defaultConfig, parseConfig } from "./schema.ts";

/** A throwaway directory tree: `files` maps relative paths to contents. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "harvester-config-" });
  for (const [path, text] of Object.entries(files)) {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return root;
}

async function withTree(files: Record<string, string>, fn: (root: string) => Promise<void>) {
  const root = await tree(files);
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("loadConfig() prefers --config over config/host.toml", async () => {
  await withTree({
    "app/config/host.toml": "[hub]\nport = 4001\n",
    "app/other.toml": "[hub]\nport = 4002\n",
  }, async (root) => {
    const cwd = `${root}/app`;
    const explicit = await loadConfig({ configPath: "other.toml", cwd, env: {} });
    assert.equal(explicit.source, "other.toml");
    assert.equal(explicit.config.hub.port, 4002);
    const equals = await loadConfig({ configPath: `${root}/app/other.toml`, cwd, env: {} });
    assert.equal(equals.config.hub.port, 4002);
    const found = await loadConfig({ cwd, env: {} });
    assert.deepEqual([found.source, found.config.hub.port], ["config/host.toml", 4001]);
  });
});

Deno.test("loadConfig() falls back to ../config/host.toml, then built-in defaults", async () => {
  await withTree({ "config/host.toml": "[hub]\nport = 4003\n", "sub/.keep": "" }, async (root) => {
    const parent = await loadConfig({ cwd: `${root}/sub`, env: {} });
    assert.deepEqual([parent.source, parent.config.hub.port], ["../config/host.toml", 4003]);
  });
  await withTree({ "empty/.keep": "" }, async (root) => {
    const none = await loadConfig({ cwd: `${root}/empty`, env: {} });
    assert.equal(none.source, "built-in defaults");
    assert.equal(none.config.hub.port, 3000);
    assert.equal(none.config.hal.backend, "sim");
  });
});

Deno.test("loadConfig() applies PORT and REDIS_URL, and --port wins over PORT", async () => {
  await withTree({ "config/host.toml": "[hub]\nport = 4001\n" }, async (root) => {
    const env = { PORT: "5000", REDIS_URL: "redis://10.0.0.2:6379" };
    const fromEnv = await loadConfig({ cwd: root, env });
    assert.equal(fromEnv.config.hub.port, 5000);
    assert.equal(fromEnv.config.shm.redis_url, "redis://10.0.0.2:6379");
    const fromArg = await loadConfig({ cwd: root, env, port: "6000" });
    assert.equal(fromArg.config.hub.port, 6000);
    const blank = await loadConfig({ cwd: root, env: { PORT: "" } });
    assert.equal(blank.config.hub.port, 4001);
  });
});

Deno.test("loadConfig() rejects bad overrides naming the variable or flag", async () => {
  await withTree({ "x/.keep": "" }, async (root) => {
    const cwd = `${root}/x`;
    await assert.rejects(() => loadConfig({ cwd, env: { PORT: "http" } }), {
      name: "ConfigError",
      message: 'PORT: must be an integer 0..65535, got "http"',
    });
    await assert.rejects(() => loadConfig({ cwd, env: {}, port: "99999" }), {
      message: '--port: must be an integer 0..65535, got "99999"',
    });
    await assert.rejects(() => loadConfig({ cwd, env: { REDIS_URL: "localhost" } }), {
      message: 'REDIS_URL: must be a redis://, rediss:// or redis+sentinel:// URL, got "localhost"',
    });
  });
});

Deno.test("loadConfig() fails on a --config path that does not exist", async () => {
  await withTree({ "config/host.toml": "" }, async (root) => {
    await assert.rejects(
      () => loadConfig({ cwd: root, env: {}, configPath: "nope.toml" }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.message, "Cannot load configuration nope.toml (from --config): file not found");
        return true;
      },
    );
  });
});

Deno.test("loadConfig() reports a bad file with its name, key and problem", async () => {
  await withTree({
    "config/host.toml": '[polling]\ninterval_seconds = "fast"\n',
    "broken.toml": "[hal\nbackend = 1\n",
  }, async (root) => {
    await assert.rejects(() => loadConfig({ cwd: root, env: {} }), {
      message: 'config/host.toml: polling.interval_seconds: must be a number 0.1..2147483, got "fast"',
    });
    await assert.rejects(
      () => loadConfig({ cwd: root, env: {}, configPath: "broken.toml" }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^broken\.toml: line 1, column \d+: invalid TOML \(.+\)$/);
        assert.equal(e.line, 1);
        return true;
      },
    );
  });
});

Deno.test("loadConfig() refuses a file that is not UTF-8, naming the line", async () => {
  const root = await Deno.makeTempDir({ prefix: "harvester-config-" });
  try {
    await Deno.mkdir(`${root}/config`);
    const bytes = new TextEncoder().encode('[polling]\ninterval_seconds = 2\n[hal]\nuart_path = "/dev/tty');
    await Deno.writeFile(`${root}/config/host.toml`, new Uint8Array([...bytes, 0xff, 0xfe, 0x22, 0x0a]));
    await assert.rejects(() => loadConfig({ cwd: root, env: {} }), {
      name: "ConfigError",
      message: "config/host.toml: line 4: not valid UTF-8 (byte 0xff)",
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkPluginIds() names a [plugins.<id>] table without a plugin, with a did-you-mean", () => {
  const available = ["anima", "bme680", "dht22", "oled", "system-monitor"];
  const config = parseConfig({ plugins: { anmia: {} } }, "config/host.toml");
  assert.throws(() => checkPluginIds(config, "config/host.toml", available), {
    name: "ConfigError",
    message: "config/host.toml: plugins.anmia: no plugin 'anmia' under plugins/ (did you mean 'anima'?)",
  });
  const far = parseConfig({ plugins: { weather: {} } }, "x.toml");
  assert.throws(() => checkPluginIds(far, "x.toml", available), {
    message: "x.toml: plugins.weather: no plugin 'weather' under plugins/",
  });
  checkPluginIds(defaultConfig(), "built-in defaults", available);
  checkPluginIds(parseConfig({ plugins: { oled: {} } }, "x.toml"), "x.toml", available);
});
