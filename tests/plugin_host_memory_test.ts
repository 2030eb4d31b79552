/**
 * The hostile-plugin suite, part 6: memory a plugin holds itself. `memory_mb` bounds the
 * sandbox process's resident memory, not only the V8 heap: ArrayBuffers and Blobs count.
 * Crossing the limit is an out-of-memory crash of that plugin, reported as such, and it never
 * costs the host process or the neighbour.
 */
import assert from "node:assert/strict";
import { hostile } from "./fixtures/plugins/_harness.ts";
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
