/**
 * The siege: every hostile fixture at once beside the five first-party plugins, in the real
 * service (`main.ts start`, broker + hub in one process), for over two minutes. Throughout, the
 * service answers; every first-party sensor has fresh readings produced by its own plugin and the
 * node keeps its own identity; the broker+hub process stays within 1.5× its resident memory
 * without the hostile plugins, each sandbox within its limit; and SIGTERM ends it within budget.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskV8Flags } from "./_task_flags.ts";
import { join } from "node:path";
import { pidOf, rssMb, tree } from "./_proc.ts";
import { ROOT, type Service, startService, waitFor } from "./e2e/_helpers.ts";
import { RUNTIME_ALLOWANCE_MB } from "../services/plugin_host/sandbox.ts";
import { serviceToml } from "./_toml.ts";

/** A read-scoped credential: the hub answers nothing but the page and /health without one. */
const AUTH = { headers: { authorization: "Bearer siege-token" } };

const FIRST_PARTY = ["sdk", "bme680", "dht22", "system-monitor", "oled", "anima"];
/** First-party sensor → the plugin that must have produced it. */
const OWN: Record<string, string> = {
  bme680: "bme680",
  dht22: "dht22",
  system: "system-monitor",
  anima: "anima",
};
const SIEGE_MS = 125_000;
/** Readings older than this are stale (first-party cadence is 5 s; generous for a loaded box). */
const FRESH_MS = 25_000;
/** How far a sandbox may overshoot between two watchdog samples. */
const SAMPLE_SLACK_MB = 160;
/** The V8 flags `deno task start` runs the service with (deno.json). */
const TASK_FLAGS = taskV8Flags("start");

function toml(dir: string, node: string, extra = ""): string {
  return serviceToml(node, `${dir}/state`, {
    polling: { interval_seconds: 1 },
    shm: { backend: "memory", file_dir: undefined },
    hub: { token: "siege-token" },
  }, extra);
}

/** The hostile fixtures run with the host defaults (128 MB, 2 s deadline). */
const HOSTILE_CONFIG = "";

async function copyTree(from: string, to: string): Promise<void> {
  const r = await new Deno.Command("cp", { args: ["-r", from, to] }).output();
  assert.ok(r.success, `cp ${from}`);
}

/** A plugins folder: the first-party plugins, and with `hostile` every hostile fixture. */
async function pluginsFolder(dir: string, hostile: boolean): Promise<{ plugins: string; close: () => void }> {
  const plugins = join(dir, "plugins");
  await Deno.mkdir(plugins, { recursive: true });
  for (const id of FIRST_PARTY) await copyTree(join(ROOT, "plugins", id), join(plugins, id));
  const closers: (() => void)[] = [];
  if (hostile) {
    for await (const f of Deno.readDir(join(ROOT, "tests/fixtures/hostile"))) {
      if (!f.isDirectory) continue;
      const to = join(plugins, f.name);
      await copyTree(join(ROOT, "tests/fixtures/hostile", f.name), to);
      for await (const m of Deno.readDir(to)) {
        if (!m.name.endsWith(".ts")) continue;
        const file = join(to, m.name);
        // Installed plugins import the SDK from beside them.
        await Deno.writeTextFile(
          file,
          (await Deno.readTextFile(file)).replaceAll("../../../../plugins/sdk/", "../sdk/"),
        );
      }
    }
    // The folder hazards the liveness fixtures stand for.
    await Deno.remove(join(plugins, "folder_fifo/data.ts"));
    assert.ok(
      (await new Deno.Command("mkfifo", { args: [join(plugins, "folder_fifo/data.ts")] }).output()).success,
    );
    await Deno.remove(join(plugins, "folder_symlink/secret.ts"));
    await Deno.symlink(join(ROOT, "tests/secret/secret.txt"), join(plugins, "folder_symlink/secret.ts"));
    const huge = await Deno.open(join(plugins, "folder_huge/data.ts"), { write: true });
    await huge.truncate(64 << 20);
    huge.close();
    await Deno.mkdir(join(plugins, "folder_many/junk"));
    for (let i = 0; i < 400; i++) await Deno.writeTextFile(join(plugins, `folder_many/junk/f${i}.ts`), "");
    const sock = Deno.listen({ transport: "unix", path: join(plugins, "folder_socket/data.sock") });
    closers.push(() => sock.close());
  }
  return { plugins, close: () => closers.forEach((c) => c()) };
}

interface Reading {
  id: string;
  plugin: string;
  timestamp: string;
}

