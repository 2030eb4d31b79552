/**
 * Many nodes (issue 5): a hub and two spokes as separate `main.ts start` processes, each a broker
 * on the sim HAL, on loopback. Readings of all three merge; a buzzer command for a spoke reaches
 * that spoke's broker; a killed spoke goes stale, then offline, and comes back; a restarted hub
 * receives the spokes' backlog.
 */
import assert from "node:assert/strict";
import { freePort } from "./_redis.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const OFF = ["dht22", "oled", "anima"].map((p) => `[plugins.${p}]\nenabled = false`).join("\n");

function config(dir: string, node: string, cluster: string, port: number, plugins: string): string {
  return `[polling]
interval_seconds = 1
[hal]
backend = "sim"
[cluster]
node_id = "${node}"
push_interval_seconds = 0.5
${cluster}
[shm]
backend = "memory"
[hub]
port = ${port}
host = "127.0.0.1"
token = "w"
[state]
dir = "${dir}/state-${node}"
${OFF}
${plugins}
`;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (true) {
    try {
      if (await cond()) return;
    } catch { /* not up yet */ }
    if (Date.now() > end) throw new Error(`Cannot wait for ${what}: timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(file: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "start", "--config", file],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function stop(child: Deno.ChildProcess, signal: Deno.Signal = "SIGTERM"): Promise<void> {
  try {
    child.kill(signal);
  } catch { /* exited */ }
  await child.status;
}

Deno.test("a hub and two spokes as processes: readings merge, buzzer reaches a spoke, stale/offline/online, backlog after hub restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-cluster-" });
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const hubCluster = `role = "hub"\n[cluster.spoke_tokens]\npi4 = "t-pi4"\npizero = "t-zero"`;
  const spoke = (token: string) =>
    `role = "spoke"\nhub_url = "${base}"\ntoken = "${token}"\nbuffer_max = 500`;
  await Deno.writeTextFile(
    `${dir}/hub.toml`,
    config(dir, "hub", hubCluster, port, "[plugins.bme680]\nenabled = false"),
  );
  await Deno.writeTextFile(
    `${dir}/pi4.toml`,
    config(dir, "pi4", spoke("t-pi4"), 0, "[plugins.system-monitor]\nenabled = false"),
  );
  await Deno.writeTextFile(
    `${dir}/pizero.toml`,
    config(dir, "pizero", spoke("t-zero"), 0, "[plugins.system-monitor]\nenabled = false"),
  );
  const get = async (path: string) => await (await fetch(base + path)).json();
  const status = async (node: string) =>
    ((await get("/api/nodes")).nodes as Array<{ id: string; status: string }>).find((n) => n.id === node)
      ?.status;
  let hub = start(`${dir}/hub.toml`);
  const pi4 = start(`${dir}/pi4.toml`);
  let pizero = start(`${dir}/pizero.toml`);
  try {
    await until("readings of all three nodes", async () => {
      const ids = ((await get("/api/readings")).readings as Array<{ node: string }>).map((r) => r.node);
      return ["hub", "pi4", "pizero"].every((n) => ids.includes(n));
    }, 40_000);

    const buzz = await fetch(`${base}/api/buzzer`, {
      method: "POST",
      headers: { authorization: "Bearer w", "content-type": "application/json" },
      body: JSON.stringify({ pattern: "triple", node: "pi4" }),
    });
    const answer = await buzz.json();
    assert.equal(buzz.status, 200, JSON.stringify(answer));
    assert.equal(answer.node, "pi4");
    assert.equal(answer.result.ok, true);

    await stop(pizero, "SIGKILL");
    await until("pizero stale", async () => (await status("pizero")) === "stale");
    await until("pizero offline", async () => (await status("pizero")) === "offline");
    await until("a node.offline event for pizero", async () => {
      const events = (await get("/api/events?type=node.offline")).events as Array<{ data: { node: string } }>;
      return events.some((e) => e.data.node === "pizero");
    });
    pizero = start(`${dir}/pizero.toml`);
    await until("pizero online again", async () => (await status("pizero")) === "online", 40_000);

    // Take the hub away: the spokes buffer; a new hub process gets their backlog in batches.
    await stop(hub, "SIGKILL");
    await new Promise((r) => setTimeout(r, 2000));
    hub = start(`${dir}/hub.toml`);
    await until("a backlog batch from pi4", async () => {
      const events = (await get("/api/events?type=spoke.push&limit=1000")).events as Array<
        { data: { node: string; count: number } }
      >;
      return events.some((e) => e.data.node === "pi4" && e.data.count >= 2);
    }, 40_000);
    assert.equal(await status("pi4"), "online");
  } finally {
    await Promise.all([stop(hub), stop(pi4), stop(pizero)]);
    await Deno.remove(dir, { recursive: true });
  }
});
