import assert from "node:assert/strict";
import { join } from "node:path";
import { MemoryGuard, residentBytes } from "./memory_guard.ts";

function sleeper(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
}

Deno.test("MemoryGuard's watchdog reports a resident set over the limit once", async () => {
  const child = sleeper();
  try {
    const seen: number[] = [];
    const guard = new MemoryGuard(child.pid, {
      limitBytes: 1024,
      periodMs: 20,
      onExceeded: (b) => seen.push(b),
    });
    const deadline = performance.now() + 5000;
    while (seen.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    guard.stop();
    assert.equal(seen.length, 1);
    assert.ok(seen[0] > 1024 && seen[0] === guard.peakBytes);
    assert.equal(guard.exceeded, true);
    assert.equal(guard.enforcedByKernel, false);
    assert.ok((await residentBytes(child.pid))! > 0);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("MemoryGuard joins a child cgroup with memory.max and reads the kernel's oom_kill count", async () => {
  // A stand-in for a delegated cgroup v2 folder: the guard only writes and reads its files.
  const base = await Deno.makeTempDir();
  const child = sleeper();
  try {
    const guard = new MemoryGuard(child.pid, {
      limitBytes: 64 << 20,
      periodMs: 1000,
      cgroupDir: base,
      onExceeded: () => {},
    });
    const dir = join(base, `harvester-sandbox-${child.pid}`);
    assert.equal(guard.enforcedByKernel, true);
    assert.equal(await Deno.readTextFile(join(dir, "memory.max")), String(64 << 20));
    assert.equal(await Deno.readTextFile(join(dir, "cgroup.procs")), String(child.pid));
    assert.equal(guard.exceeded, false);
    await Deno.writeTextFile(join(dir, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    assert.equal(guard.exceeded, true, "a kernel OOM kill counts as crossing the limit");
    guard.stop();
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("MemoryGuard falls back to the watchdog when the cgroup folder is not writable", async () => {
  const child = sleeper();
  try {
    const guard = new MemoryGuard(child.pid, {
      limitBytes: 64 << 20,
      cgroupDir: "/nonexistent/cgroup",
      onExceeded: () => {},
    });
    assert.equal(guard.enforcedByKernel, false);
    guard.stop();
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
