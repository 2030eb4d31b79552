import assert from "node:assert/strict";
import { AUTH_FILE, AuthStore } from "./store.ts";

Deno.test("AuthStore sees another process's revoke even when the file's mtime did not move", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-auth-" });
  try {
    const cli = new AuthStore(dir);
    const hub = new AuthStore(dir);
    const { token, view } = cli.createToken("ci", ["act"], "test");
    assert.ok(hub.verifyToken(token), "the hub picks up the new token");
    const file = `${dir}/${AUTH_FILE}`;
    const before = Deno.statSync(file).mtime!;
    assert.equal(cli.revokeToken(view.id).length, 1);
    // Two writes inside one coarse kernel timestamp tick: the same mtime.
    Deno.utimeSync(file, before, before);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(hub.verifyToken(token), null, "a revoked token must stop working");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
