/**
 * The hostile-plugin suite, part 1: sandbox escapes. Each case is a real plugin folder in
 * tests/fixtures/hostile/, run by a real PluginHost in real sandbox processes beside a good
 * plugin. For each: the secret never shows up in anything that comes back (readings, errors,
 * events, logs), the good plugin keeps polling, an event says what happened, and the offender
 * ends quarantined (after restarts with backoff where it got as far as running).
 */
import assert from "node:assert/strict";
import { hostile, makeHarness } from "./fixtures/plugins/_harness.ts";
import type { Harness } from "./fixtures/plugins/_harness.ts";

/** Messages of the plugin.error events of one plugin. */
const errors = (h: Harness, name: string) => h.of("plugin.error", name).map((e) => String(e.data.message));
const quarantineReason = (h: Harness, name: string) =>
  String(h.of("plugin.quarantine", name)[0]?.data.reason);

/** A plugin that failed at run time: errors evented, restarted/paused with backoff, then quarantined. */
function assertRuntimeRefusal(h: Harness, name: string, pattern: RegExp): void {
  const errs = errors(h, name);
  assert.equal(errs.length, 3, errs.join("\n"));
  for (const m of errs) assert.match(m, pattern);
  assert.deepEqual(h.of("plugin.backoff", name).map((e) => e.data.delayMs), [50, 100]);
  assert.equal(h.of("plugin.quarantine", name).length, 1);
  assert.equal(h.host.status(name).status, "quarantined");
}

Deno.test("hostile read_file: Deno file API is gone in the sandbox", async () => {
  await hostile("read_file", {}, (h) => assertRuntimeRefusal(h, "read_file", /readTextFile/));
});

Deno.test("hostile json_static: a static JSON import outside the folder is refused at bundling", async () => {
  await hostile("json_static", {}, (h) => {
    assert.equal(
      quarantineReason(h, "json_static"),
      'Cannot bundle plugin "json_static": mod.ts imports "../../../secret/secret.json": it is outside the plugin folder and the SDK',
    );
    assert.equal(h.host.status("json_static").restarts, 0);
  });
});

Deno.test("hostile json_dynamic: a computed dynamic import is refused by the bundle check", async () => {
  await hostile("json_dynamic", {}, (h) => {
    assert.match(
      quarantineReason(h, "json_dynamic"),
      /^Cannot load plugin "json_dynamic": dynamic import\(\) is not allowed \(bundle line \d+\)$/,
    );
  });
});

Deno.test("hostile json_dynamic_literal: a literal dynamic import is refused by the resolver", async () => {
  await hostile("json_dynamic_literal", {}, (h) => {
    assert.equal(
      quarantineReason(h, "json_dynamic_literal"),
      'Cannot bundle plugin "json_dynamic_literal": mod.ts imports "../../../secret/secret.json": dynamic import() is not allowed',
    );
  });
});

Deno.test("hostile remote_import: a remote import is refused", async () => {
  await hostile("remote_import", {}, (h) => {
    assert.equal(
      quarantineReason(h, "remote_import"),
      'Cannot bundle plugin "remote_import": mod.ts imports "https://evil.example.com/payload.ts": remote imports are not allowed',
    );
  });
});

Deno.test("hostile nested_worker: Worker is not reachable", async () => {
  await hostile("nested_worker", {}, (h) => assertRuntimeRefusal(h, "nested_worker", /not a constructor/));
});

Deno.test("hostile dlopen: Deno.dlopen is not reachable", async () => {
  await hostile("dlopen", {}, (h) => assertRuntimeRefusal(h, "dlopen", /dlopen/));
});

Deno.test("hostile command: Deno.Command is not reachable", async () => {
  await hostile("command", {}, (h) => assertRuntimeRefusal(h, "command", /Command/));
});

Deno.test("hostile fetch: no request leaves the sandbox", async () => {
  let requests = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    requests++;
    return new Response("pong");
  });
  try {
    await hostile("fetch", { settings: { url: `http://127.0.0.1:${server.addr.port}/` } }, (h) => {
      assertRuntimeRefusal(h, "fetch", /fetch/);
      assert.equal(requests, 0);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("hostile env: the broker's environment is not reachable", async () => {
  Deno.env.set("HARVESTER_TEST_SECRET", "HARVESTER-SECRET-ENV-0c5e");
  try {
    await hostile("env", {}, (h) => assertRuntimeRefusal(h, "env", /env/));
  } finally {
    Deno.env.delete("HARVESTER_TEST_SECRET");
  }
});

Deno.test("hostile eval_direct: direct eval is refused by the bundle check", async () => {
  await hostile("eval_direct", {}, (h) => {
    assert.match(
      quarantineReason(h, "eval_direct"),
      /^Cannot load plugin "eval_direct": eval is not allowed \(bundle line \d+\)$/,
    );
  });
});

Deno.test("hostile function_ctor: new Function is refused by the bundle check", async () => {
  await hostile("function_ctor", {}, (h) => {
    assert.match(quarantineReason(h, "function_ctor"), /the Function constructor is not allowed/);
  });
});

Deno.test("hostile eval_indirect: code generation the check cannot see is stopped by V8", async () => {
  await hostile("eval_indirect", {}, (h) => {
    assertRuntimeRefusal(h, "eval_indirect", /^code generation outcomes: /);
    const outcomes = errors(h, "eval_indirect")[0].replace("code generation outcomes: ", "").split(",");
    assert.equal(outcomes.length, 4);
    assert.ok(!outcomes.includes("ran"), outcomes.join());
    assert.ok(outcomes.slice(0, 3).every((o) => o === "EvalError"), outcomes.join());
  });
});

Deno.test("hostile probe_globals: every global that reaches outside is gone before plugin code runs", async () => {
  let polls = 0;
  await hostile("probe_globals", { done: () => ++polls > 1 }, (_h, outputs) => {
    const seen = JSON.parse(outputs[0])[0].values as Record<string, string>;
    for (const [name, type] of Object.entries(seen)) assert.equal(type, "undefined", `${name} is reachable`);
    assert.equal(Object.keys(seen).length, 17);
  });
});

Deno.test("hostile stdout_forge: console output cannot forge protocol messages for another plugin", async () => {
  const h = await makeHarness({
    plugins: ["hostile/stdout_forge", "plugins/counter"],
    grants: { counter: { i2c: [0x77], state: true, leds: [0] } },
    settings: {
      stdout_forge: { enabled: true, isolation: "shared" },
      counter: { enabled: true, isolation: "shared" },
    },
  });
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal((await h.host.poll("stdout_forge"))[0].values.sent, 3);
      const [c] = await h.host.poll("counter");
      assert.equal(c.sensor, "counter");
      assert.equal(c.values.chip, 0x61, "no forged write reached the device");
    }
    assert.equal(h.leds.get(0)?.r, 0, "no forged LED write");
    assert.ok(
      h.logs.some((l) => l.startsWith("stdout_forge info {")),
      "console output lands in the plugin's log",
    );
    assert.equal(h.host.status("counter").status, "running");
  } finally {
    await h.close();
  }
});
