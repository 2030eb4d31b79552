/**
 * The hostile-plugin suite, part 7: liveness of the host. Before any tool reads a plugin folder
 * the host walks it itself: FIFOs, sockets, symlinks that leave the folder, huge files and huge
 * folders are refused and the quarantine names the file. Resolving and bundling run with time
 * limits and are killed at shutdown, so one plugin never holds up start-up, discovery or stop.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, makeHarness, ROOT, SECRET_TXT, until } from "./fixtures/plugins/_harness.ts";
import type { Harness } from "./fixtures/plugins/_harness.ts";
import type { PluginHostOptions } from "../services/plugin_host/mod.ts";
import { bundlePlugin } from "../services/plugin_host/bundle.ts";

/** A plugins folder with the fixture (plus its hazard) and the good `ticker`. */
async function folder(name: string, hazard: (dir: string) => Promise<void>): Promise<string> {
  const out = join(ROOT, "tests/out");
  await Deno.mkdir(out, { recursive: true });
  const pluginsDir = await Deno.makeTempDir({ dir: out, prefix: "ph-live-" });
  await hazard(await copyFixture(`hostile/${name}`, pluginsDir));
  await copyFixture("plugins/ticker", pluginsDir);
  return pluginsDir;
}

async function refusedAtStart(
  name: string,
  hazard: (dir: string) => Promise<void>,
  reason: RegExp,
  extra?: Partial<PluginHostOptions>,
): Promise<void> {
  const pluginsDir = await folder(name, hazard);
  const t0 = performance.now();
  let h: Harness | undefined;
  try {
    h = await makeHarness({ plugins: [], pluginsDir, extra });
    const startMs = performance.now() - t0;
    assert.ok(startMs < 20_000, `start-up took ${startMs} ms`);
    assert.equal(h.host.status(name).status, "quarantined");
    assert.match(String(h.of("plugin.quarantine", name)[0]?.data.reason), reason);
    assert.equal(h.host.status(name).restarts, 0);
    assert.equal((await h.host.poll("ticker"))[0].sensor, "ticker", "the neighbour runs");
    const s0 = performance.now();
    await h.stop();
    assert.ok(performance.now() - s0 < 10_000, "shutdown within its budget");
  } finally {
    await h?.close();
    await Deno.remove(pluginsDir, { recursive: true }).catch(() => {});
  }
}

const mkfifo = async (path: string) => {
  await Deno.remove(path).catch(() => {});
  const r = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(r.success, "mkfifo");
};

const replaceBySymlink = async (target: string, path: string) => {
  await Deno.remove(path).catch(() => {});
  await Deno.symlink(target, path);
};

Deno.test("hostile folder_fifo: a FIFO in the folder is refused before any tool opens it", async () => {
  await refusedAtStart(
    "folder_fifo",
    (dir) => mkfifo(join(dir, "data.ts")),
    /^Cannot load plugin "folder_fifo": data\.ts: a FIFO, not a regular file$/,
  );
});

Deno.test("hostile folder_fifo: a FIFO as manifest.json is refused too (the manifest is read first)", async () => {
  await refusedAtStart(
    "folder_fifo",
    async (dir) => {
      await Deno.remove(join(dir, "manifest.json"));
      await mkfifo(join(dir, "manifest.json"));
    },
    /manifest\.json: a FIFO, not a regular file$/,
  );
});

Deno.test("hostile folder_socket: a unix socket in the folder is refused", async () => {
  let listener: Deno.Listener | undefined;
  try {
    await refusedAtStart(
      "folder_socket",
      (dir) => {
        listener = Deno.listen({ transport: "unix", path: join(dir, "data.sock") });
        return Promise.resolve();
      },
      /data\.sock: a socket, not a regular file$/,
    );
  } finally {
    listener?.close();
  }
});

Deno.test("hostile folder_symlink: a symlink leaving the folder is refused, naming it", async () => {
  await refusedAtStart(
    "folder_symlink",
    (dir) => replaceBySymlink(SECRET_TXT, join(dir, "secret.ts")),
    /^Cannot load plugin "folder_symlink": secret\.ts: a symlink that leaves the plugin folder$/,
  );
});

Deno.test("hostile folder_symlink: a symlink to a device is refused as leaving the folder", async () => {
  await refusedAtStart(
    "folder_symlink",
    (dir) => replaceBySymlink("/dev/zero", join(dir, "secret.ts")),
    /secret\.ts: a symlink that leaves the plugin folder$/,
  );
});

Deno.test("hostile folder_huge: a file over the size limit is refused before bundling", async () => {
  await refusedAtStart(
    "folder_huge",
    async (dir) => {
      const f = await Deno.open(join(dir, "data.ts"), { write: true });
      await f.truncate(64 << 20); // sparse: 64 MB to every reader, no disk used
      f.close();
    },
    /^Cannot load plugin "folder_huge": data\.ts: 67108864 bytes, more than 1048576$/,
  );
});

Deno.test("hostile folder_many: a folder over the file count is refused", async () => {
  await refusedAtStart(
    "folder_many",
    async (dir) => {
      await Deno.mkdir(join(dir, "junk"));
      for (let i = 0; i < 400; i++) await Deno.writeTextFile(join(dir, "junk", `f${i}.ts`), "");
    },
    /junk: more than 256 files and folders$/,
  );
});

Deno.test("bundlePlugin() kills a resolver past its deadline and when the host stops", async () => {
  const dir = join(ROOT, "tests/fixtures/plugins/ticker");
  const sdkDir = join(ROOT, "plugins/sdk");
  await assert.rejects(
    bundlePlugin({ id: "ticker", dir, main: "mod.ts", sdkDir, timeoutMs: 1 }),
    /Cannot bundle plugin "ticker": info took longer than 1 ms$/,
  );
  const ac = new AbortController();
  const p = bundlePlugin({ id: "ticker", dir, main: "mod.ts", sdkDir, signal: ac.signal });
  ac.abort();
  await assert.rejects(p, /the host is stopping/);
});

Deno.test("hostile discovery: a plugin added while running never holds up shutdown", async () => {
  const h = await makeHarness({ plugins: ["plugins/ticker"], watch: true });
  try {
    await copyFixture("hostile/folder_many", h.pluginsDir);
    await until(() => h.host.ids().includes("folder_many"), 10_000, "discovery");
    const t0 = performance.now();
    await h.stop();
    const ms = performance.now() - t0;
    assert.ok(ms < 10_000, `stop took ${ms} ms`);
  } finally {
    await h.close();
  }
});

Deno.test("start() returns within its budget; plugins still loading arrive later as added", async () => {
  const t0 = performance.now();
  const h = await makeHarness({
    plugins: ["plugins/ticker", "plugins/counter"],
    extra: { startBudgetMs: 1 },
  });
  const added: string[] = [];
  h.host.onChange((c) => c.kind === "added" && added.push(c.id));
  try {
    assert.ok(performance.now() - t0 < 5000);
    assert.notEqual(h.host.status("ticker").status, "running", "start() did not wait for bundling");
    await until(() => added.length === 2, 20_000, "both plugins loaded");
    assert.deepEqual(added.sort(), ["counter", "ticker"]);
    assert.equal((await h.host.poll("ticker"))[0].sensor, "ticker");
  } finally {
    await h.close();
  }
});
