import assert from "node:assert/strict";
import { defaultShmDir, ensureOwnedDir, FileSharedState } from "./file_state.ts";
import { makeSnapshot } from "./_test_snapshot.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

Deno.test("defaultShmDir(): systemd's RuntimeDirectory, else a per-user dir in /dev/shm, else in /tmp", async () => {
  const uid = Deno.uid();
  assert.equal(defaultShmDir(env({ RUNTIME_DIRECTORY: "/run/harvester:/run/other" })), "/run/harvester");
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/shm`);
    assert.equal(defaultShmDir(env({}), `${root}/shm`, `${root}/tmp`), `${root}/shm/harvester-${uid}`);
    assert.equal(defaultShmDir(env({}), `${root}/missing`, `${root}/tmp`), `${root}/tmp/harvester-${uid}`);
    // The fallback is really used: a file backend opened there writes its snapshot there.
    const dir = defaultShmDir(env({}), `${root}/missing`, `${root}/tmp`);
    const state = new FileSharedState({ node: "fallback", dir });
    await state.write(makeSnapshot("fallback", 1));
    assert.equal((await state.read("fallback"))?.node, "fallback");
    assert.equal((await Deno.stat(`${dir}/fallback.json`)).mode! & 0o777, 0o640);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o750);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ensureOwnedDir() refuses a world-writable or foreign directory, naming it", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/open`);
    await Deno.chmod(`${root}/open`, 0o1777);
    assert.throws(() => ensureOwnedDir(`${root}/open`), {
      message: `Cannot use snapshot directory '${root}/open': writable by every user (mode 1777); ` +
        `use a directory the service owns, e.g. '${root}/open/harvester'`,
    });
    assert.throws(() => new FileSharedState({ node: "x", dir: `${root}/open` }), /writable by every user/);
    await Deno.writeTextFile(`${root}/file`, "");
    assert.throws(() => ensureOwnedDir(`${root}/file`), /Cannot use snapshot directory '.*\/file'/);
    if (Deno.uid() === 0) {
      await Deno.mkdir(`${root}/theirs`);
      await Deno.chown(`${root}/theirs`, 12345, 12345);
      assert.throws(() => ensureOwnedDir(`${root}/theirs`), /owned by uid 12345, not this service \(uid 0\)/);
    }
    ensureOwnedDir(`${root}/fresh/nested`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
