import assert from "node:assert/strict";
import { acquireBusLocks, BusLockError } from "./lock.ts";

/** A real second process that flocks `path` and writes its pid into it (as a second broker would). */
async function flockHolder(path: string): Promise<Deno.ChildProcess> {
  const script = `const f = Deno.openSync(${JSON.stringify(path)}, { read: true, write: true, create: true });
f.lockSync(true);
f.truncateSync(0);
f.writeSync(new TextEncoder().encode(JSON.stringify({ pid: Deno.pid })));
setTimeout(() => {}, 30000);`;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "null" }).spawn();
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try {
      if (JSON.parse(Deno.readTextFileSync(path)).pid > 0) return child;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Cannot start a flock holder on ${path}: timed out`);
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  await child.status;
}

Deno.test("acquireBusLocks() refuses a bus flocked by a live process and names its pid", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/dev_i2c-1.lock`;
  const holder = await flockHolder(path);
  try {
    const pid = JSON.parse(await Deno.readTextFile(path)).pid;
    assert.throws(
      () => acquireBusLocks(["/dev/i2c-1"], dir),
      (e: unknown) =>
        e instanceof BusLockError && e.holderPid === pid &&
        e.message.startsWith(`Cannot own /dev/i2c-1: held by broker pid ${pid}`),
    );
  } finally {
    await stop(holder);
  }
  // The holder died: the kernel dropped its lock, nothing is stale.
  const locks = acquireBusLocks(["/dev/i2c-1"], dir);
  locks.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("acquireBusLocks(): a lock file naming a live unrelated pid does not block (pid reuse)", async () => {
  const dir = await Deno.makeTempDir();
  const unrelated = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.writeTextFile(`${dir}/dev_i2c-1.lock`, JSON.stringify({ pid: unrelated.pid }));
    const locks = acquireBusLocks(["/dev/i2c-1", "sim:i2c-2"], dir);
    assert.equal(JSON.parse(await Deno.readTextFile(locks.paths[0])).pid, Deno.pid);
    assert.equal(locks.paths.length, 2);
    // While held, a second acquirer (another open file description) is refused and told our pid.
    assert.throws(() => acquireBusLocks(["/dev/i2c-1"], dir), (e: unknown) => {
      return e instanceof BusLockError && e.holderPid === Deno.pid;
    });
    locks.release();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await stop(unrelated);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireBusLocks() takes all or none", async () => {
  const dir = await Deno.makeTempDir();
  const holder = await flockHolder(`${dir}/dev_i2c-2.lock`);
  try {
    assert.throws(() => acquireBusLocks(["/dev/i2c-1", "/dev/i2c-2"], dir), BusLockError);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dev_i2c-2.lock"]);
  } finally {
    await stop(holder);
    await Deno.remove(dir, { recursive: true });
  }
});
