/**
 * MQTT bridge: readings per second delivered to a real Mosquitto (publish → a subscriber holds
 * them), and what one bridge tick costs on the event loop of the process it runs in (5 nodes × 5
 * sensors × 4 fields, values changing every tick), beside a raw mqtt.js publish of the same
 * payloads as the peer.
 *
 * @module
 */
import mqtt from "mqtt";
import { MqttBridge, type NodeReport } from "../services/mqtt/mod.ts";
import { makeSnapshot } from "../services/shm/_test_snapshot.ts";
import { startMosquitto } from "../tests/_mosquitto.ts";
import { type BenchRow, median, percentile, spread } from "./row.ts";

const NODES = 5;
const SENSORS = 5;
const TICKS = 200;

function reports(cycle: number): NodeReport[] {
  return Array.from({ length: NODES }, (_, n) => ({
    node: `n${n}`,
    status: "online" as const,
    snapshot: makeSnapshot(`n${n}`, cycle, SENSORS),
  }));
}

/** Run the MQTT benchmark. */
export async function benchMqtt(): Promise<BenchRow[]> {
  const broker = await startMosquitto({ bench: "bench" });
  const auth = { username: "bench", password: "bench" };
  const reader = await mqtt.connectAsync(broker.url, { ...auth, clientId: "bench-reader" });
  let received = 0;
  reader.on("message", () => received++);
  await reader.subscribeAsync("harvester/+/+/state", { qos: 0 });
  let cycle = 0;
  const bridge = new MqttBridge({
    url: broker.url,
    ...auth,
    clientId: "bench-bridge",
    topics: { base: "harvester", discoveryPrefix: "homeassistant" },
    homeassistant: false,
    qos: 0,
    retain: false,
    events: false,
    bridge: { node: "n0", swVersion: "bench" },
    nodes: () => Promise.resolve(reports(cycle)),
    send: () => Promise.resolve({ id: "", ok: true }),
    emit: { emit: () => {} },
    log: () => {},
  });
  bridge.start();
  const until = performance.now() + 5000;
  while (!bridge.stats().connected && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  const tickUs: number[] = [];
  const rates: number[] = [];
  const peerRates: number[] = [];
  const raw = await mqtt.connectAsync(broker.url, { ...auth, clientId: "bench-raw" });
  try {
    for (let rep = 0; rep < 3; rep++) {
      received = 0;
      const t0 = performance.now();
      for (let i = 0; i < TICKS; i++) {
        cycle++;
        const s = performance.now();
        await bridge.tick();
        tickUs.push((performance.now() - s) * 1000);
      }
      const want = TICKS * NODES * SENSORS;
      while (received < want && performance.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 5));
      rates.push(received / ((performance.now() - t0) / 1000));
      // Peer: the same number of state payloads straight through mqtt.js.
      received = 0;
      const p0 = performance.now();
      for (let i = 0; i < TICKS; i++) {
        cycle++;
        for (const r of reports(cycle)) {
          for (const reading of Object.values(r.snapshot!.readings)) {
            raw.publish(`harvester/${r.node}/${reading.sensor}/state`, JSON.stringify(reading.values), {
              qos: 0,
            });
          }
        }
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 0));
      }
      while (received < want && performance.now() - p0 < 20_000) await new Promise((r) => setTimeout(r, 5));
      peerRates.push(received / ((performance.now() - p0) / 1000));
    }
  } finally {
    await bridge.close();
    await raw.endAsync();
    await reader.endAsync();
    await broker.close();
  }
  const rate = median(rates);
  const peer = median(peerRates);
  return [
    {
      name: `readings/s through the bridge to a subscriber (${NODES} nodes × ${SENSORS} sensors)`,
      value: Math.round(rate),
      unit: "readings/s",
      peer: "raw mqtt.js publish of the same payloads",
      peerValue: Math.round(peer),
      ratio: rate / peer,
      spread: spread(rates, 0),
    },
    {
      name: `bridge tick on the event loop, p50 (${NODES * SENSORS} readings changed)`,
      value: median(tickUs),
      unit: "µs",
      spread: `p99 ${percentile(tickUs, 99).toFixed(0)}`,
    },
  ];
}
