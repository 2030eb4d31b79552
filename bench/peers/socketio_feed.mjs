// The live-feed peer: a minimal socket.io server under Node, doing what the hub's feed does for
// the bench and nothing more (no auth, levels, subscriptions or recovery). Clients that send
// `auth.batch: true` get `events` arrays with the same leading-edge throttle as the hub
// (services/hub/feed_batch.ts); others get one `event` each. `POST /_bench/ticks {rate, seconds}`
// emits `bench.tick` events `{seq, sent}` like services/hub/_serve_for_test.ts --bench.
//
//     node bench/peers/socketio_feed.mjs <port> [window ms]   (needs socket.io in node_modules)
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
const windowMs = Number(process.argv[3] ?? 20);
if (!Number.isInteger(port) || port <= 0) {
  throw new Error(`Cannot start feed peer: bad port '${process.argv[2]}'`);
}

let pending = [];
let timer = null;
let lastFlush = -Infinity;
const flush = () => {
  timer = null;
  lastFlush = performance.now();
  const events = pending;
  pending = [];
  if (events.length) io.to("batch").emit("events", events);
};
const emit = (e) => {
  io.to("single").emit("event", e);
  pending.push(e);
  timer ??= setTimeout(flush, Math.max(0, lastFlush + windowMs - performance.now()));
};

const http = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/_bench/ticks") {
    res.writeHead(404).end();
    return;
  }
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const { rate, seconds } = JSON.parse(body);
    const every = 1000 / rate;
    const total = Math.round(rate * seconds);
    let sent = 0;
    const t0 = performance.now();
    const id = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / every) + 1);
      for (; sent < due; sent++) {
        emit({
          type: "bench.tick",
          ts: new Date().toISOString(),
          node: "peer",
          data: { seq: sent, sent: performance.timeOrigin + performance.now() },
        });
      }
      if (sent >= total) clearInterval(id);
    }, Math.max(1, Math.floor(every)));
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, total }));
  });
});
const io = new Server(http, { serveClient: false });
io.on("connection", (s) => s.join(s.handshake.auth?.batch === true ? "batch" : "single"));
http.listen(port, "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
