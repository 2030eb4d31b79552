/**
 * Storage faults against the real service (issue 13), on a tmpfs this test mounts (it needs
 * root; without `mount` it skips with a message): a read-only snapshot or state dir refuses
 * start-up naming the key; a full snapshot dir is logged once with path and cause, raises
 * `storage.error`, shows in `/health` (503 once no snapshot was written for 3 intervals) and
 * recovers with one more line; a full state dir at shutdown is spoken, not silent. Also the
 * broker alone (no HTTP) answers `health` on its control socket and writes it into its snapshot.
 *
 * @module
 */
import assert from "node:assert/strict";
import { UnixCommandClient } from "../services/link/mod.ts";
import { ROOT, type Service, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";

/** A read-scoped credential: the hub answers nothing but the page and /health without one. */
const AUTH = { headers: { authorization: "Bearer test-read-token" } };

async function run(cmd: string, ...args: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
  } catch (e) {
    return { ok: false, err: String(e) };
  }
}

/** Mount a tmpfs at a fresh dir; null (with a message) when this machine cannot. */
async function tmpfs(options: string): Promise<{ dir: string; umount: () => Promise<void> } | null> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-tmpfs-" });
  // mode=0750: a tmpfs root is 1777 by default, which the snapshot dir check rightly refuses.
  const r = await run("mount", "-t", "tmpfs", "-o", `mode=0750,${options}`, "tmpfs", dir);
  if (!r.ok) {
    console.warn(`skipping: cannot mount a tmpfs (${r.err.trim()}); run as root`);
    await Deno.remove(dir).catch(() => {});
    return null;
  }
  return {
    dir,
    umount: async () => {
      await run("umount", "-l", dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Fill `dir` until the filesystem is full. */
async function fill(dir: string): Promise<void> {
  const f = await Deno.open(`${dir}/filler`, { write: true, create: true });
  const chunk = new Uint8Array(4096);
  try {
    while (true) await f.write(chunk);
  } catch (e) {
    if (!String(e).includes("No space")) throw e;
  } finally {
    f.close();
  }
}

function toml(node: string, stateDir: string, fileDir: string, extra = ""): string {
  return serviceToml(
    node,
    stateDir,
    { hub: { token: "test-read-token" }, shm: { file_dir: fileDir } },
    extra,
  );
}

const node = () => `st${crypto.randomUUID().slice(0, 6)}`;

async function startExpectingFailure(config: string): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-storage-" });
  await Deno.writeTextFile(`${dir}/host.toml`, config);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "main.ts", "start", "--port", "0", "--config", `${dir}/host.toml`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  await Deno.remove(dir, { recursive: true });
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name: "A read-only snapshot dir or state dir refuses start-up naming the key",
  sanitizeResources: false,
  fn: async () => {
    const ro = await tmpfs("ro,size=1m");
    if (!ro) return;
    const rw = await Deno.makeTempDir({ prefix: "harvester-storage-" });
    try {
      const a = await startExpectingFailure(toml(node(), rw, ro.dir));
      assert.equal(a.code, 3, a.stderr);
      assert.match(
        a.stderr,
        new RegExp(`shm\\.file_dir: cannot write to "${ro.dir}": .*Read-only file system`),
      );
      const b = await startExpectingFailure(toml(node(), ro.dir, rw));
      assert.equal(b.code, 3, b.stderr);
      assert.match(b.stderr, new RegExp(`state\\.dir: cannot write to "${ro.dir}": .*Read-only file system`));
    } finally {
      await ro.umount();
      await Deno.remove(rw, { recursive: true }).catch(() => {});
    }
  },
});

interface HealthBody {
  ok: boolean;
  status: string;
  components: Record<string, { status: string; reason: string | null; since: string }>;
}

async function health(svc: Service): Promise<{ status: number; body: HealthBody }> {
  const res = await fetch(`${svc.url}/health`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

Deno.test({
  name: "A full snapshot dir is spoken once, raises storage.error, turns /health 503, and recovers",
  sanitizeResources: false,
  fn: async () => {
    const fs = await tmpfs("size=256k");
    if (!fs) return;
    const state = await Deno.makeTempDir({ prefix: "harvester-storage-" });
    const id = node();
    let svc: Service | null = null;
    try {
      svc = await startService({ name: "storage-full", toml: toml(id, state, fs.dir) });
      const s = svc;
      await waitFor(
        "a healthy node",
        async () => (await health(s)).body.components?.snapshot?.status === "ok",
      );
      await fill(fs.dir);
      // Degraded at once (the cause), down after 3 missed intervals: the node cannot do its job.
      const down = await waitFor("/health 503", async () => {
        const h = await health(s);
        return h.status === 503 ? h : null;
      }, 20_000);
      const snap = down!.body.components.snapshot;
      assert.equal(snap.status, "down");
      assert.match(
        snap.reason ?? "",
        /^no snapshot written for \d+ intervals of 500 ms \(last: Cannot write snapshot file/,
      );
      assert.match(snap.reason ?? "", /No space left on device/);
      assert.ok(Number.isFinite(Date.parse(snap.since)));
      const { events } = await (await fetch(`${s.url}/api/events?type=storage.error`, AUTH)).json();
      assert.equal(events.length, 1, "one storage.error per episode");
      assert.equal(events[0].data.component, "snapshot");
      assert.equal(events[0].data.path, `${fs.dir}/${id}.json`);
      assert.match(events[0].data.message, /No space left on device/);
      const metrics = await (await fetch(`${s.url}/metrics`, AUTH)).text();
      assert.match(metrics, /^harvester_component_up\{component="snapshot"\} 0$/m);
      // Many failed cycles later: still one line.
      await new Promise((r) => setTimeout(r, 2000));
      const out = s.output();
      assert.equal(
        count(out, `storage: snapshot: Cannot write snapshot file '${fs.dir}/${id}.json'`),
        1,
        out,
      );
      assert.match(out, /health: snapshot is down: no snapshot written for \d+ intervals/);

      await Deno.remove(`${fs.dir}/filler`);
      await waitFor("/health 200 again", async () => {
        const h = await health(s);
        return h.status === 200 && h.body.components.snapshot.status === "ok";
      }, 20_000);
      assert.equal(count(s.output(), "storage: snapshot: writes work again after"), 1);
      const m2 = await (await fetch(`${s.url}/metrics`, AUTH)).text();
      assert.match(m2, /^harvester_component_up\{component="snapshot"\} 1$/m);
    } finally {
      await svc?.stop();
      await fs.umount();
      await Deno.remove(state, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "A full state dir at shutdown is spoken: the lost plugin state is named with path and cause",
  sanitizeResources: false,
  fn: async () => {
    const fs = await tmpfs("size=512k");
    if (!fs) return;
    const shm = await Deno.makeTempDir({ prefix: "harvester-storage-" });
    let svc: Service | null = null;
    try {
      svc = await startService({ name: "storage-state", toml: toml(node(), fs.dir, shm) });
      const s = svc;
      // anima keeps state (its awakenings): wait until it has run, then fill the state dir.
      await waitFor("anima ran", async () => {
        const { plugins } = await (await fetch(`${s.url}/api/plugins`, AUTH)).json();
        return plugins.some((p: { id: string; lastPollAt: string | null }) =>
          p.id === "anima" && p.lastPollAt
        );
      }, 30_000);
      await fill(fs.dir);
      await s.stop();
      const out = s.output();
      assert.match(
        out,
        new RegExp(
          `storage: plugin state: Cannot persist state of plugin "anima": .*No space left on device.*${fs.dir}`,
        ),
        out.slice(-3000),
      );
      assert.equal(count(out, `storage: plugin state: Cannot persist state of plugin "anima"`), 1);
      svc = null;
    } finally {
      await svc?.stop();
      await fs.umount();
      await Deno.remove(shm, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "The broker alone (no HTTP) tells its health over the control socket and in its snapshot",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-storage-" });
    const id = node();
    const broker = await startService({
      name: "storage-broker",
      mode: "broker",
      toml: toml(id, dir, `${dir}/shm`),
      waitHealth: false,
    });
    const client = new UnixCommandClient({ path: `${dir}/control-${id}.sock` });
    try {
      const result = await waitFor("a health answer", async () => {
        const r = await client.send(id, { type: "health" }, 3000);
        return r.ok ? r : null;
      }, 30_000);
      const report = result!.data as {
        status: string;
        serving: boolean;
        components: HealthBody["components"];
      };
      assert.equal(report.serving, true);
      for (const c of ["scheduler", "plugins", "snapshot"]) assert.ok(report.components[c], `${c} reported`);
      assert.equal(report.components.snapshot.status, "ok");
      const snapshot = JSON.parse(await Deno.readTextFile(`${dir}/shm/${id}.json`));
      assert.equal(snapshot.health.components.scheduler.status, "ok");
    } finally {
      await client.close();
      await broker.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "A full history disk is 'not recording' in /health (degraded, 200), said once, and the hub goes on",
  sanitizeResources: false,
  fn: async () => {
    const fs = await tmpfs("size=512k");
    if (!fs) return;
    const state = await Deno.makeTempDir({ prefix: "harvester-storage-" });
    const id = node();
    let svc: Service | null = null;
    try {
      svc = await startService({
        name: "history-full",
        toml: toml(id, state, `${state}/shm`, `\n[history]\npath = "${fs.dir}/history.db"\n`),
      });
      const s = svc;
      await waitFor("recording", async () => (await health(s)).body.components?.recorder?.status === "ok");
      await fill(fs.dir);
      const h = await waitFor("the recorder degraded", async () => {
        const r = await health(s);
        return r.body.components?.recorder?.status === "degraded" ? r : null;
      }, 30_000);
      assert.equal(h!.status, 200, "the node still does its job");
      assert.match(String(h!.body.components.recorder.reason), /^not recording: .*(full|disk)/i);
      const readings = await (await fetch(`${s.url}/api/readings`, AUTH)).json();
      assert.ok(readings.readings.length > 0, "readings still flow");
      await new Promise((r) => setTimeout(r, 2000));
      const said = s.output().split("\n").filter((l) => /history: Cannot write/.test(l));
      assert.equal(said.length, 1, said.join("\n"));
    } finally {
      await svc?.stop();
      await fs.umount();
      await Deno.remove(state, { recursive: true }).catch(() => {});
    }
  },
});
