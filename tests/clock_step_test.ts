/**
 * Wall-clock steps against the real service (issue 13): libfaketime in the service's processes
 * only (this test process keeps the true clock), the offset read from a control file the test
 * rewrites mid-run. `DONT_FAKE_MONOTONIC=1` leaves `performance.now()` alone, as a board's NTP
 * correction would: cadence, rate limits and liveness must not notice the step.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Service, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";

/** A read-scoped credential: the hub answers nothing but the page and /health without one. */
const AUTH = { headers: { authorization: "Bearer clock-token" } };

const LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
/** The steps the issue names: an hour and 90 s, each sign. */
const STEPS = [-3600, 3600, -90, 90];

async function haveFaketime(): Promise<boolean> {
  try {
    await Deno.stat(LIB);
    return true;
  } catch {
    console.warn(`skipping: ${LIB} is missing (apt-get install libfaketime)`);
    return false;
  }
}

/** libfaketime environment reading its offset from `file` on every call. */
function fakeEnv(file: string): Record<string, string> {
  return {
    LD_PRELOAD: LIB,
    FAKETIME_TIMESTAMP_FILE: file,
    FAKETIME_NO_CACHE: "1",
    DONT_FAKE_MONOTONIC: "1",
    // Without this, libfaketime 0.9.10 takes one semaphore shared by the whole process tree around
    // every stat(); a `deno info` child that exits while holding it freezes every other process of
    // the service at its next stat (seen as a start that never became ready, about 1 in 5).
    NO_FAKE_STAT: "1",
  };
}

/** Relative offsets for libfaketime's control file ("+0", "-3600", "+90"). */
async function setOffset(file: string, seconds: number): Promise<void> {
  await Deno.writeTextFile(`${file}.tmp`, `${seconds >= 0 ? "+" : ""}${seconds}\n`);
  await Deno.rename(`${file}.tmp`, file);
}

function toml(dir: string, node: string, extra = ""): string {
  return serviceToml(node, dir, {
    cluster: { push_interval_seconds: 1 },
    hub: { token: "clock-token" },
    "plugins.dht22": { cadence_seconds: 0.5, priority: 0.5 },
  }, extra);
}

async function runs(svc: Service, plugin: string): Promise<number> {
  const res = await fetch(`${svc.url}/api/plugins`, { ...AUTH, signal: AbortSignal.timeout(3000) });
  const body = await res.json();
  const p = body.plugins.find((x: { id: string }) => x.id === plugin);
  return p?.scheduler?.runs ?? 0;
}

async function nodeStatus(svc: Service, node: string): Promise<string | undefined> {
  const res = await fetch(`${svc.url}/api/nodes`, { ...AUTH, signal: AbortSignal.timeout(3000) });
  return (await res.json()).nodes.find((n: { id: string }) => n.id === node)?.status;
}

Deno.test({
  name: "Wall-clock steps of ±1 h and ±90 s leave the poll cadence within 10 % of expected",
  sanitizeResources: false,
  ignore: !(await haveFaketime()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-clock-" });
    const file = `${dir}/faketime`;
    await setOffset(file, 0);
    const node = `clock${crypto.randomUUID().slice(0, 6)}`;
    const svc = await startService({ name: "clock-cadence", toml: toml(dir, node), env: fakeEnv(file) });
    try {
      await waitFor("dht22 runs", async () => (await runs(svc, "dht22")) >= 4, 20_000);
      const phaseMs = 5000;
      const t0 = performance.now();
      const r0 = await runs(svc, "dht22");
      const perPhase: number[] = [];
      let offset = 0;
      for (const step of STEPS) {
        offset += step;
        await setOffset(file, offset);
        const before = await runs(svc, "dht22");
        await new Promise((r) => setTimeout(r, phaseMs));
        perPhase.push((await runs(svc, "dht22")) - before);
      }
      const elapsed = performance.now() - t0;
      const total = (await runs(svc, "dht22")) - r0;
      const expected = elapsed / 500;
      const error = Math.abs(total - expected) / expected;
      console.log(
        `dht22 runs over ${Math.round(elapsed)} ms: ${total}, expected ${expected.toFixed(1)} ` +
          `(per step ${STEPS.map((s, i) => `${s}s→${perPhase[i]}`).join(", ")})`,
      );
      assert.ok(
        error <= 0.1,
        `poll count ${total} is ${(error * 100).toFixed(1)} % off ${expected.toFixed(1)}`,
      );
      for (const [i, n] of perPhase.entries()) {
        assert.ok(n >= (phaseMs / 500) * 0.7, `after the ${STEPS[i]} s step only ${n} runs in ${phaseMs} ms`);
      }
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "Wall-clock steps at the hub neither keep a stopped broker online nor age a live one",
  sanitizeResources: false,
  ignore: !(await haveFaketime()),
  fn: async () => {
    for (const step of [-3600, 3600, -90, 90]) {
      const dir = await Deno.makeTempDir({ prefix: "harvester-clock-" });
      const file = `${dir}/faketime`;
      await setOffset(file, 0);
      const node = `clock${crypto.randomUUID().slice(0, 6)}`;
      const config = toml(dir, node);
      const broker = await startService({
        name: "clock-broker",
        mode: "broker",
        toml: config,
        waitHealth: false,
      });
      const hub = await startService({
        name: "clock-hub",
        mode: "hub",
        toml: config,
        env: fakeEnv(file),
      });
      try {
        await waitFor(`${node} online`, async () => (await nodeStatus(hub, node)) === "online", 30_000);
        await setOffset(file, step);
        // A live broker stays online across the step (3 s > the 1 s push interval the hub expects).
        const until = performance.now() + 3000;
        while (performance.now() < until) {
          assert.equal(
            await nodeStatus(hub, node),
            "online",
            `live broker not online after a ${step} s step`,
          );
          await new Promise((r) => setTimeout(r, 200));
        }
        await broker.stop(true);
        const killed = performance.now();
        // Offline after 6 missed 1 s intervals; the generous deadline allows for a loaded box.
        await waitFor(`${node} offline after a ${step} s step`, async () => {
          return (await nodeStatus(hub, node)) === "offline";
        }, 20_000);
        const took = performance.now() - killed;
        console.log(`step ${step} s: offline ${Math.round(took)} ms after the broker died`);
        assert.ok(took >= 5000, `offline after ${Math.round(took)} ms, before 6 missed intervals`);
      } finally {
        await broker.stop(true);
        await hub.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  },
});
