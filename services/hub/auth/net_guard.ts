/**
 * Connection hygiene for the hub's `node:http`/`node:https` server, enforced by hand because
 * the runtime's `headersTimeout`/`requestTimeout` are not applied to slow clients: a connection
 * must deliver its request headers within `headerTimeoutMs` (also between keep-alive requests),
 * a request must finish within `requestTimeoutMs`, an idle socket is closed after `idleTimeoutMs`,
 * and one client address holds at most `maxPerClient` connections. Upgraded sockets (websocket)
 * leave the guard: socket.io's heartbeat watches them. Over TLS the raw socket's timer covers the
 * handshake and the TLS socket (what requests arrive on) takes over after it.
 *
 * Deadlines are timestamps checked by one sweep timer (every 1/8 of the shortest limit), not a
 * timer per request, and idleness is seen by the sweep as byte counters that stopped moving, not
 * by a socket timer that every read and write re-arms; the sweep also sees a response finish
 * (`writableFinished`) and starts the header timeout then. The hot path costs a few field writes,
 * and a cut comes at most 1/8 of the limit late.
 *
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Limits of {@link guardConnections}. */
export interface NetLimits {
  /** Time to receive request headers. Default 10 s. */
  headerTimeoutMs?: number;
  /** Time for one whole request (socket.io long-polls last ≈ 25 s). Default 60 s. */
  requestTimeoutMs?: number;
  /** Idle socket timeout. Default 30 s. */
  idleTimeoutMs?: number;
  /** Concurrent connections per client address. Default 32. */
  maxPerClient?: number;
}

/** Counters of what the guard cut. */
export interface NetGuardStats {
  headerTimeouts: number;
  requestTimeouts: number;
  refusedOverCap: number;
}

interface Tracked {
  /** `performance.now()` past which the socket is cut, or Infinity. */
  deadline: number;
  kind: "headerTimeouts" | "requestTimeouts";
  /** bytesRead + bytesWritten at the last sweep that saw them change, and when. */
  bytes: number;
  movedAt: number;
  /** The response in flight; once it has finished the sweep starts the header timeout. */
  res: ServerResponse | null;
}

/** Bytes a socket has moved, or null where the runtime does not count them. */
function bytesOf(sock: Socket): number | null {
  const n = sock.bytesRead + sock.bytesWritten;
  return Number.isFinite(n) ? n : null;
}

/**
 * Apply the limits to `server`.
 *
 * @returns live counters
 */
export function guardConnections(server: Server, limits: NetLimits = {}): NetGuardStats {
  const headerMs = limits.headerTimeoutMs ?? 10_000;
  const requestMs = limits.requestTimeoutMs ?? 60_000;
  const idleMs = limits.idleTimeoutMs ?? 30_000;
  const cap = limits.maxPerClient ?? 32;
  const stats: NetGuardStats = { headerTimeouts: 0, requestTimeouts: 0, refusedOverCap: 0 };
  const perClient = new Map<string, number>();
  const tracked = new Map<Socket, Tracked>();
  const rawByPeer = new Map<string, Socket>();
  const sweepMs = Math.max(10, Math.min(headerMs, requestMs, idleMs) / 8);
  let sweeper: ReturnType<typeof setInterval> | null = null;

  const sweep = () => {
    const now = performance.now();
    for (const [sock, t] of tracked) {
      if (t.res?.writableFinished) {
        // Finished since the last sweep: the next request's headers are due from now.
        t.res = null;
        t.deadline = now + headerMs;
        t.kind = "headerTimeouts";
      }
      if (t.deadline <= now) {
        stats[t.kind]++;
        tracked.delete(sock);
        sock.destroy();
        continue;
      }
      const b = bytesOf(sock);
      if (b !== t.bytes) {
        t.bytes = b ?? NaN;
        t.movedAt = now;
      } else if (now - t.movedAt >= idleMs) {
        tracked.delete(sock);
        sock.destroy();
      }
    }
    if (tracked.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = null;
    }
  };
  const track = (sock: Socket) => {
    const bytes = bytesOf(sock);
    tracked.set(sock, {
      deadline: Infinity,
      kind: "headerTimeouts",
      res: null,
      bytes: bytes ?? NaN,
      movedAt: performance.now(),
    });
    // A runtime without byte counters: the socket's own idle timer instead.
    if (bytes === null) sock.setTimeout?.(idleMs, () => sock.destroy());
    sweeper ??= setInterval(sweep, sweepMs);
  };
  const arm = (sock: Socket, ms: number, kind: "headerTimeouts" | "requestTimeouts") => {
    const t = tracked.get(sock);
    if (!t) return;
    t.deadline = performance.now() + ms;
    t.kind = kind;
  };
  const disarm = (sock: Socket) => {
    tracked.delete(sock);
  };
  server.once("close", () => {
    if (sweeper) clearInterval(sweeper);
    sweeper = null;
  });

  server.on("connection", (sock: Socket) => {
    const addr = sock.remoteAddress ?? "unknown";
    const n = (perClient.get(addr) ?? 0) + 1;
    if (n > cap) {
      stats.refusedOverCap++;
      sock.destroy();
      return;
    }
    perClient.set(addr, n);
    track(sock);
    const peer = `${addr}|${sock.remotePort}`;
    rawByPeer.set(peer, sock);
    arm(sock, headerMs, "headerTimeouts");
    sock.once("close", () => {
      disarm(sock);
      if (rawByPeer.get(peer) === sock) rawByPeer.delete(peer);
      const left = (perClient.get(addr) ?? 1) - 1;
      if (left <= 0) perClient.delete(addr);
      else perClient.set(addr, left);
    });
  });
  // HTTPS: requests arrive on the TLS socket, not the raw one.
  server.on("secureConnection", (tls: Socket) => {
    const raw = rawByPeer.get(`${tls.remoteAddress ?? "unknown"}|${tls.remotePort}`);
    if (raw) {
      disarm(raw);
      raw.setTimeout?.(0);
      tls.once("close", () => raw.destroy());
    }
    track(tls);
    arm(tls, headerMs, "headerTimeouts");
    tls.once("close", () => disarm(tls));
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const t = tracked.get(req.socket as Socket);
    if (!t) return;
    t.deadline = performance.now() + requestMs;
    t.kind = "requestTimeouts";
    t.res = res;
  });
  server.on("upgrade", (req: IncomingMessage) => {
    const sock = req.socket as Socket;
    disarm(sock);
    sock.setTimeout?.(0);
  });
  return stats;
}
