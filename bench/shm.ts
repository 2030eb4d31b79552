/**
 * Shared state: snapshot write and read cost per backend (memory, file in /dev/shm, Redis,
 * auto on Redis), for a typical snapshot (5 plugins' worth of readings). Writes include
 * schema validation and, for the file, the temp-file + rename that keeps readers from seeing
 * a torn snapshot; the peer rows show the unprotected equivalent (in-place write, raw SET).
 *
 * `deno run -A bench/shm.ts` starts its own redis-server (tests/_redis.ts).
 *
 * @module
 */
import { createSharedState, type NodeSharedState } from "../services/shm/mod.ts";
import { makeSnapshot } from "../services/shm/_test_snapshot.ts";
import { RedisConnection } from "../services/events/mod.ts";
import { startRedis } from "../tests/_redis.ts";
import { type BenchRow, median, spread } from "./row.ts";

const REPEATS = 5;
const OPS = 300;
const snapshot = makeSnapshot("bench", 1, 10);

async function perOp(fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) await fn(i);
  return ((performance.now() - t0) * 1000) / OPS;
}

/** Run the shared-state benchmark. */
export async function benchShm(): Promise<BenchRow[]> {
  const redis = await startRedis();
  const dir = await Deno.makeTempDir({ dir: "/dev/shm" }).catch(() => Deno.makeTempDir());
  const backends: [string, NodeSharedState][] = [
    ["memory", await createSharedState({ backend: "memory", node: "bench" })],
    ["file", await createSharedState({ backend: "file", node: "bench", fileDir: dir })],
    ["redis", await createSharedState({ backend: "redis", node: "bench", redisUrl: redis.url })],
    ["auto", await createSharedState({ backend: "auto", node: "bench", redisUrl: redis.url, fileDir: dir })],
  ];
  const raw = new RedisConnection({ url: redis.url });
  await raw.waitReady(5000);
  const json = JSON.stringify(snapshot);
  const peers: Record<string, { name: string; write: () => Promise<unknown>; read: () => Promise<unknown> }> =
    {
      file: {
        name: "in-place writeTextFile / readTextFile+parse",
        write: () => Deno.writeTextFile(`${dir}/peer.json`, JSON.stringify(snapshot)),
        read: async () => JSON.parse(await Deno.readTextFile(`${dir}/peer.json`)),
      },
      redis: {
        name: "raw SET / GET+parse, no validation",
        write: () => raw.client.set("peer", JSON.stringify(snapshot)),
        read: async () => JSON.parse((await raw.client.get("peer")) ?? json),
      },
    };
  const rows: BenchRow[] = [];
  try {
    for (const [name, state] of backends) {
      const w: number[] = [], r: number[] = [], pw: number[] = [], pr: number[] = [];
      const peer = peers[name];
      for (let k = 0; k < REPEATS; k++) {
        w.push(await perOp(() => state.write(snapshot)));
        r.push(await perOp(() => state.read()));
        if (peer) {
          pw.push(await perOp(peer.write));
          pr.push(await perOp(peer.read));
        }
      }
      for (const [op, xs, ps] of [["write", w, pw], ["read", r, pr]] as const) {
        const value = median(xs);
        const label = name === "auto" ? `auto→${state.kind}` : name;
        const row: BenchRow = { name: `snapshot ${op} (${label})`, value, unit: "µs/op", spread: spread(xs) };
        if (peer) Object.assign(row, { peer: peer.name, peerValue: median(ps), ratio: value / median(ps) });
        rows.push(row);
      }
    }
  } finally {
    for (const [, s] of backends) await s.close();
    await raw.close();
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  console.table(await benchShm());
}
