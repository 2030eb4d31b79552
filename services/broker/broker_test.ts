import assert from "node:assert/strict";
import type { Hal, LedStrip, Rgb } from "../../hal/mod.ts";
import type { PluginManifest, Reading, SnapshotView } from "../../plugins/sdk/mod.ts";
import type { SchedulerState, SharedState, Snapshot } from "../shm/snapshot.ts";
import { Broker, type PluginRuntime, type SchedulerLike, type WorkItem } from "./broker.ts";
import { LedBuffer } from "./leds.ts";
import { BuzzerPlayer } from "./buzzer.ts";
import { LogRing } from "./logs.ts";

function manifest(
  id: string,
  exports: PluginManifest["world"]["exports"],
  dependsOn: string[] = [],
): PluginManifest {
  return {
    id,
    version: "1.0.0",
    world: { imports: [], exports },
    cadence_seconds: 2,
    priority: 0.5,
    depends_on: dependsOn,
  };
}

/** A runtime double: records calls, returns canned readings. */
class FakeRuntime implements PluginRuntime {
  calls: string[] = [];
  views: SnapshotView[] = [];
  fail = new Set<string>();
  manifests = new Map<string, PluginManifest>([
    ["bme680", manifest("bme680", ["poll"])],
    ["oled", manifest("oled", ["update"], ["bme680"])],
    ["anima", manifest("anima", ["poll", "update"])],
  ]);
  listeners: ((c: { kind: string; id: string }) => void)[] = [];
  start() {
    return Promise.resolve();
  }
  stop() {
    this.calls.push("stop");
    return Promise.resolve();
  }
  ids() {
    return [...this.manifests.keys()];
  }
  manifest(id: string) {
    return this.manifests.get(id);
  }
  status(_id: string) {
    return {
      version: "1.0.0",
      status: "running" as const,
      restarts: 0,
      lastError: null,
      lastErrorAt: null,
      lastPollAt: null,
    };
  }
  poll(id: string): Promise<Reading[]> {
    this.calls.push(`poll:${id}`);
    if (this.fail.has(id)) return Promise.reject(new Error(`${id} exploded`));
    if (id === "anima") {
      return Promise.resolve([{
        sensor: "anima",
        values: {
          warmth: 0.4,
          clarity: 0.7,
          stability: 0.6,
          presence: 0.9,
          name: "Lumen",
          creature_id: "c-1",
          awakenings: 3,
        },
      }]);
    }
    return Promise.resolve([{
      sensor: "bme680",
      values: { temperature: 22.5, iaq: 40 },
      units: { temperature: "°C" },
    }]);
  }
  update(id: string, snapshot: SnapshotView) {
    this.calls.push(`update:${id}`);
    this.views.push(snapshot);
    return Promise.resolve();
  }
  command(id: string, name: string, args: Record<string, unknown>) {
    this.calls.push(`command:${id}:${name}:${JSON.stringify(args)}`);
    return Promise.resolve({ ok: true });
  }
  reload(id: string) {
    this.calls.push(`reload:${id}`);
    return Promise.resolve();
  }
  onChange(cb: (c: { kind: string; id: string }) => void) {
    this.listeners.push(cb);
  }
}

/** A scheduler double that lets the test run work items by hand. */
class ManualScheduler implements SchedulerLike {
  added: { id: string; dependsOn?: string[] }[] = [];
  producedBy: string[] = [];
  demanded: string[] = [];
  cycles: number[] = [];
  constructor(readonly run: (id: string, item: WorkItem) => Promise<void>) {}
  add(spec: { id: string; cadenceMs: number; priority: number; dependsOn?: string[] }) {
    this.added.push(spec);
  }
  remove(id: string) {
    this.added = this.added.filter((a) => a.id !== id);
  }
  demand(id: string) {
    this.demanded.push(id);
  }
  produced(id: string) {
    this.producedBy.push(id);
  }
  start() {}
  stop() {}
  states(): Record<string, SchedulerState> {
    return {};
  }
  reportCycle(ms: number) {
    this.cycles.push(ms);
  }
}

class MemState implements SharedState {
  kind = "memory";
  writes: Snapshot[] = [];
  write(s: Snapshot) {
    this.writes.push(s);
    return Promise.resolve();
  }
  read() {
    return Promise.resolve(this.writes.at(-1) ?? null);
  }
  close() {
    return Promise.resolve();
  }
}

function rig() {
  const events: { type: string; data?: Record<string, unknown> }[] = [];
  const emitter = {
    emit: (type: string, data?: Record<string, unknown>) => void events.push({ type, data }),
  };
  const shows: Rgb[][] = [];
  const strip: LedStrip = {
    count: 11,
    show: (p) => {
      shows.push([...p]);
      return Promise.resolve();
    },
    current: () => shows.at(-1) ?? [],
  };
  const relay = {
    pin: 17,
    sounding: false,
    on(s: boolean) {
      this.sounding = s;
    },
  };
  const hal = { backend: "fake", leds: strip, buzzer: relay } as unknown as Hal;
  const runtime = new FakeRuntime();
  let scheduler!: ManualScheduler;
  const state = new MemState();
  const broker = new Broker({
    node: "pi4",
    hal,
    plugins: runtime,
    createScheduler: (run) => (scheduler = new ManualScheduler(run)),
    state,
    emitter,
    leds: new LedBuffer(strip, emitter),
    buzzer: new BuzzerPlayer(relay, emitter, { minIntervalMs: 0, sleep: () => Promise.resolve() }),
    logs: new LogRing({ echo: null }),
    intervalMs: 60_000,
  });
  return { broker, runtime, scheduler: () => scheduler, state, events, shows, relay };
}

