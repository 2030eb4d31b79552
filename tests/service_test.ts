/**
 * The service as a user starts it: `main.ts start|broker|hub` as real child processes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { startRedis } from "./_redis.ts";
import { freePort, runMain, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";

/** Reads need a token now (the hub refuses anonymous reads unless public_read is on). */
const READ_AUTH = { authorization: "Bearer svc-token" };

function toml(stateDir: string, extra = ""): string {
  return serviceToml("svc", stateDir, { hub: { token: "svc-token" }, buzzer: { min_interval_ms: 0 } }, extra);
}

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const r = await runMain(args, env);
  return { code: r.code, out: r.stdout + r.stderr };
}

Deno.test("main.ts start serves simulated BME680, DHT22 and system readings within 10 s", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-svc-" });
  const svc = await startService({ name: "start", toml: toml(dir) });
  try {
    const sensors = await waitFor("BME680, DHT22 and system readings", async () => {
      const body = await (await fetch(`${svc.url}/api/readings`, { headers: READ_AUTH })).json();
      const ids = body.readings.map((r: { id: string }) => r.id);
      return ["svc:bme680", "svc:dht22", "svc:system"].every((id) => ids.includes(id)) ? body.readings : null;
    }, 10_000);
    const bme = sensors.find((r: { id: string }) => r.id === "svc:bme680");
    assert.ok(
      bme.values.temperature > 15 && bme.values.temperature < 30,
      `room temperature ${bme.values.temperature}`,
    );
    assert.ok(bme.values.pressure > 950 && bme.values.pressure < 1080, `pressure ${bme.values.pressure}`);
    const health = await (await fetch(`${svc.url}/health`)).json();
    assert.equal(health.ok, true);
    // The dashboard answers on the same port.
    const page = await fetch(`${svc.url}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>HARVESTER<\/title>/);
    // The page is the same for everyone and holds no credential.
    assert.doesNotMatch(html, /svc-token|harvester-token|Bearer|hvt_/);
    // A command goes hub → broker → buzzer and comes back as an event.
    const beep = await fetch(`${svc.url}/api/buzzer`, {
      method: "POST",
      headers: { authorization: "Bearer svc-token", "content-type": "application/json" },
      body: JSON.stringify({ pattern: "single" }),
    });
    assert.equal(beep.status, 200, await beep.clone().text());
    await waitFor("buzzer event", async () => {
      const { events } =
        await (await fetch(`${svc.url}/api/events?type=buzzer&limit=5`, { headers: READ_AUTH })).json();
      return events.length > 0;
    }, 5000);
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("main.ts stops gracefully on SIGTERM: plugin state persisted, LEDs off in the last snapshot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-svc-" });
  const svc = await startService({ name: "stop", toml: toml(dir) });
  try {
    await waitFor("a reading", async () => {
      const body = await (await fetch(`${svc.url}/api/readings`, { headers: READ_AUTH })).json();
      return body.readings.length > 0;
    }, 10_000);
  } finally {
    await svc.stop();
  }
  try {
    const snap = JSON.parse(await Deno.readTextFile(`${dir}/shm/svc.json`));
    assert.ok(snap.leds.every((c: string) => c === "#000000"), `LEDs left on: ${snap.leds}`);
    const files = [...Deno.readDirSync(`${dir}/plugins`)].map((e) => e.name);
    assert.ok(files.some((f) => f.startsWith("anima")), `persisted plugin state: ${files}`);
    assert.match(svc.output(), /stopping \(SIGTERM\)/);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a second broker on the same bus refuses to start and names the holder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-svc-" });
  const first = await startService({ name: "owner", mode: "broker", toml: toml(dir), waitHealth: false });
  try {
    await waitFor("the first broker's lock", () => {
      try {
        return [...Deno.readDirSync(`${dir}/locks`)].length > 0;
      } catch {
        return false;
      }
    }, 15_000);
    await Deno.writeTextFile(`${dir}/second.toml`, toml(dir));
    const second = await run(["broker", "--config", `${dir}/second.toml`]);
    assert.equal(second.code, 3, second.out);
    assert.match(
      second.out,
      /Cannot start broker: node 'svc' already runs on this host \(pid \d+, lock [^)]+node-svc\.lock\); stop it or set cluster\.node_id/,
    );
    assert.equal(second.out.trim().split("\n").length, 1, `one line: ${second.out}`);
  } finally {
    await first.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a bad config stops start-up with one line naming file, key and problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-svc-" });
  try {
    await Deno.writeTextFile(`${dir}/host.toml`, `[polling]\ninterval_seconds = "fast"\n`);
    const r = await run(["start", "--config", `${dir}/host.toml`, "--port", String(freePort())]);
    assert.equal(r.code, 2);
    assert.equal(
      r.out.trim(),
      `${dir}/host.toml: polling.interval_seconds: must be a number 0.1..2147483, got "fast"`,
    );
    const mode = await run(["serve"]);
    assert.equal(mode.code, 2);
    assert.equal(mode.out.trim(), "Unknown mode 'serve': use start, broker, hub (see --help)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("broker and hub as separate processes without Redis: snapshot file and control socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-svc-" });
  const broker = await startService({
    name: "apart-broker",
    mode: "broker",
    toml: toml(dir),
    waitHealth: false,
  });
  const hub = await startService({ name: "apart-hub", mode: "hub", toml: toml(dir) });
  try {
    await waitFor("the broker's readings through the snapshot file", async () => {
      const body = await (await fetch(`${hub.url}/api/readings`, { headers: READ_AUTH })).json();
      return body.readings.some((r: { id: string }) => r.id === "svc:dht22");
    }, 15_000);
    const res = await fetch(`${hub.url}/api/leds`, {
      method: "POST",
      headers: { authorization: "Bearer svc-token", "content-type": "application/json" },
      body: JSON.stringify({ index: 7, r: 0, g: 0, b: 255 }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.result.data.leds[7], "#0000ff", "the broker set the LED over the control socket");
  } finally {
    await hub.stop();
    await broker.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: "broker and hub as separate processes over Redis: snapshot key, event stream, commands",
  sanitizeResources: false,
  fn: async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "harvester-svc-" });
    const env = { REDIS_URL: redis.url };
    const auto = toml(dir).replace('backend = "file"', 'backend = "auto"');
    const broker = await startService({
      name: "redis-broker",
      mode: "broker",
      toml: auto,
      env,
      waitHealth: false,
    });
    const hub = await startService({ name: "redis-hub", mode: "hub", toml: auto, env });
    const client = createClient({ url: redis.url });
    client.on("error", () => {});
    try {
      await client.connect();
      await waitFor(
        "the snapshot key",
        async () => (await client.get("harvester:snapshot:svc")) !== null,
        15_000,
      );
      const snap = JSON.parse((await client.get("harvester:snapshot:svc"))!);
      assert.equal(snap.node, "svc");
      assert.equal(snap.leds.length, 11);
      assert.deepEqual(await client.sMembers("harvester:nodes"), ["svc"]);
      // The snapshot is written in the cycle; its events follow in the emitter's next batch.
      await waitFor("lifecycle events in the stream", async () => {
        const entries = await client.xRange("harvester:stream", "-", "+", { COUNT: 500 });
        const types = new Set(entries.map((e) => JSON.parse(e.message.event).type));
        return ["daemon.start", "cycle.start", "cycle.end", "led.sync"].every((t) => types.has(t));
      }, 10_000);
      // The hub reads the broker's events from the stream and sends commands over Redis.
      await waitFor("readings in the hub's event log", async () => {
        const { events } =
          await (await fetch(`${hub.url}/api/events?type=reading&limit=5`, { headers: READ_AUTH })).json();
        return events.length > 0;
      }, 15_000);
      const res = await fetch(`${hub.url}/api/buzzer`, {
        method: "POST",
        headers: { authorization: "Bearer svc-token", "content-type": "application/json" },
        body: JSON.stringify({ pattern: "triple" }),
      });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.result.data.played, true);
      await waitFor("the buzzer event in the stream", async () => {
        const tail = await client.xRevRange("harvester:stream", "+", "-", { COUNT: 100 });
        return tail.some((e) => JSON.parse(e.message.event).type === "buzzer");
      }, 10_000);
    } finally {
      client.destroy();
      await hub.stop();
      await broker.stop();
      await redis.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("status codes mean what clients expect: 429 + Retry-After, 404, 400 naming the field, no 500", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-svc-" });
  const svc = await startService({
    name: "codes",
    toml: toml(dir).replace("min_interval_ms = 0", "min_interval_ms = 60000"),
  });
  const post = async (path: string, body: string) => {
    const res = await fetch(`${svc.url}${path}`, {
      method: "POST",
      headers: { authorization: "Bearer svc-token", "content-type": "application/json" },
      body,
    });
    return { status: res.status, retry: res.headers.get("retry-after"), body: await res.json() };
  };
  try {
    assert.equal((await post("/api/buzzer", '{"pattern":"single"}')).status, 200);
    const limited = await post("/api/buzzer", '{"pattern":"single"}');
    assert.equal(limited.status, 429, JSON.stringify(limited.body));
    assert.ok(Number(limited.retry) >= 1 && Number(limited.retry) <= 60, `Retry-After ${limited.retry}`);
    assert.match(limited.body.error, /rate limited/);
    const unknown = await post("/api/plugins/nope/reload", "{}");
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /no such plugin/);
    const missing = await post("/api/buzzer", "{}");
    assert.deepEqual([missing.status, missing.body.error], [400, "buzzer.pattern: is required"]);
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  assert.doesNotMatch(svc.output(), /unhandled error|\n\s+at /, "known conditions leave no stack trace");
});
