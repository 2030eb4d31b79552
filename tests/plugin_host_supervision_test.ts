/**
 * The hostile-plugin suite, part 2: supervision. Denied capabilities, hangs, memory bombs,
 * exceptions at load and in poll, and call floods, each against the real sandbox beside a
 * good plugin (see `hostile` in the harness for the shared invariants: no secret comes back,
 * the good plugin keeps polling).
 */
import assert from "node:assert/strict";
import { hostile, makeHarness, until } from "./fixtures/plugins/_harness.ts";
import type { Harness } from "./fixtures/plugins/_harness.ts";

const errors = (h: Harness, name: string) => h.of("plugin.error", name).map((e) => String(e.data.message));

Deno.test("hostile denied: ungranted I2C address and GPIO line raise CapabilityError and plugin.denied", async () => {
  let polled = 0;
  await hostile("denied", {
    grants: { i2c: [0x77], gpio: [4] },
    done: (h) => h.of("plugin.denied", "denied").length >= 2 && ++polled > 2,
  }, (h, outputs) => {
    const reading = JSON.parse(outputs[0])[0].values;
    assert.equal(
      reading.i2c,
      'CapabilityError: Cannot grant "i2c:0x3c" to plugin "denied": not allowed by config/permissions.toml',
    );
    assert.equal(
      reading.gpio,
      'CapabilityError: Cannot grant "gpio:27" to plugin "denied": not allowed by config/permissions.toml',
    );
    assert.equal(reading.chip, 0x61, "the granted address still works");
    const denied = h.of("plugin.denied", "denied").map((e) => `${e.data.capability}:${e.data.argument}`);
    assert.deepEqual(denied.slice(0, 2), ["i2c:0x3c", "gpio:27"]);
    assert.equal(h.host.status("denied").status, "running", "a refusal is not a crash");
    assert.equal(errors(h, "denied").length, 0);
  });
});

Deno.test("hostile busy_loop: a hang past its deadline kills and restarts its sandbox with backoff, then quarantine", async () => {
  await hostile("busy_loop", { conf: { deadline_ms: 300 } }, (h) => {
    const errs = errors(h, "busy_loop");
    assert.equal(errs.length, 3);
    for (const m of errs) assert.match(m, /no answer within its deadline of 300 ms/);
    assert.deepEqual(h.of("plugin.backoff", "busy_loop").map((e) => e.data.delayMs), [50, 100]);
    assert.equal(h.of("plugin.restart", "busy_loop").length, 2);
    assert.equal(h.host.status("busy_loop").restarts, 2);
    assert.equal(h.host.status("busy_loop").status, "quarantined");
    // The neighbour in its own process was never restarted.
    assert.equal(h.of("plugin.start", "ticker").length, 1);
  });
});

Deno.test("hostile busy_loop in the shared sandbox: the process restarts, the neighbour reloads and keeps its state", async () => {
  const h = await makeHarness({
    plugins: ["hostile/busy_loop", "plugins/counter"],
    grants: { counter: { i2c: [0x77], state: true, leds: [0] } },
    settings: {
      busy_loop: { enabled: true, isolation: "shared", deadline_ms: 300 },
      counter: { enabled: true, isolation: "shared" },
    },
  });
  try {
    const pids = new Set((await h.host.sandboxes()).map((s) => s.pid));
    assert.equal(pids.size, 1, "one shared process");
    assert.equal((await h.host.poll("counter"))[0].values.total, 1);
    await assert.rejects(h.host.poll("busy_loop"), /deadline of 300 ms/);
    await until(() =>
      h.host.status("counter").status === "running" && h.of("plugin.start", "counter").length === 2
    );
    const after = await h.host.poll("counter");
    assert.equal(after[0].values.polls, 1, "module globals start over in the new process");
    assert.equal(after[0].values.total, 2, "the state capability survived the restart");
    const newPids = (await h.host.sandboxes()).map((s) => s.pid);
    assert.ok(!newPids.some((p) => pids.has(p)), "the hung process was replaced");
    assert.equal(h.of("plugin.backoff", "busy_loop").length, 1, "the offender alone is backed off");
    assert.equal(h.host.status("counter").restarts, 0, "the neighbour is not blamed");
  } finally {
    await h.close();
  }
});

Deno.test("hostile alloc: running out of memory ends only its own sandbox, detected and restarted", async () => {
  await hostile("alloc", { conf: { memory_mb: 48, deadline_ms: 10_000 }, timeoutMs: 40_000 }, (h) => {
    const errs = errors(h, "alloc");
    assert.equal(errs.length, 3);
    for (const m of errs) assert.match(m, /ran out of memory \(limit 48 MB\)/);
    assert.equal(h.host.status("alloc").status, "quarantined");
  });
});