Deno.test("Broker.start() schedules every plugin with its dependencies and writes a first snapshot", async () => {
  const r = rig();
  await r.broker.start();
  try {
    assert.deepEqual(r.scheduler().added.map((a) => a.id), ["bme680", "oled", "anima"]);
    assert.deepEqual(r.scheduler().added[1].dependsOn, ["bme680"]);
    assert.equal(r.state.writes.length, 1);
    assert.deepEqual(r.events.slice(0, 2).map((e) => e.type), ["daemon.start", "cycle.start"]);
    assert.equal(r.shows.length, 1, "the strip is synced once per cycle");
    assert.equal(r.scheduler().cycles.length, 1, "the cycle's duration reaches the scheduler");
  } finally {
    await r.broker.stop();
  }
});

Deno.test("Broker run: a poll stores node-prefixed readings, events them and triggers dependants", async () => {
  const r = rig();
  await r.broker.start();
  try {
    await r.scheduler().run("bme680", { kind: "cadence", priority: 0.5 });
    const snap = r.broker.snapshot();
    assert.deepEqual(Object.keys(snap.readings), ["pi4:bme680"]);
    assert.equal(snap.readings["pi4:bme680"].plugin, "bme680");
    assert.deepEqual(snap.readings["pi4:bme680"].units, { temperature: "°C" });
    assert.ok(r.events.some((e) => e.type === "reading" && e.data?.id === "pi4:bme680"));
    assert.deepEqual(r.scheduler().producedBy, ["bme680"]);
    // oled exports update only: it gets the snapshot view and is never polled.
    await r.scheduler().run("oled", { kind: "dependency", priority: 0.5 });
    assert.ok(r.runtime.calls.includes("update:oled"));
    assert.ok(!r.runtime.calls.includes("poll:oled"));
    assert.equal(r.runtime.views.at(-1)!.readings["pi4:bme680"].values.temperature, 22.5);
  } finally {
    await r.broker.stop();
  }
});

Deno.test("Broker run: a failing plugin is logged and the others keep producing", async () => {
  const r = rig();
  await r.broker.start();
  try {
    r.runtime.fail.add("bme680");
    await r.scheduler().run("bme680", { kind: "cadence", priority: 0.5 });
    await r.scheduler().run("anima", { kind: "cadence", priority: 0.5 });
    const snap = r.broker.snapshot();
    assert.deepEqual(Object.keys(snap.readings), ["pi4:anima"]);
    assert.deepEqual(snap.anima, { warmth: 0.4, clarity: 0.7, stability: 0.6, presence: 0.9 });
    assert.deepEqual(snap.identity, { creature_id: "c-1", name: "Lumen", awakenings: 3 });
  } finally {
    await r.broker.stop();
  }
});

Deno.test("Broker snapshot: the identity comes only from anima's own reading", async () => {
  const r = rig();
  r.runtime.manifests.set("evil", manifest("evil", ["poll"]));
  const poll = r.runtime.poll.bind(r.runtime);
  r.runtime.poll = (id) =>
    id === "evil" ? Promise.resolve([{ sensor: "anima", values: { name: "pwned", warmth: 1 } }]) : poll(id);
  await r.broker.start();
  try {
    await r.scheduler().run("evil", { kind: "cadence", priority: 0.5 });
    const snap = r.broker.snapshot();
    assert.equal(snap.identity, null);
    assert.equal(snap.anima, null);
    await r.scheduler().run("anima", { kind: "cadence", priority: 0.5 });
    assert.equal(r.broker.snapshot().identity?.name, "Lumen");
  } finally {
    await r.broker.stop();
  }
});

Deno.test("Broker.handle() executes commands and reports failures as results", async () => {
  const r = rig();
  await r.broker.start();
  try {
    const beep = await r.broker.handle({
      id: "1",
      node: "pi4",
      command: { type: "buzzer", pattern: "single" },
    });
    assert.equal(beep.ok, true);
    assert.ok(r.events.some((e) => e.type === "buzzer"));
    const led = await r.broker.handle({
      id: "2",
      node: "pi4",
      command: { type: "led", index: 5, r: 1, g: 2, b: 3 },
    });
    assert.equal(led.ok, true);
    assert.equal(r.broker.snapshot().leds[5], "#010203");
    const bad = await r.broker.handle({
      id: "3",
      node: "pi4",
      command: { type: "led", index: 99, r: 1, g: 2, b: 3 },
    });
    assert.equal(bad.ok, false);
    assert.match(bad.error!, /Cannot set LED 99/);
    const reload = await r.broker.handle({
      id: "4",
      node: "pi4",
      command: { type: "plugin.reload", plugin: "nope" },
    });
    assert.match(reload.error!, /Cannot reload plugin "nope": no such plugin on node pi4/);
    assert.equal(reload.code, "not_found");
    await r.broker.handle({ id: "5", node: "pi4", command: { type: "set_name", name: "Ada" } });
    assert.ok(r.runtime.calls.includes('command:anima:set_name:{"name":"Ada"}'));
    assert.deepEqual(r.scheduler().demanded, ["anima"], "anima polls now so the snapshot shows the new name");
  } finally {
    await r.broker.stop();
  }
});

Deno.test("Broker.stop() persists, silences the buzzer, darkens the LEDs and says daemon.stop", async () => {
  const r = rig();
  await r.broker.start();
  r.relay.sounding = true;
  await r.broker.stop("test");
  assert.ok(r.runtime.calls.includes("stop"));
  assert.equal(r.relay.sounding, false);
  assert.ok(r.shows.at(-1)!.every((p) => p.r === 0 && p.g === 0 && p.b === 0));
  assert.deepEqual(r.events.find((e) => e.type === "daemon.stop")?.data, { reason: "test", cycles: 1 });
});
