/**
 * Fault injection against the real service (issue 7): Redis killed, paused and restarted under
 * a running broker + hub; the broker SIGKILLed and restarted; the hub flooded with bad pushes;
 * hostile plugins beside the good ones for many cycles.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { startRedis } from "./_redis.ts";
import { pidOf, rssMb } from "./_proc.ts";
import { ROOT, type Service, startService, waitFor } from "./e2e/_helpers.ts";

/** Reads need a token now (the hub refuses anonymous reads unless public_read is on). */
const READ_AUTH = { authorization: "Bearer fault-token" };

interface Reading {
  id: string;
  timestamp: string;
  values: Record<string, unknown>;
}

async function readings(svc: Service): Promise<Reading[]> {
  const res = await fetch(`${svc.url}/api/readings`, {
    headers: READ_AUTH,
    signal: AbortSignal.timeout(3000),
  });
  assert.equal(res.status, 200);
  return (await res.json()).readings;
}

/** The newest reading timestamp of `id`, or 0. */
async function newest(svc: Service, id: string): Promise<number> {
  const r = (await readings(svc)).find((x) => x.id === id);
  return r ? Date.parse(r.timestamp) : 0;
}

async function metric(svc: Service, name: string): Promise<number> {
  const text = await (await fetch(`${svc.url}/metrics`, { headers: READ_AUTH })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}

/** Keep asserting for `ms` that the broker still polls and the hub still answers. */
async function keepsWorking(svc: Service, sensor: string, ms: number): Promise<void> {
  const before = await newest(svc, sensor);
  const until = Date.now() + ms;
  let after = before;
  while (Date.now() < until) {
    const health = await fetch(`${svc.url}/health`, { signal: AbortSignal.timeout(3000) });
    assert.equal(health.status, 200);
    await health.body?.cancel();
    after = await newest(svc, sensor);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(
    after > before,
    `${sensor} readings stopped: ${new Date(before).toISOString()} → ${new Date(after).toISOString()}`,
  );
}

function baseToml(dir: string, extra: string): string {
  return `
[polling]
interval_seconds = 0.5

[hal]
backend = "sim"

[cluster]
node_id = "fault"

[hub]
host = "127.0.0.1"
token = "fault-token"

[state]
dir = "${dir}"

[plugins.dht22]
cadence_seconds = 0.5
priority = 0.5
${extra}`;
}

Deno.test({
  name: "Redis killed, paused and restarted: polling and the hub go on, events resume, loss is counted",
  sanitizeResources: false,
  fn: async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "harvester-fault-" });
    const svc = await startService({
      name: "fault-redis",
      toml: baseToml(
        dir,
        `\n[shm]\nbackend = "auto"\nredis_url = "${redis.url}"\nfile_dir = "${dir}/shm"\n\n[events]\nbuffer_max = 40\n`,
      ),
    });
    const client = createClient({ url: redis.url });
    client.on("error", () => {});
    try {
      await waitFor("a dht22 reading", async () => (await newest(svc, "fault:dht22")) > 0, 15_000);
      await client.connect();
      await waitFor(
        "events in the Redis stream",
        async () => (await client.xLen("harvester:stream")) > 0,
        10_000,
      );
      client.destroy();

      // Kill: the broker keeps polling, the hub keeps answering (snapshot falls back to the file).
      await redis.kill();
      await keepsWorking(svc, "fault:dht22", 4000);
      assert.ok(
        await metric(svc, "harvester_events_buffered") > 0 ||
          await metric(svc, "harvester_events_dropped_total") > 0,
      );

      // Restart (empty: no persistence): buffered events flush, new ones follow, the loss is reported.
      await redis.start();
      const c2 = createClient({ url: redis.url });
      c2.on("error", () => {});
      await c2.connect();
      try {
        const dropped = await waitFor("the events.dropped report in the stream", async () => {
          const entries = await c2.xRange("harvester:stream", "-", "+");
          const events = entries.map((e) => JSON.parse(e.message.event));
          const reports = events.filter((e) => e.type === "events.dropped");
          return reports.length ? reports : null;
        }, 15_000);
        const reported = dropped!.reduce((n: number, e: { data: { count: number } }) => n + e.data.count, 0);
        const counted = await metric(svc, "harvester_events_dropped_total");
        assert.ok(reported > 0, "the outage overflowed a 40-event buffer");
        assert.equal(reported, counted, "the loss reported in the stream is the loss counted in /metrics");
        await waitFor("readings flowing into the stream again", async () => {
          const tail = await c2.xRevRange("harvester:stream", "+", "-", { COUNT: 50 });
          return tail.some((e) => JSON.parse(e.message.event).type === "reading");
        }, 10_000);

        // Pause (SIGSTOP): a hung Redis must not hang the broker or the hub.
        redis.pause();
        await keepsWorking(svc, "fault:dht22", 4000);
        redis.resume();
        const lenBefore = await c2.xLen("harvester:stream");
        await waitFor(
          "events after SIGCONT",
          async () => (await c2.xLen("harvester:stream")) > lenBefore,
          15_000,
        );
      } finally {
        c2.destroy();
      }
    } finally {
      redis.resume();
      await svc.stop();
      await redis.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("broker SIGKILLed and restarted: plugin state comes back from the last persisted copy, no temp files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-fault-" });
  const toml = baseToml(dir, `\n[shm]\nbackend = "file"\nfile_dir = "${dir}/shm"\n`);
  const awakenings = async (svc: Service) =>
    await waitFor("anima's identity", async () => {
      const r = (await readings(svc)).find((x) => x.id === "fault:anima");
      return r ? Number(r.values.awakenings) : null;
    }, 15_000);
  try {
    const first = await startService({ name: "fault-kill-1", toml });
    assert.equal(await awakenings(first), 1);
    await first.stop(); // graceful: persists awakenings = 1
    const second = await startService({ name: "fault-kill-2", toml });
    assert.equal(await awakenings(second), 2);
    await second.stop(true); // SIGKILL: awakenings = 2 never reached the disk
    const third = await startService({ name: "fault-kill-3", toml });
    try {
      assert.equal(
        await awakenings(third),
        2,
        "restored from the last persisted copy (1), then woke once more",
      );
    } finally {
      await third.stop();
    }
    const stray = [...Deno.readDirSync(`${dir}/plugins`), ...Deno.readDirSync(`${dir}/shm`)]
      .map((e) => e.name).filter((n) => /tmp|~|\.partial/.test(n));
    assert.deepEqual(stray, []);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: "hub flooded with 10 000 bad pushes of every kind: no crash, bounded memory, good pushes accepted",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-fault-" });
    const svc = await startService({
      name: "fault-flood",
      toml: baseToml(
        dir,
        `\n[shm]\nbackend = "memory"\n\n[cluster.spoke_tokens]\nspoke9 = "spoke9-token"\n`,
      ).replace('node_id = "fault"', 'node_id = "fault"\nrole = "hub"')
        .replace('token = "fault-token"', 'token = "fault-token"\nbody_limit_bytes = 65536'),
    });
    try {
      const pid = pidOf(`--port\u0000${svc.port}\u0000`);
      const push = (body: BodyInit, headers: Record<string, string> = {}) =>
        fetch(`${svc.url}/push`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer spoke9-token", ...headers },
          body,
        }).then(async (r) => {
          await r.body?.cancel();
          return r.status;
        });
      const snapshot = (node: string, t: number) => ({
        timestamp: new Date(t).toISOString(),
        node,
        cycle: t % 100000,
        readings: {
          [`${node}:probe`]: {
            id: `${node}:probe`,
            node,
            sensor: "probe",
            plugin: "probe",
            values: { n: t },
            units: {},
            timestamp: new Date(t).toISOString(),
          },
        },
        plugins: {},
        leds: [],
        anima: null,
        identity: null,
        oled: null,
      });
      const good = () => JSON.stringify({ node: "spoke9", snapshots: [snapshot("spoke9", Date.now())] });
      const bad: (() => [BodyInit, Record<string, string>?])[] = [
        () => ["{not json"],
        () => ["[]"],
        () => ['{"node": 42}'],
        () => [JSON.stringify({ node: "spoke9", snapshots: "nope" })],
        () => [good(), { authorization: "Bearer wrong" }],
        () => [good(), { authorization: "" }],
        () => [JSON.stringify({ node: "intruder", snapshots: [snapshot("intruder", Date.now())] })],
        () => [JSON.stringify({ node: "spoke9", snapshots: [snapshot("other", Date.now())] })],
        () => ["x".repeat(100_000)],
        () => [
          JSON.stringify({ node: "spoke9", snapshots: [{ ...snapshot("spoke9", Date.now()), readings: 5 }] }),
        ],
      ];
      assert.equal(await push(good()), 200, "a good push is accepted before the flood");
      let sent = 0;
      const statuses = new Map<number, number>();
      let goodAccepted = 0;
      const worker = async (total: number) => {
        while (sent < total) {
          const i = sent++;
          if (i % 500 === 0) {
            if (await push(good()) === 200) goodAccepted++;
            continue;
          }
          const kind = i % bad.length;
          const [body, headers] = bad[kind]();
          // An oversized body may be cut off by the server's 413 before the client finished sending.
          const s = await push(body, headers ?? {}).catch(() => (kind === 8 ? 413 : -1));
          statuses.set(s, (statuses.get(s) ?? 0) + 1);
        }
      };
      const flood = (total: number) => Promise.all(Array.from({ length: 16 }, () => worker(total)));
      const rssStart = rssMb(pid);
      await flood(10_000);
      const rssFirst = rssMb(pid);
      assert.equal(goodAccepted, 20, "every good push in between was accepted");
      // Bounded, not just lazily collected: a second flood of the same size must not grow it again.
      await flood(20_000);
      const rssSecond = rssMb(pid);
      assert.equal(goodAccepted, 40);
      assert.ok(
        ![...statuses.keys()].some((s) => s >= 500 || s === -1),
        `statuses ${JSON.stringify([...statuses])}`,
      );
      assert.ok(
        statuses.has(400) && statuses.has(401) && statuses.has(413),
        `statuses ${JSON.stringify([...statuses])}`,
      );
      assert.ok(
        rssSecond - rssFirst < 40 && rssSecond < 400,
        `RSS ${rssStart.toFixed(0)} MB → ${rssFirst.toFixed(0)} MB after 10 000 → ${
          rssSecond.toFixed(0)
        } MB after 20 000`,
      );
      console.log(
        `flood RSS: ${rssStart.toFixed(0)} MB → ${rssFirst.toFixed(0)} MB (10k) → ${
          rssSecond.toFixed(0)
        } MB (20k)`,
      );
      const ids = (await readings(svc)).map((r) => r.id);
      assert.ok(ids.includes("spoke9:probe"), "the spoke's pushed reading is served");
      const health = await fetch(`${svc.url}/health`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "hostile plugins beside the good ones for many cycles: good readings keep arriving on schedule",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-fault-" });
    const plugins = `${dir}/plugins`;
    await Deno.mkdir(plugins);
    const copy = async (from: string, to: string) => {
      await new Deno.Command("cp", { args: ["-r", from, to] }).output();
    };
    for (const id of ["sdk", "dht22", "system-monitor", "bme680"]) {
      await copy(`${ROOT}plugins/${id}`, `${plugins}/${id}`);
    }
    const hostile = ["busy_loop", "alloc", "throw_poll", "flood", "denied", "read_file", "eval_direct"];
    for (const id of hostile) {
      await copy(`${ROOT}tests/fixtures/hostile/${id}`, `${plugins}/${id}`);
      // The fixtures import the SDK from the repo; installed plugins import it from beside them.
      const mod = `${plugins}/${id}/mod.ts`;
      await Deno.writeTextFile(
        mod,
        (await Deno.readTextFile(mod)).replaceAll("../../../../plugins/sdk/", "../sdk/"),
      );
    }
    const svc = await startService({
      name: "fault-hostile",
      toml: baseToml(dir, `\n[shm]\nbackend = "memory"\n`),
      env: { HARVESTER_PLUGINS_DIR: plugins },
    });
    try {
      const seen: number[] = [];
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        const t = await newest(svc, "fault:dht22");
        if (t && t !== seen.at(-1)) seen.push(t);
        await new Promise((r) => setTimeout(r, 200));
      }
      const gaps = seen.slice(1).map((t, i) => t - seen[i]);
      assert.ok(seen.length >= 15, `dht22 produced ${seen.length} readings in 20 s at a 0.5 s cadence`);
      assert.ok(Math.max(...gaps) < 3000, `largest gap between dht22 readings ${Math.max(...gaps)} ms`);
      const { plugins: status } = await (await fetch(`${svc.url}/api/plugins`, { headers: READ_AUTH }))
        .json();
      const byId = Object.fromEntries(status.map((p: { id: string }) => [p.id, p]));
      for (const id of ["dht22", "system-monitor", "bme680"]) assert.equal(byId[id].status, "running", id);
      for (const id of ["busy_loop", "alloc", "throw_poll"]) {
        assert.ok(
          byId[id].restarts > 0 || ["backoff", "quarantined"].includes(byId[id].status),
          `${id}: ${JSON.stringify(byId[id])}`,
        );
      }
      for (const type of ["plugin.denied", "plugin.error", "plugin.quarantine"]) {
        const { events } =
          await (await fetch(`${svc.url}/api/events?type=${type}&limit=5`, { headers: READ_AUTH })).json();
        assert.ok(events.length > 0, `no ${type} event`);
      }
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
