import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Server } from "socket.io";
import { boundRecoveryBuffer } from "./feed_recovery.ts";

Deno.test("boundRecoveryBuffer() keeps nothing with nobody there, few while no session waits, at most max while one does", async () => {
  const http = createServer();
  const io = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 120_000 } });
  try {
    boundRecoveryBuffer(io.of("/").adapter, { maxPackets: 200 });
    const adapter = io.of("/").adapter as unknown as {
      packets: unknown[];
      sessions: Map<string, unknown>;
      nsp: { sockets: Map<string, unknown> };
    };
    for (let i = 0; i < 5000; i++) io.emit("event", { i, pad: "x".repeat(100) });
    assert.equal(adapter.packets.length, 0, "no client and no session: nothing is encoded or kept");
    adapter.nsp.sockets.set("s1", {});
    for (let i = 0; i < 5000; i++) io.emit("event", { i, pad: "x".repeat(100) });
    assert.equal(adapter.packets.length, 64, "no session waits: only a disconnect in flight is served");
    adapter.nsp.sockets.delete("s1");
    adapter.sessions.set("pid", { disconnectedAt: Date.now(), rooms: [] });
    for (let i = 0; i < 5000; i++) io.emit("event", { i });
    assert.equal(adapter.packets.length, 200);
  } finally {
    io.close();
    await new Promise((r) => http.close(() => r(undefined)));
  }
});
