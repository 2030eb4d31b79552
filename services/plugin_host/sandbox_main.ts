/**
 * Entry of a sandbox child process. The broker starts it with no `--allow-*` flag, no remote
 * or npm loading, code generation from strings disabled and a heap cap, and talks to it over
 * stdin/stdout (see protocol.ts). Each plugin runs in its own permission-less worker started
 * from the bootstrap the broker sent in `init`; this process only relays messages and stamps
 * each one coming from a worker with that worker's plugin id.
 *
 * Trusted plugins loaded with the same pool key share one worker (a worker costs about 8 MB): a
 * message from that worker may name any of its members and no other, and when one member fails
 * or is unloaded the worker ends and the others are told they were `evicted` (reloaded by the
 * broker, not blamed).
 *
 * @module
 */
import { LineDecoder, MAX_BROKER_LINE, MAX_SANDBOX_LINE, toWireError } from "./protocol.ts";
import type { FromSandbox, ToSandbox, WireError } from "./protocol.ts";

const encoder = new TextEncoder();
/** A worker and the plugins in it: one, or the members of a pool. */
interface Slot {
  worker: Worker;
  members: Set<string>;
  /** The pool key, or null for a plugin's own worker. */
  pool: string | null;
}
/** The slot of every loaded plugin. */
const slots = new Map<string, Slot>();
/** Pooled workers by key. */
const pools = new Map<string, Slot>();
let bootstrapUrl = "";
/** Prefix of every protocol line (from `init`); never shared with a worker. */
let token = "";

/** Longest log line that crosses to the broker; plugin code cannot change this isolate's String. */
const MAX_LOG_CHARS = 2000;
/** Log lines per worker per second that cross at all; the rest are counted and reported. */
const LOG_LINES_PER_SECOND = 200;
interface LogWindow {
  start: number;
  count: number;
  dropped: number;
  /** Drops already reported to the broker. */
  sent: number;
}
const logWindows = new Map<string, LogWindow>();

/** Write one message as one line; stdout needs no permission. */
function send(msg: FromSandbox): void {
  let text: string;
  try {
    text = JSON.stringify(msg);
  } catch (e) {
    // BigInt, a cycle, a throwing toJSON: that worker's message, that worker's crash.
    if (msg.t === "crash" || !("plugin" in msg)) throw e;
    unload(msg.plugin);
    send({
      t: "crash",
      plugin: msg.plugin,
      error: {
        name: "TypeError",
        message: `sent a message that cannot be encoded: ${String(e).slice(0, 200)}`,
      },
    });
    return;
  }
  const data = encoder.encode(`${token} ${text}\n`);
  if (data.length > MAX_SANDBOX_LINE && msg.t !== "crash" && "plugin" in msg) {
    // One plugin's oversized message must not end the process for its neighbours.
    unload(msg.plugin);
    send({
      t: "crash",
      plugin: msg.plugin,
      error: {
        name: "RangeError",
        message: `sent a message of ${data.length} bytes, over ${MAX_SANDBOX_LINE}`,
      },
    });
    return;
  }
  let off = 0;
  while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
}

