import assert from "node:assert/strict";
import { acquireBusLocks, BusLockError } from "./lock.ts";

Deno.test("acquireBusLocks() refuses a bus held by a live process and names its pid", async () => {
  const dir = await Deno.makeTempDir();
  // A real second process holds the lock file (as a second broker would).
  const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.writeTextFile(`${dir}/dev_i2c-1.lock`, JSON.stringify({ pid: holder.pid }));
    assert.throws(
      () => acquireBusLocks(["/dev/i2c-1"], dir),
      (e: unknown) =>
        e instanceof BusLockError && e.holderPid === holder.pid &&
        e.message.startsWith(`Cannot own /dev/i2c-1: held by broker pid ${holder.pid}`),
    );
  } finally {
    holder.kill();
    await holder.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireBusLocks() takes over a stale lock and release() removes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/dev_i2c-1.lock`, JSON.stringify({ pid: 999_999_99 }));
    const locks = acquireBusLocks(["/dev/i2c-1", "sim:i2c-2"], dir);
    assert.equal(JSON.parse(await Deno.readTextFile(locks.paths[0])).pid, Deno.pid);
    assert.equal(locks.paths.length, 2);
    locks.release();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireBusLocks() takes all or none", async () => {
  const dir = await Deno.makeTempDir();
  const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.writeTextFile(`${dir}/dev_i2c-2.lock`, JSON.stringify({ pid: holder.pid }));
    assert.throws(() => acquireBusLocks(["/dev/i2c-1", "/dev/i2c-2"], dir), BusLockError);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dev_i2c-2.lock"]);
  } finally {
    holder.kill();
    await holder.status;
    await Deno.remove(dir, { recursive: true });
  }
});
