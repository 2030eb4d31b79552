import assert from "node:assert/strict";
import mqtt from "mqtt";
import { makeSnapshot } from "../shm/_test_snapshot.ts";
import type { Snapshot } from "../shm/snapshot.ts";
import { MqttBridge, type NodeReport } from "./bridge.ts";
import { startMosquitto } from "../../tests/_mosquitto.ts";

const USER = "u";
const PASSWORD = "p";

function bridge(
  url: string,
  nodes: () => NodeReport[],
  extra: Partial<ConstructorParameters<typeof MqttBridge>[0]> = {},
) {
  const emitted: { type: string; data?: Record<string, unknown> }[] = [];
  const b = new MqttBridge({
    url,
    username: USER,
    password: PASSWORD,
    clientId: `unit-${crypto.randomUUID().slice(0, 6)}`,
    topics: { base: "harvester", discoveryPrefix: "homeassistant" },
    homeassistant: true,
    qos: 1,
    retain: true,
    events: true,
    bridge: { node: "n1", swVersion: "0.0.0" },
    nodes: () => Promise.resolve(nodes()),
    send: (_node, _command) => Promise.resolve({ id: "x", ok: true }),
    emit: { emit: (type, data) => emitted.push({ type, data }) },
    log: () => {},
    backoffMs: { min: 50, max: 200 },
    ...extra,
  });
  return { b, emitted };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`Cannot ${what}: timed out`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name:
    "MqttBridge: a removed plugin's entities are deleted (empty retained config); unchanged states are not re-sent",
  sanitizeResources: false,
  fn: async () => {
    const broker = await startMosquitto({ [USER]: PASSWORD });
    const seen: [string, string][] = [];
    const reader = await mqtt.connectAsync(broker.url, {
      username: USER,
      password: PASSWORD,
      clientId: "reader",
    });
    reader.on("message", (t, p) => seen.push([t, new TextDecoder().decode(p)]));
    await reader.subscribeAsync(["homeassistant/#", "harvester/#"], { qos: 1 });
    let snap: Snapshot = makeSnapshot("n1", 1, 2);
    const { b } = bridge(broker.url, () => [{ node: "n1", status: "online", snapshot: snap }]);
    try {
      b.start();
      await until("connect", () => b.stats().connected);
      await b.tick();
      const gone = "homeassistant/sensor/n1/sensor-1_temperature/config";
      await until("discovery of sensor-1", () => seen.some(([t, p]) => t === gone && p !== ""));
      const states = () => seen.filter(([t]) => t === "harvester/n1/sensor-0/state").length;
      await until("a state", () => states() === 1);
      await b.tick(); // nothing changed: nothing is sent again
      snap = structuredClone(snap);
      delete snap.readings["n1:sensor-1"];
      await b.tick();
      await until("the removal", () => seen.some(([t, p]) => t === gone && p === ""));
      assert.equal(states(), 1, "an unchanged state is not re-published");
      assert.ok(!seen.some(([t, p]) => t.startsWith("homeassistant/sensor/n1/sensor-0_") && p === ""));
    } finally {
      await b.close();
      await reader.endAsync();
      await broker.close();
    }
  },
});

Deno.test({
  name:
    "MqttBridge: while the broker is away the buffer stays within its bounds and what it drops is counted",
  sanitizeResources: false,
  fn: async () => {
    const broker = await startMosquitto({ [USER]: PASSWORD });
    const snap = makeSnapshot("n1", 1, 3);
    const { b, emitted } = bridge(broker.url, () => [{ node: "n1", status: "online", snapshot: snap }], {
      bufferMax: 10,
      bufferBytes: 64 * 1024,
    });
    try {
      b.start();
      await until("connect", () => b.stats().connected);
      await broker.stop();
      await until("disconnect", () => !b.stats().connected);
      for (let i = 0; i < 500; i++) {
        b.event({
          type: "cycle.end",
          ts: new Date().toISOString(),
          cycle: i,
          node: "n1",
          data: { pad: "x".repeat(100) },
        });
      }
      await b.tick();
      const s = b.stats();
      assert.ok(s.buffered <= 10 + 40, `buffered ${s.buffered}`);
      assert.ok(s.bufferedBytes <= 64 * 1024, `buffered ${s.bufferedBytes} bytes`);
      assert.equal(s.droppedEvents, 490, "all but the newest 10 events are dropped and counted");
      await broker.start();
      await until("reconnect", () => b.stats().connected, 15_000);
      await until("the loss reported", () => emitted.some((e) => e.type === "mqtt.dropped"));
      assert.equal(emitted.find((e) => e.type === "mqtt.dropped")!.data!.events, 490);
    } finally {
      await b.close();
      await broker.close();
    }
  },
});

Deno.test({
  name:
    "MqttBridge: the byte bound holds with huge events, and the states a reader needs win over old events",
  sanitizeResources: false,
  fn: async () => {
    const broker = await startMosquitto({ [USER]: PASSWORD });
    const snap = makeSnapshot("n1", 1, 1);
    const { b } = bridge(broker.url, () => [{ node: "n1", status: "online", snapshot: snap }], {
      bufferMax: 1_000_000,
      bufferBytes: 256 * 1024,
    });
    try {
      b.start();
      await until("connect", () => b.stats().connected);
      await broker.stop();
      await until("disconnect", () => !b.stats().connected);
      await b.tick();
      for (let i = 0; i < 2000; i++) {
        b.event({ type: "x", ts: "", cycle: i, node: "n1", data: { pad: "y".repeat(4000) } });
      }
      const s = b.stats();
      assert.ok(s.bufferedBytes <= 256 * 1024, `buffered ${s.bufferedBytes} bytes`);
      assert.ok(s.droppedEvents >= 2000 - 256 * 1024 / 4000, `dropped ${s.droppedEvents}`);
      assert.equal(s.dropped, s.droppedEvents, "no state was pushed out by events");
    } finally {
      await b.close();
      await broker.close();
    }
  },
});

Deno.test("MqttBridge refuses a URL that is not MQTT, naming it", () => {
  assert.throws(() => bridge("http://x:1883", () => []), {
    message: "Cannot use MQTT at 'http://x:1883': not an mqtt://, mqtts://, ws:// or wss:// URL",
  });
});