Deno.test("hostile throw_load: an exception at load is evented and restarted with backoff, then quarantined", async () => {
  await hostile("throw_load", {}, (h) => {
    const errs = errors(h, "throw_load");
    assert.equal(errs.length, 3);
    for (const m of errs) assert.match(m, /boom at load/);
    assert.deepEqual(h.of("plugin.backoff", "throw_load").map((e) => e.data.delayMs), [50, 100]);
    assert.equal(h.host.status("throw_load").restarts, 2);
  });
});

Deno.test("hostile throw_poll: exceptions in poll are evented, backed off, then quarantined", async () => {
  await hostile("throw_poll", {}, (h) => {
    const errs = errors(h, "throw_poll");
    assert.deepEqual(errs, ["boom in poll", "boom in poll", "boom in poll"]);
    assert.deepEqual(h.of("plugin.backoff", "throw_poll").map((e) => e.data.delayMs), [50, 100]);
    assert.equal(h.host.status("throw_poll").lastError, "boom in poll");
  });
});

Deno.test("hostile flood: calls over budget are refused with plugin.flood, the broker stays bounded", async () => {
  let polls = 0;
  const t0 = Date.now();
  await hostile("flood", {
    grants: { i2c: [0x77] },
    limits: { maxInFlight: 32, perSecond: 1000 },
    // Generous: this case is about the budget, not the deadline, on a busy machine.
    conf: { deadline_ms: 20_000 },
    done: (h) => h.of("plugin.flood", "flood").length > 0 && ++polls > 2,
  }, (h, outputs) => {
    const reading = outputs.find((o) => o.startsWith("["));
    assert.ok(
      reading,
      `no flood poll returned: ${outputs.join(" | ")} ${JSON.stringify(h.of("plugin.error"))}`,
    );
    const first = JSON.parse(reading)[0].values;
    assert.ok(first.refused > 0, JSON.stringify(first));
    assert.equal(first.ok + first.refused, 5000);
    // 20000 log lines per poll were sent; at most 1000 a second (across all calls) get through.
    const logged = h.logs.filter((l) => l.startsWith("flood ")).length;
    const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
    assert.ok(logged <= 1000 * seconds, `${logged} log lines in ${seconds} s`);
    assert.ok(logged < 20000 * outputs.length, "logs over budget were dropped");
    const flood = h.of("plugin.flood", "flood").find((e) => e.data.kind === "calls")!.data;
    assert.match(
      String(flood.reason),
      /more than (1000 capability calls per second|32 capability calls in flight)/,
    );
    assert.equal(h.host.status("flood").status, "running", JSON.stringify(h.of("plugin.error")));
  });
});

Deno.test("hostile throw_poll in the trusted worker: its quarantine restarts the worker; the neighbour reloads unblamed", async () => {
  const h = await makeHarness({
    plugins: ["hostile/throw_poll", "plugins/counter"],
    grants: { counter: { i2c: [0x77], state: true, leds: [0] } },
    settings: {
      throw_poll: { enabled: true, isolation: "trusted" },
      counter: { enabled: true, isolation: "trusted" },
    },
  });
  try {
    assert.equal((await h.host.sandboxes()).length, 1, "one shared process");
    assert.equal((await h.host.poll("counter"))[0].values.total, 1);
    await until(async () => {
      await h.host.poll("throw_poll").catch(() => {});
      return h.host.status("throw_poll").status === "quarantined";
    }, 15_000);
    await until(() =>
      h.host.status("counter").status === "running" && h.of("plugin.start", "counter").length === 2
    );
    const [after] = await h.host.poll("counter");
    assert.equal(after.values.polls, 1, "module globals start over in the new worker");
    assert.equal(after.values.total, 2, "the state capability survived the eviction");
    assert.equal(h.host.status("counter").restarts, 0, "the neighbour is not blamed");
    assert.equal(h.of("plugin.error", "counter").length, 0, JSON.stringify(h.of("plugin.error", "counter")));
    assert.equal(h.of("plugin.start", "counter")[1].data.isolation, "trusted");
  } finally {
    await h.close();
  }
});

Deno.test("hostile big_message: an oversized message ends that plugin's worker, not its shared neighbours", async () => {
  const h = await makeHarness({
    plugins: ["hostile/big_message", "plugins/counter"],
    grants: { counter: { i2c: [0x77], state: true, leds: [0] } },
    settings: {
      big_message: { enabled: true, isolation: "shared" },
      counter: { enabled: true, isolation: "shared" },
    },
  });
  try {
    await h.host.poll("counter");
    await assert.rejects(h.host.poll("big_message"), /sent a message of \d+ bytes, over 1048576/);
    // Keep polling it: each poll crashes its worker again until it is quarantined.
    await until(
      async () => {
        await h.host.poll("big_message").catch(() => {});
        return h.host.status("big_message").status === "quarantined";
      },
      10_000,
      "quarantine",
    );
    const [c] = await h.host.poll("counter");
    assert.equal(c.values.polls, 2, "the neighbour's worker was never restarted");
    assert.equal(h.of("plugin.start", "counter").length, 1);
    assert.equal((await h.host.sandboxes()).length, 1);
  } finally {
    await h.close();
  }
});
