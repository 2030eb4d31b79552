/**
 * The hostile-plugin suite, part 6: memory a plugin holds itself. `memory_mb` bounds the
 * sandbox process's resident memory, not only the V8 heap: ArrayBuffers and Blobs count.
 * Crossing the limit is an out-of-memory crash of that plugin, reported as such, and it never
 * costs the host process or the neighbour.
 */
import assert from "node:assert/strict";
import { hostile, makeHarness, until } from "./fixtures/plugins/_harness.ts";
import { RUNTIME_ALLOWANCE_MB } from "../services/plugin_host/sandbox.ts";

for (const kind of ["arraybuffer", "blob"]) {
  Deno.test(`hostile offheap (${kind}): resident memory past memory_mb is an out-of-memory crash`, async () => {
    const limit = 48 + RUNTIME_ALLOWANCE_MB;
    const hostBefore = Deno.memoryUsage().rss;
    let peak = 0;
    await hostile("offheap", {
      conf: { memory_mb: 48, deadline_ms: 20_000 },
      settings: { kind },
      timeoutMs: 60_000,
      done: (h, n) => {
        void h.host.sandboxes().then((all) => {
          for (const s of all) if (s.plugins.includes("offheap")) peak = Math.max(peak, s.rssBytes ?? 0);
        });
        return h.host.status(n).status === "quarantined";
      },
    }, (h) => {
      const errs = h.of("plugin.error", "offheap").map((e) => String(e.data.message));
      assert.equal(errs.length, 3, errs.join("\n"));
      for (const m of errs) {
        assert.match(m, new RegExp(`ran out of memory \\(resident \\d+ MB over its limit of ${limit} MB\\)`));
      }
      // Sampled between watchdog checks: the process never got far past its limit.
      assert.ok(peak < (limit + 256) * 1024 * 1024, `sandbox peak ${peak} bytes`);
      const grew = Deno.memoryUsage().rss - hostBefore;
      assert.ok(grew < 128 * 1024 * 1024, `the host process grew by ${grew} bytes`);
    });
  });
}

Deno.test("hostile offheap in the shared sandbox: only the plugin that was running is blamed", async () => {
  const h = await makeHarness({
    plugins: ["hostile/offheap", "plugins/counter"],
    grants: { counter: { i2c: [0x77], state: true, leds: [0] } },
    settings: {
      offheap: { enabled: true, isolation: "shared", deadline_ms: 20_000 },
      counter: { enabled: true, isolation: "shared" },
    },
    extra: { sharedMemoryMb: 64 },
  });
  try {
    assert.equal((await h.host.poll("counter"))[0].values.total, 1);
    await assert.rejects(
      h.host.poll("offheap"),
      /ran out of memory \(resident \d+ MB over its limit of 128 MB\)/,
    );
    await until(
      () => h.host.status("counter").status === "running" && h.of("plugin.start", "counter").length === 2,
      15_000,
      "the neighbour back in a new shared process",
    );
    assert.equal((await h.host.poll("counter"))[0].values.total, 2, "its state survived");
    assert.equal(h.of("plugin.error", "counter").length, 0, "the neighbour is not blamed");
    assert.equal(h.host.status("counter").restarts, 0);
    assert.equal(h.of("plugin.error", "offheap").length, 1);
  } finally {
    await h.close();
  }
});
