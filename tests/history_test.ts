/**
 * History end to end: the real service records what its plugins read, `/api/history` and the CSV
 * export answer from the recorder with units and buckets, bad ranges are 400s naming the
 * parameter, MCP `get_history` / `get_statistics` (real SDK client) read the same data, and a hub
 * restart keeps what was recorded.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { freePort, startService, waitFor } from "./e2e/_helpers.ts";

const AUTH = { authorization: "Bearer hist-token" };

function toml(dir: string): string {
  return `[polling]\ninterval_seconds = 0.5\n\n[cluster]\nnode_id = "hist"\n\n[shm]\nbackend = "file"\n` +
    `file_dir = "${dir}/shm"\n\n[hub]\nhost = "127.0.0.1"\ntoken = "hist-token"\n\n[state]\ndir = "${dir}"\n\n` +
    `[plugins.dht22]\ncadence_seconds = 0.5\n`;
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(url, { headers: AUTH });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch { /* csv */ }
  return { status: res.status, body, text };
}

Deno.test({
  name:
    "history: recorded readings answer /api/history, CSV and MCP; bad ranges are 400; a restart keeps them",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-hist-" });
    const port = freePort();
    let svc = await startService({ name: "history", port, toml: toml(dir) });
    try {
      const q = `${svc.url}/api/history?sensor=hist:dht22&field=temperature&from=-10m&step=1`;
      const first = (await waitFor("5 s of dht22 temperature", async () => {
        const r = await get(q);
        return r.status === 200 && (r.body.buckets as unknown[]).length >= 5 ? r.body : null;
      }, 20_000))!;
      assert.equal(first.unit, "°C");
      const health = await (await fetch(`${svc.url}/health`)).json();
      assert.equal(health.components.recorder?.status, "ok", "the recorder is a /health component");
      assert.equal(first.tier, "raw");
      for (const b of first.buckets as { min: number; max: number; mean: number; count: number }[]) {
        assert.ok(b.min <= b.mean && b.mean <= b.max && b.count >= 1);
        assert.ok(b.mean > 10 && b.mean < 35, `room temperature ${b.mean}`);
      }
      const all = await get(`${svc.url}/api/history?sensor=hist:bme680&from=-10m`);
      const fields = (all.body.fields as { field: string }[]).map((f) => f.field);
      for (const f of ["temperature", "humidity", "pressure", "gas_resistance"]) {
        assert.ok(fields.includes(f), f);
      }
      assert.ok(!fields.includes("iaq_status"), "string states are not numeric series");
      const minute = await get(`${svc.url}/api/history?sensor=hist:dht22&field=temperature&from=-2h&step=5m`);
      assert.equal(minute.body.tier, "1m");
      const csv = await get(
        `${svc.url}/api/history/export.csv?sensor=hist:dht22&field=humidity&from=-10m&step=1`,
      );
      assert.equal(csv.status, 200);
      const lines = csv.text.trim().split("\n");
      assert.equal(lines[0], "t,min,max,mean,count");
      assert.ok(
        lines.length > 3 && lines.slice(1).every((l) => /^\d{4}-[^,]+Z,[\d.]+,[\d.]+,[\d.]+,\d+$/.test(l)),
        csv.text,
      );

      const bad: [string, string, RegExp][] = [
        ["sensor=hist&field=x", "sensor", /must be node:sensor/],
        ["sensor=hist:dht22&field=temperature&from=yesterday", "from", /'from' must be ISO 8601/],
        ["sensor=hist:dht22&field=temperature&from=-1h&to=-2h", "to", /'to' must be after 'from'/],
        ["sensor=hist:dht22&field=temperature&from=-10y&step=1", "step", /more than 50000/],
        ["sensor=hist:dht22&field=temperature&step=fast", "step", /'step' must be seconds/],
        ["sensor=hist:dht22&field=nope", "field", /no recorded field 'nope'/],
      ];
      for (const [query, field, message] of bad) {
        const r = await get(`${svc.url}/api/history?${query}`);
        assert.equal(r.status, 400, `${query}: ${r.text}`);
        assert.equal(r.body.field, field, query);
        assert.match(String(r.body.error), message);
      }

      const client = new Client({ name: "history-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`), { requestInit: { headers: AUTH } }),
      );
      try {
        const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
        assert.ok(tools.includes("get_history") && tools.includes("get_statistics"));
        const h = await client.callTool({
          name: "get_history",
          arguments: {
            sensor: "hist:dht22",
            field: "temperature",
            from: "-10m",
            step: "1",
            aggregate: "max",
          },
        });
        const hv = JSON.parse((h.content as { text: string }[])[0].text);
        assert.ok(
          hv.fields[0].points.length >= 5 &&
            hv.fields[0].points.every((p: { value: number }) => p.value > 10),
        );
        const st = await client.callTool({
          name: "get_statistics",
          arguments: { sensor: "hist:dht22", field: "temperature", from: "-10m" },
        });
        const s = JSON.parse((st.content as { text: string }[])[0].text);
        assert.ok(s.count >= 5 && s.min <= s.mean && s.mean <= s.max, JSON.stringify(s));
      } finally {
        await client.close();
      }

      // A restart keeps what was recorded (the file is the recorder's, not the process').
      const before = ((await get(q)).body.buckets as { t: number }[]).map((b) => b.t);
      await svc.stop();
      svc = await startService({ name: "history-2", port, toml: toml(dir) });
      const after = await waitFor("history after the restart", async () => {
        const r = await get(q);
        return r.status === 200 ? (r.body.buckets as { t: number }[]).map((b) => b.t) : null;
      }, 20_000);
      for (const t of before) assert.ok(after!.includes(t), `bucket ${t} lost in the restart`);
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
