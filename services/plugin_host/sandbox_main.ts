/**
 * Entry of a sandbox child process. The broker starts it with no `--allow-*` flag, no remote
 * or npm loading, code generation from strings disabled and a heap cap, and talks to it over
 * stdin/stdout (see protocol.ts). Each plugin runs in its own permission-less worker started
 * from the bootstrap the broker sent in `init`; this process only relays messages and stamps
 * each one coming from a worker with that worker's plugin id.
 *
 * @module
 */
import { LineDecoder, MAX_BROKER_LINE, MAX_SANDBOX_LINE, toWireError } from "./protocol.ts";
import type { FromSandbox, ToSandbox } from "./protocol.ts";

const encoder = new TextEncoder();
const workers = new Map<string, Worker>();
let bootstrapUrl = "";
/** Prefix of every protocol line (from `init`); never shared with a worker. */
let token = "";

/** Write one message as one line; stdout needs no permission. */
function send(msg: FromSandbox): void {
  const data = encoder.encode(`${token} ${JSON.stringify(msg)}\n`);
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

function unload(plugin: string): void {
  workers.get(plugin)?.terminate();
  workers.delete(plugin);
}

function startWorker(msg: Extract<ToSandbox, { t: "load" }>): void {
  unload(msg.plugin);
  const plugin = msg.plugin;
  const worker = new Worker(bootstrapUrl, {
    type: "module",
    name: plugin,
    deno: { permissions: "none" },
  } as WorkerOptions);
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data ?? {};
    // Only known shapes pass, and always under this worker's own plugin id.
    if (m.t === "cap") {
      send({
        t: "cap",
        plugin,
        id: Number(m.id) || 0,
        method: String(m.method),
        args: Array.isArray(m.args) ? m.args : [],
      });
    } else if (m.t === "result") {
      send({ t: "result", plugin, id: Number(m.id), ok: m.ok === true, value: m.value, error: m.error });
    } else if (m.t === "loaded") {
      send({ t: "loaded", plugin, ok: m.ok === true, error: m.error });
    }
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    send({ t: "crash", plugin, error: { name: "Error", message: String(e.message).slice(0, 1000) } });
    unload(plugin);
  };
  worker.onmessageerror = () => {
    send({ t: "crash", plugin, error: { name: "Error", message: "message could not be deserialized" } });
  };
  workers.set(plugin, worker);
  worker.postMessage({
    t: "load",
    plugin,
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
      const w = workers.get(msg.plugin);
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
for await (const chunk of Deno.stdin.readable) {
  for (const line of lines.push(chunk)) {
    if (line.trim() !== "") handle(JSON.parse(line) as ToSandbox);
  }
}
// The broker closed our stdin: it is gone or wants us gone.
Deno.exit(0);
