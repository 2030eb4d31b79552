/**
 * A byte and count bound on socket.io's connection-state-recovery buffer. socket.io's session-aware
 * adapter keeps every broadcast packet for `maxDisconnectionDuration` with no other bound, so a
 * flood of large events (a spoke pushing max-size snapshots) held hundreds of MB. This trims it,
 * oldest first; a client that was away longer than the buffer reaches gets a fresh session (and
 * catches up from the event log), as after an expired session. With no client connected and no
 * session awaiting recovery, packets are neither encoded nor kept.
 *
 * @module
 */

/** The part of socket.io's `SessionAwareAdapter` this touches. */
interface RecoveryAdapter {
  packets?: Array<{ data: unknown; bytes?: number }>;
  sessions?: Map<unknown, unknown>;
  nsp?: { sockets?: Map<unknown, unknown> };
  broadcast(packet: unknown, opts: unknown): void;
}

/** Bounds of {@link boundRecoveryBuffer}. */
export interface RecoveryBounds {
  /** Bytes of packets kept (JSON length). Default 8 MiB. */
  maxBytes?: number;
  /** Packets kept. Default 10 000. */
  maxPackets?: number;
  /** Packets kept while no disconnected session waits to recover (a disconnect in flight). Default 64. */
  idleKeep?: number;
}

/**
 * Bound the recovery buffer of `adapter` (`io.of("/").adapter`); a no-op for an adapter
 * without one (recovery off).
 *
 * @returns the current byte total, for tests and metrics
 */
export function boundRecoveryBuffer(adapter: unknown, bounds: RecoveryBounds = {}): () => number {
  const a = adapter as RecoveryAdapter;
  if (!Array.isArray(a.packets) || typeof a.broadcast !== "function") return () => 0;
  const maxBytes = bounds.maxBytes ?? 8 * 1024 * 1024;
  const maxPackets = bounds.maxPackets ?? 10_000;
  const idleKeep = bounds.idleKeep ?? 64;
  const original = a.broadcast.bind(a);
  let bytes = 0;
  let head: unknown = undefined;
  const total = () => {
    const packets = a.packets!;
    // The adapter's own expiry timer splices from the front: recount when the head moved under us.
    if (packets[0] !== head) {
      bytes = packets.reduce((s, p) => s + (p.bytes ?? 0), 0);
      head = packets[0];
    }
    return bytes;
  };
  a.broadcast = (packet, opts) => {
    // Nobody connected and nobody away within the recovery window: nothing to deliver or keep
    // (socket.io would still encode and store every packet).
    if (a.nsp?.sockets?.size === 0 && a.sessions?.size === 0) return;
    const packets = a.packets!;
    const before = packets.length;
    original(packet, opts);
    if (packets.length === before) return;
    total();
    const stored = packets[packets.length - 1];
    let size = 0;
    try {
      size = JSON.stringify(stored.data).length;
    } catch {
      size = maxBytes; // unserializable: not worth keeping
    }
    stored.bytes = size;
    bytes += size;
    if (head === undefined) head = packets[0];
    let drop = 0;
    const keep = (a.sessions?.size ?? 0) > 0 ? maxPackets : Math.min(maxPackets, idleKeep);
    while (drop < packets.length - 1 && (bytes > maxBytes || packets.length - drop > keep)) {
      bytes -= packets[drop].bytes ?? 0;
      drop++;
    }
    if (drop > 0) {
      packets.splice(0, drop);
      head = packets[0];
    }
  };
  return total;
}
