/**
 * Hostile pushes against a real hub process (issue 13): forged node ids, far-future and far-past
 * timestamps, unknown fields 20 000 deep, huge values and 300 max-size pushes. Each is refused
 * (400 naming the field) or clamped; the hub's own node and another spoke stay untouched; the
 * hub's resident set stays bounded; `/api/events` answers stay capped with a cursor.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskV8Flags } from "./_task_flags.ts";
import { pidOf, rssMb } from "./_proc.ts";
import { type Service, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";

/** A read-scoped credential: the hub answers nothing but the page and /health without one. */
const AUTH = { headers: { authorization: "Bearer hub-token" } };

const HUB = `ih${crypto.randomUUID().slice(0, 6)}`;
const SPOKE = "evil";
const OTHER = "good";
const TOKENS: Record<string, string> = { [SPOKE]: "evil-token", [OTHER]: "good-token" };

function toml(dir: string): string {
  return serviceToml(HUB, dir, {
    cluster: { role: "hub" },
    "cluster.spoke_tokens": { [SPOKE]: TOKENS[SPOKE], [OTHER]: TOKENS[OTHER] },
    hub: { token: "hub-token" },
    shm: { backend: "memory", file_dir: undefined },
  });
}

type Json = Record<string, unknown>;

function reading(node: string, sensor: string, values: Json, ts = new Date().toISOString()): Json {
  return { id: `${node}:${sensor}`, node, sensor, plugin: sensor, values, units: {}, timestamp: ts };
}

function snapshot(node: string, cycle: number, readings: Json[], ts = new Date().toISOString()): Json {
  return {
    timestamp: ts,
    node,
    cycle,
    readings: Object.fromEntries(readings.map((r) => [r.id as string, r])),
    plugins: {},
    leds: [],
    anima: null,
    identity: null,
    oled: null,
  };
}

