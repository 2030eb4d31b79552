import assert from "node:assert/strict";
import { makeSnapshot, TestEventLog } from "../services/hub/_test_fakes.ts";
import { SpokePusher } from "../services/spoke/mod.ts";
import { freePort } from "./_redis.ts";

/** Reads need a token now (the hub refuses anonymous reads unless public_read is on). */
const READ_AUTH = { authorization: "Bearer w" };

const SCRIPT = new URL("../services/hub/_serve_for_test.ts", import.meta.url).pathname;

/** Start the hub script on `port` and wait for its `ready` line. */
async function startHub(port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", SCRIPT, "--port", String(port), "--spoke", "pi4=pi4-token", "--write", "w"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Cannot start hub process: it exited before listening (${out})`);
    out += value;
  }
  reader.releaseLock();
  // Drain the rest so the pipe never blocks the child.
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  return child;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("Cannot wait for condition: timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("spoke store-and-forward against a real hub process that is killed and restarted; buzzer reaches the spoke", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  let hub = await startHub(port);
  const log = new TestEventLog("pi4");
  const commands: unknown[] = [];
  let cycle = 0;
  const pusher = new SpokePusher({
    hubUrl: base,
    token: "pi4-token",
    node: "pi4",
    intervalMs: 100,
    bufferMax: 1000,
    source: () => makeSnapshot("pi4", Date.now(), ++cycle),
    emit: log,
    onCommands: (cmds) => {
      commands.push(...cmds.map((c) => c.command));
      return Promise.resolve(cmds.map((c) => ({ id: c.id, ok: true, data: { beeped: true } })));
    },
  });
  try {
    pusher.start();
    await until(async () => {
      const r = await (await fetch(`${base}/api/readings`, { headers: READ_AUTH })).json();
      return r.readings.some((x: { id: string; stale: boolean }) => x.id === "pi4:bme680" && !x.stale);
    });
    // A buzzer command for the spoke's buzzer is queued by the hub and reaches the spoke on its next push.
    const buzz = await fetch(`${base}/api/buzzer`, {
      method: "POST",
      headers: { authorization: "Bearer w", "content-type": "application/json" },
      body: JSON.stringify({ pattern: "triple", node: "pi4" }),
    });
    assert.equal(buzz.status, 200);
    const answer = await buzz.json();
    assert.deepEqual([answer.ok, answer.node, answer.result.ok, answer.result.data], [true, "pi4", true, {
      beeped: true,
    }]);
    assert.deepEqual(commands, [{ type: "buzzer", pattern: "triple" }]);

    // Kill the hub: pushes fail and snapshots pile up in the buffer.
    hub.kill("SIGKILL");
    await hub.status;
    const pushedBefore = pusher.stats().pushed;
    await until(() => pusher.stats().buffered >= 5);
    assert.equal(pusher.stats().connected, false);
    assert.match(pusher.stats().lastError!, /^Cannot push to http:\/\/127\.0\.0\.1:\d+\/push: /);

    // Bring it back on the same port: the backlog arrives in order, nothing lost.
    hub = await startHub(port);
    await until(() => pusher.stats().buffered === 0 && pusher.stats().connected);
    await pusher.stop();
    // Events are written in the background: wait until the hub's log holds every accepted push.
    let events: Array<{ data: { first: number; count: number } }> = [];
    const sum = () => events.reduce((n, e) => n + e.data.count, 0);
    await until(async () => {
      events =
        (await (await fetch(`${base}/api/events?type=spoke.push&limit=1000`, { headers: READ_AUTH })).json())
          .events;
      return pushedBefore + sum() === pusher.stats().pushed;
    });
    assert.equal(events[0].data.first, pushedBefore + 1);
    assert.ok(events[0].data.count >= 5, `first batch after restart held ${events[0].data.count}`);
    assert.equal(pusher.stats().dropped, 0);
    const nodes = (await (await fetch(`${base}/api/nodes`, { headers: READ_AUTH })).json()).nodes;
    assert.deepEqual(nodes.map((n: { id: string; status: string }) => [n.id, n.status]), [["hub", "online"], [
      "pi4",
      "online",
    ]]);
  } finally {
    await pusher.stop();
    try {
      hub.kill("SIGTERM");
    } catch { /* exited */ }
    await hub.status;
  }
});
