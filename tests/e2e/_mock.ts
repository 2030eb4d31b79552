/**
 * A throwaway stand-in for the hub that serves the dashboard contract (REST + socket.io) with
 * simulated readings, for developing the dashboard before the real service runs. The e2e tests
 * drive the real service; this is only for design work:
 *
 *     deno run --allow-all tests/e2e/_mock.ts 8765
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Server } from "socket.io";

const DASHBOARD = new URL("../../services/hub/dashboard/", import.meta.url).pathname;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

interface Envelope {
  id: string;
  type: string;
  ts: string;
  cycle: number;
  node: string;
  data: Record<string, unknown>;
}

/** A running mock hub. */
export interface MockHub {
  url: string;
  setNodeStatus(node: string, status: "online" | "stale" | "offline"): void;
  close(): Promise<void>;
}

/** Starts the mock hub on `port` (0 = any free port). */
export async function startMock(port = 0): Promise<MockHub> {
  // A CSRF token per start.
  const TOKEN = `mock-${crypto.randomUUID()}`;
  const events: Envelope[] = [];
  let seq = 0;
  let cycle = 0;
  const status: Record<string, "online" | "stale" | "offline"> = { hub: "online", spoke1: "online" };
  const readings = new Map<string, Record<string, unknown>>();
  const leds = Array.from({ length: 11 }, () => "#000000");
  const logs: Record<string, { ts: string; level: string; source: string; message: string }[]> = {
    hub: [],
    spoke1: [],
  };
  const plugins = [
    { node: "hub", id: "bme680", status: "running", restarts: 0, lastError: null, mood: "active" },
    { node: "hub", id: "system-monitor", status: "running", restarts: 0, lastError: null, mood: "idle" },
    { node: "hub", id: "oled", status: "running", restarts: 0, lastError: null, mood: "idle" },
    {
      node: "hub",
      id: "flaky",
      status: "quarantined",
      restarts: 5,
      lastError: "Cannot read I2C device 0x23 on bus 1: address not acknowledged",
      mood: "overwhelmed",
    },
    { node: "spoke1", id: "dht22", status: "running", restarts: 1, lastError: null, mood: "tired" },
    { node: "spoke1", id: "bme680", status: "running", restarts: 0, lastError: null, mood: "active" },
  ];

  let io: Server | null = null;
  function emit(type: string, node: string, data: Record<string, unknown>): Envelope {
    const ev = { id: `${Date.now()}-${seq++}`, type, ts: new Date().toISOString(), cycle, node, data };
    events.push(ev);
    if (events.length > 2000) events.shift();
    io?.emit("event", ev);
    logs[node]?.push({
      ts: ev.ts,
      level: type.includes("error") ? "error" : "info",
      source: "events",
      message: type,
    });
    if ((logs[node]?.length ?? 0) > 200) logs[node].shift();
    return ev;
  }

  function reading(
    node: string,
    sensor: string,
    plugin: string,
    values: Record<string, unknown>,
    units: Record<string, string>,
  ) {
    const rec = {
      id: `${node}:${sensor}`,
      node,
      sensor,
      plugin,
      values,
      units,
      timestamp: new Date().toISOString(),
    };
    readings.set(rec.id, rec);
    emit("reading", node, rec);
  }

  function tick() {
    cycle++;
    emit("cycle.start", "hub", { cycle });
    const t = Date.now() / 1000;
    const iaq = Math.round(120 + 90 * Math.sin(t / 7));
    if (status.hub === "online") {
      reading("hub", "bme680", "bme680", {
        temperature: +(22 + Math.sin(t / 5)).toFixed(2),
        humidity: +(45 + 3 * Math.sin(t / 9)).toFixed(1),
        pressure: +(1013 + Math.sin(t / 11)).toFixed(1),
        gas_resistance: Math.round(120000 + 5000 * Math.sin(t / 3)),
        iaq,
        iaq_status: iaq <= 50 ? "Excellent" : iaq <= 100 ? "Good" : iaq <= 150 ? "Moderate" : "Poor",
      }, { temperature: "°C", humidity: "%", pressure: "hPa", gas_resistance: "Ω", iaq: "IAQ" });
      reading("hub", "system", "system-monitor", {
        cpu_temp: +(48 + 4 * Math.sin(t / 4)).toFixed(1),
        cpu_usage: +(20 + 15 * Math.abs(Math.sin(t / 2))).toFixed(1),
        memory_used_mb: 812,
        memory_total_mb: 3906,
        uptime_seconds: Math.round(t % 100000),
      }, {
        cpu_temp: "°C",
        cpu_usage: "%",
        memory_used_mb: "MB",
        memory_total_mb: "MB",
        uptime_seconds: "s",
      });
      reading("hub", "anima", "anima", {
        warmth: 0.6,
        clarity: 0.7,
        stability: 0.8,
        presence: 0.5,
        name: "Lumen",
      }, {});
      const i = cycle % 8; // 8–10 stay free for the LED picker
      leds[i] = ["#ff0000", "#00ff00", "#0000ff", "#ffaa00"][cycle % 4];
      emit("led.sync", "hub", { leds: [...leds] });
    }
    emit("cycle.end", "hub", { cycle, duration_ms: 1.5 });
    if (status.spoke1 === "online") {
      reading("spoke1", "dht22", "dht22", {
        temperature: +(24 + 2 * Math.sin(t / 6)).toFixed(1),
        humidity: +(55 + 5 * Math.sin(t / 8)).toFixed(1),
        alarm: false,
      }, { temperature: "°C", humidity: "%" });
    }
  }

  function oled(): string {
    const fb = new Uint8Array(1024);
    for (let x = 0; x < 128; x++) {
      fb[x] = 0x01; // top row
      fb[7 * 128 + x] = 0x80; // bottom row
      fb[3 * 128 + x] = (x + cycle) % 8 < 4 ? 0xff : 0x00;
    }
    for (let p = 0; p < 8; p++) fb[p * 128] = fb[p * 128 + 127] = 0xff;
    let s = "";
    for (const b of fb) s += String.fromCharCode(b);
    return btoa(s);
  }

  function json(res: ServerResponse, code: number, body: unknown) {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
    let text = "";
    for await (const c of req) text += String(c);
    try {
      return JSON.parse(text || "{}");
    } catch {
      return {};
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    if (req.method === "GET" && p === "/") {
      const html = await Deno.readTextFile(DASHBOARD + "index.html");
      res.writeHead(200, { "content-type": TYPES[".html"] });
      res.end(html);
      return;
    }
    if (req.method === "GET" && p === "/auth/session") {
      // The mock is always logged in as an operator; writes carry this CSRF token.
      return json(res, 200, {
        authenticated: true,
        kind: "user",
        user: "mock",
        role: "operator",
        scopes: ["act", "read"],
        csrf: TOKEN,
        public_read: false,
        setup_pending: false,
      });
    }
    if (req.method === "GET" && p.startsWith("/assets/")) {
      const rel = p.slice(8);
      if (rel.includes("..")) return json(res, 400, { error: "bad path" });
      try {
        const data = await Deno.readFile(DASHBOARD + rel);
        res.writeHead(200, {
          "content-type": TYPES[rel.slice(rel.lastIndexOf("."))] ?? "application/octet-stream",
        });
        res.end(data);
      } catch {
        json(res, 404, { error: "not found" });
      }
      return;
    }
    if (req.method === "GET" && p === "/health") return json(res, 200, { ok: true, node: "hub" });
    if (req.method === "GET" && p === "/api/readings") {
      return json(res, 200, {
        timestamp: new Date().toISOString(),
        readings: [...readings.values()].map((r) => ({ ...r, stale: status[r.node as string] !== "online" })),
      });
    }
    if (req.method === "GET" && p === "/api/nodes") {
      return json(res, 200, {
        nodes: Object.keys(status).map((id) => ({
          id,
          role: id === "hub" ? "hub" : "spoke",
          status: status[id],
          lastSeen: new Date().toISOString(),
          cycle,
          leds: id === "hub" ? leds : Array(11).fill("#000000"),
          oled: id === "hub" ? oled() : null,
          anima: id === "hub" ? { warmth: 0.6, clarity: 0.7, stability: 0.8, presence: 0.5 } : null,
          identity: id === "hub" ? { creature_id: "c-1", name: "Lumen", awakenings: 3 } : null,
        })),
      });
    }
    if (req.method === "GET" && p === "/api/plugins") {
      return json(res, 200, {
        plugins: plugins.map((pl) => ({
          node: pl.node,
          id: pl.id,
          version: "1.0.0",
          status: pl.status,
          restarts: pl.restarts,
          lastError: pl.lastError,
          lastErrorAt: pl.lastError ? new Date().toISOString() : null,
          lastPollAt: new Date().toISOString(),
          scheduler: {
            mood: pl.mood,
            energy: 0.72,
            inboxDepth: 2,
            cadenceMs: 2000,
            priority: 0.5,
            lastRunAt: new Date().toISOString(),
            runs: cycle,
            overruns: 0,
            drops: 0,
            deferred: 1,
          },
        })),
      });
    }
    if (req.method === "GET" && p === "/api/logs") {
      const node = url.searchParams.get("node") ?? "hub";
      return json(res, 200, { node, lines: logs[node] ?? [] });
    }
    if (req.method === "GET" && p === "/api/events") {
      const type = url.searchParams.get("type") ?? "";
      const limit = Number(url.searchParams.get("limit") ?? 100);
      return json(res, 200, { events: events.filter((e) => e.type.startsWith(type)).slice(-limit) });
    }
    if (req.method === "POST") {
      if (req.headers["x-csrf-token"] !== TOKEN) {
        return json(res, 403, { error: "Missing or wrong CSRF token" });
      }
      const b = await body(req);
      if (p === "/api/buzzer") {
        if (!["single", "triple", "long"].includes(String(b.pattern))) {
          return json(res, 400, { error: "Invalid body", field: "pattern", problem: "unknown pattern" });
        }
        const node = String(b.node ?? "hub");
        emit("buzzer", node, { pattern: b.pattern, node });
        return json(res, 200, { ok: true, node, result: { pattern: b.pattern } });
      }
      if (p === "/api/leds") {
        const hex = (n: unknown) => Number(n).toString(16).padStart(2, "0");
        leds[Number(b.index)] = `#${hex(b.r)}${hex(b.g)}${hex(b.b)}`;
        emit("led.sync", "hub", { leds: [...leds] });
        return json(res, 200, { ok: true, node: String(b.node ?? "hub"), result: null });
      }
      const m = p.match(/^\/api\/plugins\/([^/]+)\/reload$/);
      if (m) {
        const node = String(b.node ?? "hub");
        emit("plugin.reload", node, { plugin: m[1] });
        return json(res, 200, { ok: true, node, result: { plugin: m[1] } });
      }
    }
    json(res, 404, { error: "not found" });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => json(res, 500, { error: String(e) }));
  });
  const sio = new Server(server, { serveClient: false });
  io = sio;
  // The mock has no accounts: every page is "logged in" (see /auth/session).
  sio.on("connection", (socket) => {
    for (const e of events.slice(-50)) socket.emit("event", e);
    socket.on("replay", (m: { count?: number }) => {
      for (const e of events.slice(-Math.min(1000, m?.count ?? 50))) socket.emit("event", e);
    });
  });
  for (let i = 0; i < 3; i++) tick();
  const timer = setInterval(tick, 1000);
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    setNodeStatus(node, s) {
      status[node] = s;
      emit(s === "online" ? "node.online" : "node.offline", node, { node, status: s });
    },
    async close() {
      clearInterval(timer);
      await new Promise<void>((r) => sio.close(() => r()));
    },
  };
}

if (import.meta.main) {
  const hub = await startMock(Number(Deno.args[0] ?? 8765));
  console.log(`mock hub on ${hub.url}`);
}
