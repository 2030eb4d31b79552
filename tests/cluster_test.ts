/**
 * Many nodes on loopback (issue 5): a hub and two spokes as separate processes, each a broker on
 * the sim HAL. Readings merge; a killed spoke goes stale then offline and comes back; spokes keep
 * their readings while the hub is away and deliver them when it returns; a buzzer command for a
 * spoke reaches that spoke's broker.
 *
 * @module
 */
import assert from "node:assert/strict";
import { freePort, type Service, startService, waitFor } from "./e2e/_helpers.ts";

/** Reads need a token now (the hub refuses anonymous reads unless public_read is on). */
const READ_AUTH = { authorization: "Bearer cluster-token" };

const TOKENS = { north: "north-token", south: "south-token" };

function hubToml(port: number, dir: string): string {
  return `
[polling]
interval_seconds = 0.5
[cluster]
role = "hub"
node_id = "hub"
push_interval_seconds = 0.5
[cluster.spoke_tokens]
north = "${TOKENS.north}"
south = "${TOKENS.south}"
[shm]
backend = "memory"
[hub]
host = "127.0.0.1"
port = ${port}
token = "cluster-token"
[state]
dir = "${dir}/hub"
`;
}

function spokeToml(node: "north" | "south", hubPort: number, dir: string): string {
  return `
[polling]
interval_seconds = 0.5
[cluster]
role = "spoke"
node_id = "${node}"
hub_url = "http://127.0.0.1:${hubPort}"
token = "${TOKENS[node]}"
push_interval_seconds = 0.5
[shm]
backend = "memory"
[buzzer]
min_interval_ms = 0
[state]
dir = "${dir}/${node}"
[plugins.dht22]
cadence_seconds = 0.5
`;
}

async function nodes(hub: Service): Promise<Record<string, string>> {
  const { nodes } = await (await fetch(`${hub.url}/api/nodes`, { headers: READ_AUTH })).json();
  return Object.fromEntries(nodes.map((n: { id: string; status: string }) => [n.id, n.status]));
}

async function readingIds(hub: Service): Promise<string[]> {
  const { readings } = await (await fetch(`${hub.url}/api/readings`, { headers: READ_AUTH })).json();
  return readings.map((r: { id: string }) => r.id);
}

Deno.test({
  name:
    "hub + two spokes: readings merge, a killed spoke goes stale then offline and returns, commands reach it",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-cluster-" });
    const port = freePort();
    let hub = await startService({ name: "hub", port, toml: hubToml(port, dir) });
    const spoke = (node: "north" | "south") =>
      startService({ name: node, mode: "broker", toml: spokeToml(node, port, dir), waitHealth: false });
    let north = await spoke("north");
    const south = await spoke("south");
    try {
      await waitFor("readings of all three nodes", async () => {
        const ids = await readingIds(hub);
        return ["hub:dht22", "north:dht22", "south:dht22", "north:bme680", "south:system"].every((id) =>
          ids.includes(id)
        );
      }, 30_000);
      assert.deepEqual(await nodes(hub), { hub: "online", north: "online", south: "online" });
      // The spokes' own host and plugin logs ride on their pushes.
      await waitFor("north's broker log on the hub", async () => {
        const { lines } = await (await fetch(`${hub.url}/api/logs?node=north`, { headers: READ_AUTH }))
          .json();
        return lines.some((l: { source: string; message: string }) =>
          l.source === "harvester" && l.message.includes("broker ready: node north")
        );
      }, 10_000);

      // A buzzer command for north goes hub → north's push → north's broker → its result.
      const res = await fetch(`${hub.url}/api/buzzer`, {
        method: "POST",
        headers: { authorization: "Bearer cluster-token", "content-type": "application/json" },
        body: JSON.stringify({ pattern: "single", node: "north" }),
      });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.node, "north");
      assert.equal(body.result.ok, true);
      assert.equal(body.result.data.played, true, JSON.stringify(body.result));

      // Kill north: stale after three missed intervals, then offline; south stays online.
      await north.stop(true);
      await waitFor("north stale", async () => (await nodes(hub)).north === "stale", 15_000);
      await waitFor("north offline", async () => (await nodes(hub)).north === "offline", 15_000);
      await waitFor("a node.offline event for north", async () => {
        const { events } =
          await (await fetch(`${hub.url}/api/events?type=node.offline`, { headers: READ_AUTH })).json();
        return events.some((e: { data: { node: string } }) => e.data.node === "north");
      }, 10_000);
      assert.equal((await nodes(hub)).south, "online");
      north = await spoke("north");
      await waitFor("north back online", async () => (await nodes(hub)).north === "online", 30_000)
        .catch((e) => {
          throw new Error(`${e.message}\n--- north ---\n${north.output().slice(-2000)}`);
        });

      // Hub away: the spokes keep their snapshots and deliver them, in order, when it returns.
      await hub.stop();
      await new Promise((r) => setTimeout(r, 3000));
      hub = await startService({ name: "hub-again", port, toml: hubToml(port, dir) });
      const pushes = await waitFor("a catch-up push of several snapshots", async () => {
        const { events } =
          await (await fetch(`${hub.url}/api/events?type=spoke.push&limit=100`, { headers: READ_AUTH }))
            .json();
        const big = events.filter((e: { data: { count: number } }) => e.data.count > 1);
        return big.length ? big : null;
      }, 20_000);
      assert.ok(pushes!.length > 0);
      assert.ok(pushes!.some((e: { data: { count: number } }) => e.data.count >= 3), JSON.stringify(pushes));
      await waitFor("both spokes online again", async () => {
        const n = await nodes(hub);
        return n.north === "online" && n.south === "online";
      }, 20_000);
    } finally {
      await Promise.all([north.stop(), south.stop()]);
      await hub.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