async function push(
  svc: Service,
  node: string,
  body: Json | string,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${svc.url}/push`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKENS[node]}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

const batch = (node: string, ...snapshots: Json[]) => ({ node, snapshots });

async function readings(svc: Service): Promise<Array<Json & { id: string }>> {
  const res = await fetch(`${svc.url}/api/readings`, { ...AUTH, signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return (await res.json()).readings;
}

Deno.test({
  name: "Hub ingest refuses or clamps hostile pushes and leaves other nodes untouched",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-ingest-" });
    const svc = await startService({ name: "ingest-hub", mode: "hub", toml: toml(dir) });
    try {
      let cycle = 1;
      assert.equal(
        (await push(svc, OTHER, batch(OTHER, snapshot(OTHER, 1, [reading(OTHER, "t", { t: 20 })])))).status,
        200,
      );
      assert.equal(
        (await push(svc, SPOKE, batch(SPOKE, snapshot(SPOKE, cycle++, [reading(SPOKE, "t", { t: 1 })]))))
          .status,
        200,
      );
      const before = await readings(svc);

      // A reading under another node's id (the hub's own, another spoke's): refused, naming the field.
      for (const victim of [HUB, OTHER]) {
        const forged = reading(victim, "t", { t: 666 });
        const r = await push(svc, SPOKE, batch(SPOKE, snapshot(SPOKE, cycle++, [forged])));
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.field, `snapshots.0.readings.${victim}:t.node`);
        assert.match(String(r.body.error), /must be "evil"/);
      }
      // Refusals show in /health as "hub ingest" degraded (the hub still serves: 200).
      const h = await fetch(`${svc.url}/health`);
      assert.equal(h.status, 200);
      const ingest = (await h.json()).components["hub ingest"];
      assert.equal(ingest.status, "degraded");
      assert.match(ingest.reason, /^last push refused \(400: Cannot accept body: 'snapshots\.0\.readings\./);
      // The right node but another's id, or a key that is not the id.
      const wrongId = { ...reading(SPOKE, "t", { t: 666 }), id: `${OTHER}:t` };
      let r = await push(svc, SPOKE, batch(SPOKE, snapshot(SPOKE, cycle++, [wrongId])));
      assert.equal(r.status, 400);
      assert.equal(r.body.field, `snapshots.0.readings.${OTHER}:t.id`);

      // Huge, non-finite-like and non-UTC values: refused, naming the field.
      r = await push(svc, SPOKE, batch(SPOKE, snapshot(SPOKE, cycle++, [reading(SPOKE, "t", { t: 1e300 })])));
      assert.equal(r.status, 400);
      assert.equal(r.body.field, `snapshots.0.readings.${SPOKE}:t.values.t`);
      r = await push(
        svc,
        SPOKE,
        `{"node":"${SPOKE}","snapshots":[${
          JSON.stringify(snapshot(SPOKE, cycle++, [reading(SPOKE, "t", { t: 0 })])).replace(
            '"t":0',
            '"t":1e999',
          )
        }]}`,
      );
      assert.equal(r.status, 400, "1e999 (Infinity once parsed) is refused");
      r = await push(
        svc,
        SPOKE,
        batch(SPOKE, snapshot(SPOKE, cycle++, [reading(SPOKE, "t", { t: 2 }, "2026-01-01T00:00:00+02:00")])),
      );
      assert.equal(r.status, 400);
      assert.equal(r.body.field, `snapshots.0.readings.${SPOKE}:t.timestamp`);
      assert.match(String(r.body.problem), /ISO 8601 UTC/);

      // Far past: refused. Far future (9999): clamped to the hub's receive time, data not frozen.
      r = await push(svc, SPOKE, batch(SPOKE, snapshot(SPOKE, cycle++, [], "1970-01-01T00:00:00.000Z")));
      assert.equal(r.status, 400);
      assert.equal(r.body.field, "snapshots.0.timestamp");
      const future = "9999-12-31T23:59:59.000Z";
      r = await push(
        svc,
        SPOKE,
        batch(SPOKE, snapshot(SPOKE, cycle++, [reading(SPOKE, "t", { t: 9 }, future)], future)),
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      let mine = (await readings(svc)).find((x) => x.id === `${SPOKE}:t`)!;
      assert.equal(mine.values && (mine.values as Json).t, 9);
      assert.ok(Date.parse(String(mine.timestamp)) <= Date.now() + 60_000, `clamped: ${mine.timestamp}`);
      assert.ok(Number.isFinite(Date.parse(String(mine.received_at))), "receive time recorded");
      r = await push(svc, SPOKE, batch(SPOKE, snapshot(SPOKE, cycle++, [reading(SPOKE, "t", { t: 10 })])));
      assert.equal(r.status, 200);
      mine = (await readings(svc)).find((x) => x.id === `${SPOKE}:t`)!;
      assert.equal((mine.values as Json).t, 10, "a 9999 snapshot does not freeze the spoke's data");
      const healthy = await (await fetch(`${svc.url}/health`)).json();
      assert.equal(healthy.components["hub ingest"].status, "ok", "an accepted push clears it");

      // Unknown fields 20 000 deep: stripped, /api/readings stays parseable and small.
      const deep = "[".repeat(20_000) + "]".repeat(20_000);
      const s = JSON.stringify(snapshot(SPOKE, cycle++, [reading(SPOKE, "t", { t: 11 })]));
      const body = `{"node":"${SPOKE}","junk":${deep},"snapshots":[${
        s.slice(0, -1)
      },"extra":${deep},"readings_x":1}]}`.replace(`"plugin":"t",`, `"plugin":"t","hidden":${deep},`);
      r = await push(svc, SPOKE, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const text = await (await fetch(`${svc.url}/api/readings`, AUTH)).text();
      const parsed = JSON.parse(text);
      assert.ok(text.length < 10_000, `/api/readings is ${text.length} bytes`);
      assert.ok(!text.includes("hidden") && !text.includes("[[["), "unknown fields are not re-served");
      assert.equal(parsed.readings.find((x: Json) => x.id === `${SPOKE}:t`).values.t, 11);
      const nodes = await (await fetch(`${svc.url}/api/nodes`, AUTH)).text();
      assert.ok(!nodes.includes("[[["), "nor in /api/nodes");

      // Other nodes untouched throughout.
      const after = await readings(svc);
      for (const id of [`${OTHER}:t`]) {
        const a = after.find((x) => x.id === id)!;
        const b = before.find((x) => x.id === id)!;
        assert.deepEqual(a.values, b.values, `${id} untouched`);
      }
      assert.ok(!after.some((x) => x.values && (x.values as Json).t === 666), "no forged value entered");
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "Hub RSS stays within +64 MB over 300 max-size pushes; /api/events answers are byte-capped with a cursor",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-ingest-" });
    // `deno task hub`'s V8 flags (deno.json). The heap cap matters: without one, V8 on a large
    // machine lets garbage pile up to its default heap size before collecting (measured +100 MB
    // of plateau here); with it, what remains is what the hub holds, and a leak shows as growth,
    // then as an out-of-memory crash.
    const flags = taskV8Flags("hub");
    const svc = await startService({ name: "ingest-rss", mode: "hub", toml: toml(dir), denoFlags: flags });
    try {
      const pid = pidOf(`--port\u0000${svc.port}\u0000`);
      // The largest push the defaults admit: ~1 MB body, 250 readings near the 4 KiB reading budget.
      const big = (cycle: number) => {
        const rs = Array.from(
          { length: 250 },
          (_, i) =>
            reading(SPOKE, `s${i}`, {
              a: "a".repeat(1000),
              b: "b".repeat(1000),
              c: "c".repeat(1000),
              d: "d".repeat(900),
              n: cycle,
            }),
        );
        return JSON.stringify(batch(SPOKE, snapshot(SPOKE, cycle, rs)));
      };
      const size = big(1).length;
      assert.ok(size > 900_000 && size < 1_048_576, `push is ${size} bytes`);
      // Warm up until the event ring is full and the heap has found its size: growth after that is a leak.
      for (let i = 1; i <= 50; i++) assert.equal((await push(svc, SPOKE, big(i))).status, 200);
      const base = rssMb(pid);
      let peak = base;
      for (let i = 51; i <= 350; i++) {
        const r = await push(svc, SPOKE, big(i));
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
        if (i % 20 === 0) peak = Math.max(peak, rssMb(pid));
      }
      const end = rssMb(pid);
      peak = Math.max(peak, end);
      console.log(
        `hub RSS over 300 pushes of ${size} B: ${base.toFixed(0)} → peak ${peak.toFixed(0)} MB, end ${
          end.toFixed(0)
        } MB`,
      );
      assert.ok(peak - base <= 64, `hub grew ${(peak - base).toFixed(0)} MB`);

      // The event log now holds far more than one answer may carry: capped, and the cursor pages on.
      const first = await fetch(`${svc.url}/api/events?type=reading&limit=1000`, AUTH);
      const page1 = await first.text();
      assert.equal(first.status, 200);
      assert.ok(page1.length <= 1_048_576 + 64 * 1024, `answer is ${page1.length} bytes`);
      const p1 = JSON.parse(page1);
      assert.equal(p1.truncated, true);
      assert.equal(p1.next, p1.events.at(-1).id);
      const p2 = await (await fetch(`${svc.url}/api/events?type=reading&limit=1000&since=${p1.next}`, AUTH))
        .json();
      assert.ok(p2.events.length > 0);
      assert.ok(p2.events[0].id > p1.next || p2.events[0].id !== p1.events.at(-1).id, "the cursor moves on");
      await waitFor("the hub still answers /health", async () => (await fetch(`${svc.url}/health`)).ok, 5000);
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
