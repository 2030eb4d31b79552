/**
 * `/metrics` of the real service passes `promtool check metrics` (Debian `prometheus`): names,
 * units in names, `_total` counters, HELP and TYPE lines — Prometheus' own linter is the judge.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startService, waitFor } from "./e2e/_helpers.ts";

Deno.test("GET /metrics of a running service is clean under promtool check metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-prom-" });
  const svc = await startService({
    name: "promtool",
    toml: `[polling]\ninterval_seconds = 0.5\n\n[cluster]\nnode_id = "prom"\n\n[shm]\nbackend = "file"\n` +
      `file_dir = "${dir}/shm"\n\n[hub]\nhost = "127.0.0.1"\ntoken = "prom-token"\n\n[state]\ndir = "${dir}"\n`,
  });
  try {
    const text = await waitFor("readings of all four sensors in /metrics", async () => {
      const res = await fetch(`${svc.url}/metrics`, { headers: { authorization: "Bearer prom-token" } });
      const body = await res.text();
      return [
          "harvester_temperature_celsius",
          "harvester_pressure_pascals",
          "harvester_humidity_ratio",
          "harvester_cpu_temperature_celsius",
        ]
          .every((m) => body.includes(`\n${m}{`))
        ? body
        : null;
    }, 20_000);
    const check = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
    const w = check.stdin.getWriter();
    await w.write(new TextEncoder().encode(text!));
    await w.close();
    const out = await check.output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, said);
    assert.equal(said.trim(), "", `promtool found problems:\n${said}`);
    assert.match(text!, /^harvester_pressure_pascals\{node="prom",sensor="bme680"\} 1\d{5}(\.\d+)?$/m);
    assert.match(text!, /^harvester_node_up\{node="prom"\} 1$/m);
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