async function json<T>(svc: Service, path: string): Promise<T> {
  const res = await fetch(`${svc.url}${path}`, { ...AUTH, signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, `${path} answered ${res.status}`);
  return await res.json() as T;
}

/** First-party readings present, fresh and produced by their own plugin; the identity is anima's. */
async function checkFirstParty(svc: Service, node: string): Promise<void> {
  const { readings } = await json<{ readings: Reading[] }>(svc, "/api/readings");
  const now = Date.now();
  for (const [sensor, plugin] of Object.entries(OWN)) {
    const r = readings.find((x) => x.id === `${node}:${sensor}`);
    assert.ok(r, `no ${sensor} reading`);
    assert.equal(r.plugin, plugin, `${sensor} was produced by ${r.plugin}`);
    const age = now - Date.parse(r.timestamp);
    assert.ok(age < FRESH_MS && age > -5000, `${sensor} is ${age} ms old`);
  }
  const { nodes } = await json<{ nodes: { node?: string; identity?: { name?: string } | null }[] }>(
    svc,
    "/api/nodes",
  );
  const name = JSON.stringify(nodes.map((n) => n.identity ?? null));
  assert.ok(!name.includes("pwned"), `identity replaced: ${name}`);
}

/** Sandbox processes under the service, with their heap cap from the command line. */
function sandboxes(main: number): { pid: number; rss: number; limitMb: number }[] {
  const out: { pid: number; rss: number; limitMb: number }[] = [];
  for (const pid of tree(main)) {
    try {
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
      if (!cmd.includes("sandbox_main.ts")) continue;
      const heap = Number(cmd.match(/max-old-space-size=(\d+)/)?.[1] ?? 0);
      out.push({ pid, rss: rssMb(pid), limitMb: heap + RUNTIME_ALLOWANCE_MB });
    } catch { /* exited */ }
  }
  return out;
}

Deno.test({
  name: "siege: every hostile fixture beside the five first-party plugins for over two minutes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-siege-" });
    try {
      // Baseline: the first-party plugins alone.
      const base = await pluginsFolder(join(dir, "base"), false);
      const baseNode = `siegebase${Date.now() % 100000}`;
      const baseSvc = await startService({
        name: `siege-base-${baseNode}`,
        toml: toml(join(dir, "base"), baseNode),
        env: { HARVESTER_PLUGINS_DIR: base.plugins },
        denoFlags: TASK_FLAGS,
      });
      let baseline = 0;
      try {
        await waitFor(
          "first-party readings",
          () => checkFirstParty(baseSvc, baseNode).then(() => true),
          60_000,
        );
        const pid = pidOf(`harvester-siege-base-${baseNode}-`);
        const end = performance.now() + 20_000;
        while (performance.now() < end) {
          baseline = Math.max(baseline, rssMb(pid));
          await new Promise((r) => setTimeout(r, 1000));
        }
      } finally {
        await baseSvc.stop();
      }
      assert.ok(baseline > 0);

      // The siege.
      const hostile = await pluginsFolder(join(dir, "siege"), true);
      const node = `siege${Date.now() % 100000}`;
      const svc = await startService({
        name: `siege-${node}`,
        toml: toml(join(dir, "siege"), node, HOSTILE_CONFIG),
        env: { HARVESTER_PLUGINS_DIR: hostile.plugins },
        denoFlags: TASK_FLAGS,
      });
      let peakMain = 0;
      const over: string[] = [];
      let samples = 0;
      try {
        const main = pidOf(`harvester-siege-${node}-`);
        await waitFor(
          "first-party readings under siege",
          () => checkFirstParty(svc, node).then(() => true),
          90_000,
        );
        const end = performance.now() + SIEGE_MS;
        while (performance.now() < end) {
          const health = await json<{ ok: boolean }>(svc, "/health");
          assert.equal(health.ok, true);
          await checkFirstParty(svc, node);
          peakMain = Math.max(peakMain, rssMb(main));
          for (const s of sandboxes(main)) {
            if (s.rss > s.limitMb + SAMPLE_SLACK_MB) {
              over.push(`${s.pid}: ${s.rss.toFixed(0)} MB of ${s.limitMb}`);
            }
          }
          samples++;
          await new Promise((r) => setTimeout(r, 2000));
        }
        const { plugins } = await json<{ plugins: { id: string; status: string }[] }>(svc, "/api/plugins");
        const status = Object.fromEntries(plugins.map((p) => [p.id, p.status]));
        for (const id of Object.values(OWN)) assert.equal(status[id], "running", `${id}: ${status[id]}`);
        for (
          const id of ["steal_sensor", "steal_identity", "folder_fifo", "folder_symlink", "sandbox-main"]
        ) {
          assert.equal(status[id], "quarantined", `${id}: ${status[id]}`);
        }
        const { events } = await json<{ events: unknown[] }>(svc, "/api/events?type=plugin.flood&limit=50");
        assert.ok(events.length > 0, "floods were reported");
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- output ---\n${svc.output().slice(-4000)}`);
      } finally {
        const t0 = performance.now();
        await svc.stop();
        const stopMs = performance.now() - t0;
        hostile.close();
        console.log(
          `siege: baseline ${baseline.toFixed(0)} MB, peak ${
            peakMain.toFixed(0)
          } MB over ${samples} samples; stop ${stopMs.toFixed(0)} ms`,
        );
        assert.ok(stopMs < 5000, `SIGTERM took ${stopMs.toFixed(0)} ms (the helper SIGKILLs at 5 s)`);
        assert.match(svc.output(), /stopping \(SIGTERM\)/);
      }
      const state = [...Deno.readDirSync(join(dir, "siege/state/plugins"))].map((e) => e.name);
      assert.ok(state.some((f) => f.startsWith("anima")), `state flushed at shutdown: ${state}`);
      assert.ok(samples >= 30, `${samples} samples`);
      assert.ok(
        peakMain <= baseline * 1.5,
        `broker+hub peaked at ${peakMain.toFixed(0)} MB, baseline ${baseline.toFixed(0)} MB`,
      );
      assert.deepEqual(over, [], "sandboxes over their resident limit");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