function toBase64(text: string): string {
  const data = encoder.encode(text);
  let bin = "";
  for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** End the plugin's worker; the other members of a pool are told they were evicted. */
function unload(plugin: string): void {
  const slot = slots.get(plugin);
  if (!slot) return;
  slot.worker.terminate();
  if (slot.pool !== null && pools.get(slot.pool) === slot) pools.delete(slot.pool);
  for (const m of slot.members) {
    slots.delete(m);
    logWindows.delete(m);
    if (m !== plugin) {
      send({ t: "evicted", plugin: m, reason: `plugin "${plugin}" in its shared worker stopped` });
    }
  }
}

/** End a worker after a failure: `blamed` (or every member) crashed, the rest are evicted. */
function fail(slot: Slot, blamed: string | null, error: WireError): void {
  const who = blamed ?? [...slot.members][0];
  if (who === undefined) return;
  const crashed = blamed === null ? [...slot.members] : [blamed];
  unload(who);
  for (const p of crashed) send({ t: "crash", plugin: p, error });
}

/** The plugin a worker's message is for: its own worker's plugin, or the member of the pool it names. */
function speaker(slot: Slot, claimed: unknown): string | null {
  if (slot.pool === null) return [...slot.members][0] ?? null;
  return typeof claimed === "string" && slot.members.has(claimed) ? claimed : null;
}

/** Pass one worker message on, under that worker's own plugin id and only in known shapes. */
function relay(slot: Slot, data: unknown): void {
  const m = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  const plugin = speaker(slot, m.plugin);
  if (plugin === null) {
    // A pooled worker naming a plugin that is not in it: trusted code only, but never relayed.
    if (m.t === "crash" && slot.pool !== null) fail(slot, null, toWireError(m.error));
    return;
  }
  if (m.t === "crash" && slot.pool !== null) {
    // An uncaught error the pooled worker attributed to one of its members.
    fail(slot, plugin, toWireError(m.error));
  } else if (m.t === "cap") {
    const method = String(m.method).slice(0, 64);
    const args = Array.isArray(m.args) ? m.args : [];
    if (method === "log") {
      if (!logAllowed(plugin)) return;
      send({
        t: "cap",
        plugin,
        id: 0,
        method,
        args: [String(args[0]).slice(0, 8), String(args[1]).slice(0, MAX_LOG_CHARS)],
      });
      return;
    }
    if (method === "log.dropped") return; // only this process reports drops
    send({ t: "cap", plugin, id: Number(m.id) || 0, method, args });
  } else if (m.t === "result") {
    send({
      t: "result",
      plugin,
      id: Number(m.id),
      ok: m.ok === true,
      value: m.value,
      error: m.error as WireError | undefined,
    });
  } else if (m.t === "loaded") {
    send({ t: "loaded", plugin, ok: m.ok === true, error: m.error as WireError | undefined });
  }
}

/** At most {@link LOG_LINES_PER_SECOND} lines per worker per second; drops are reported. */
function logAllowed(plugin: string): boolean {
  const now = performance.now();
  let w = logWindows.get(plugin);
  if (!w || now - w.start >= 1000) {
    if (w) reportDropped(plugin, w);
    logWindows.set(plugin, w = { start: now, count: 0, dropped: 0, sent: 0 });
  }
  if (w.count++ < LOG_LINES_PER_SECOND) return true;
  if (w.dropped++ === 0) {
    // The first drop is reported at once (the host starts a flood episode), the rest of this
    // window's when it ends, even if the plugin logs nothing more.
    reportDropped(plugin, w);
    const window = w;
    setTimeout(() => {
      if (logWindows.get(plugin) === window) reportDropped(plugin, window);
    }, Math.max(0, 1000 - (now - w.start)));
  }
  return false;
}

function reportDropped(plugin: string, w: LogWindow): void {
  const n = w.dropped - w.sent;
  if (n <= 0) return;
  w.sent = w.dropped;
  send({ t: "cap", plugin, id: 0, method: "log.dropped", args: [n] });
}

function newSlot(name: string, pool: string | null): Slot {
  const worker = new Worker(bootstrapUrl, {
    type: "module",
    name,
    deno: { permissions: "none" },
  } as WorkerOptions);
  const slot: Slot = { worker, members: new Set(), pool };
  worker.onmessage = (e: MessageEvent) => {
    try {
      relay(slot, e.data);
    } catch (err) {
      // Nothing one worker sends may end this process for its neighbours.
      const plugin = speaker(slot, (e.data as { plugin?: unknown } | null)?.plugin);
      fail(slot, plugin, { name: "Error", message: `sent an unusable message: ${err}`.slice(0, 300) });
    }
  };
  // Not attributable in a pool: every member of the worker crashed (in its own worker, the one).
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    fail(slot, null, { name: "Error", message: String(e.message).slice(0, 1000) });
  };
  worker.onmessageerror = () =>
    fail(slot, null, { name: "Error", message: "message could not be deserialized" });
  return slot;
}

function startWorker(msg: Extract<ToSandbox, { t: "load" }>): void {
  unload(msg.plugin);
  const plugin = msg.plugin;
  const pool = typeof msg.worker === "string" ? msg.worker : null;
  let slot = pool === null ? undefined : pools.get(pool);
  if (!slot) {
    slot = newSlot(pool === null ? plugin : `pool:${pool}`, pool);
    if (pool !== null) pools.set(pool, slot);
  }
  slot.members.add(plugin);
  slots.set(plugin, slot);
  slot.worker.postMessage({
    t: "load",
    plugin,
    pooled: pool !== null,
    code: msg.code,
    grant: msg.grant,
    settings: msg.settings,
    ledCount: msg.ledCount,
  });
}

function handle(msg: ToSandbox): void {
  switch (msg.t) {
    case "init":
      bootstrapUrl = `data:text/javascript;base64,${toBase64(msg.bootstrap)}`;
      token = msg.token;
      send({ t: "ready" });
      break;
    case "load":
      try {
        startWorker(msg);
      } catch (e) {
        send({ t: "loaded", plugin: msg.plugin, ok: false, error: toWireError(e) });
      }
      break;
    case "unload":
      unload(msg.plugin);
      break;
    case "call":
    case "reply": {
      const w = slots.get(msg.plugin)?.worker;
      if (w) w.postMessage(msg);
      else if (msg.t === "call") {
        send({
          t: "result",
          plugin: msg.plugin,
          id: msg.id,
          ok: false,
          error: {
            name: "Error",
            message: `Cannot call plugin "${msg.plugin}": it is not loaded in this sandbox`,
          },
        });
      }
      break;
    }
  }
}

const lines = new LineDecoder(MAX_BROKER_LINE);
// Plain reads into one buffer, not `Deno.stdin.readable`: no stream machinery per message.
const chunk = new Uint8Array(64 * 1024);
for (let n = await Deno.stdin.read(chunk); n !== null; n = await Deno.stdin.read(chunk)) {
  for (const line of lines.push(chunk.subarray(0, n))) {
    if (line.trim() !== "") handle(JSON.parse(line) as ToSandbox);
  }
}
// The broker closed our stdin: it is gone or wants us gone.
Deno.exit(0);
