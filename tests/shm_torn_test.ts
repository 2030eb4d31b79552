/**
 * "A reader never sees a torn snapshot": a writer rewrites large snapshots for a while, a
 * reader parses in a loop, zero failures — for the file backend (writer in another process)
 * and for Redis. A control run with a naive in-place writer shows the reader does catch tears.
 */
import assert from "node:assert/strict";
import { FileSharedState, RedisSharedState } from "../services/shm/mod.ts";
import { makeSnapshot } from "../services/shm/_test_snapshot.ts";
import { startRedis } from "./_redis.ts";

const RUN_MS = 1500;
const READINGS = 400; // ≈ 100 KB per snapshot: wide enough for a write to be caught half done

/** Start a writer process: `atomic` uses FileSharedState, `naive` writes the target in place. */
function writerProcess(dir: string, mode: "atomic" | "naive"): Deno.ChildProcess {
  const shm = new URL("../services/shm/mod.ts", import.meta.url).href;
  const fixture = new URL("../services/shm/_test_snapshot.ts", import.meta.url).href;
  const code = `
    import { FileSharedState } from "${shm}";
    import { makeSnapshot } from "${fixture}";
    const s = new FileSharedState({ node: "w", dir: ${JSON.stringify(dir)} });
    const until = Date.now() + ${RUN_MS};
    let n = 0;
    while (Date.now() < until) {
      const snap = makeSnapshot("w", n++, ${READINGS});
      if (${JSON.stringify(mode)} === "atomic") await s.write(snap);
      else await Deno.writeTextFile(s.path(), JSON.stringify(snap));
    }
    console.log(n);
  `;
  return new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped", stderr: "inherit" })
    .spawn();
}

async function readLoop(dir: string, child: Deno.ChildProcess) {
  const reader = new FileSharedState({ node: "w", dir });
  let done = false;
  const out = child.output().then((o) => {
    done = true;
    return o;
  });
  let reads = 0, failures = 0, nulls = 0;
  while (!done) {
    let text: string;
    try {
      text = await Deno.readTextFile(reader.path());
    } catch {
      continue; // not written yet
    }
    reads++;
    try {
      JSON.parse(text);
    } catch {
      failures++;
    }
    if ((await reader.read()) === null) nulls++;
  }
  const o = await out;
  assert.equal(o.code, 0);
  return { reads, failures, nulls, writes: Number(new TextDecoder().decode(o.stdout)) };
}

Deno.test("FileSharedState: a reader in a loop never sees a torn file while another process rewrites it", async () => {
  const dir = await Deno.makeTempDir({ dir: "/dev/shm" }).catch(() => Deno.makeTempDir());
  try {
    const r = await readLoop(dir, writerProcess(dir, "atomic"));
    console.log(
      `atomic: ${r.writes} writes, ${r.reads} reads, ${r.failures} parse failures, ${r.nulls} nulls`,
    );
    assert.ok(r.writes > 20 && r.reads > 20, `enough overlap: ${JSON.stringify(r)}`);
    assert.equal(r.failures, 0);
    assert.equal(r.nulls, 0);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["w.json"], "no temp files left");

    // Control: writing the target in place does tear, so the loop above would have noticed.
    const naive = await readLoop(dir, writerProcess(dir, "naive"));
    console.log(`naive:  ${naive.writes} writes, ${naive.reads} reads, ${naive.failures} parse failures`);
    assert.ok(naive.failures > 0, "the in-place writer must be caught tearing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RedisSharedState: a reader in a loop never sees a torn snapshot while the writer rewrites it", async () => {
  const redis = await startRedis();
  const writer = new RedisSharedState({ node: "w", url: redis.url });
  const reader = new RedisSharedState({ node: "w", url: redis.url });
  try {
    assert.ok(await writer.conn.waitReady(3000) && await reader.conn.waitReady(3000));
    const until = Date.now() + RUN_MS;
    let writes = 0, reads = 0, nulls = 0;
    const writing = (async () => {
      while (Date.now() < until) await writer.write(makeSnapshot("w", writes++, READINGS));
    })();
    await writer.write(makeSnapshot("w", writes++, READINGS));
    while (Date.now() < until) {
      reads++;
      if ((await reader.read()) === null) nulls++;
    }
    await writing;
    console.log(`redis: ${writes} writes, ${reads} reads, ${nulls} failures`);
    assert.ok(writes > 20 && reads > 20);
    assert.equal(nulls, 0);
    assert.deepEqual(await reader.nodes(), ["w"]);
  } finally {
    await writer.close();
    await reader.close();
    await redis.stop();
  }
});
