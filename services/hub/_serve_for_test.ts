/**
 * A hub in its own process, for flow tests and the bench: in-memory state and events, a local
 * command bus whose `hub` broker answers every command. Prints `ready <port>` when listening.
 *
 *     deno run --allow-all services/hub/_serve_for_test.ts --port 8080 --spoke pi4=pi4-token --write w
 *
 * @module
 */
import { LocalCommandBus } from "../commands/mod.ts";
import { createHub } from "./mod.ts";
import { makeSnapshot, TestEventLog, TestState } from "./_test_fakes.ts";

const args = Deno.args;
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const spokes: Record<string, string> = {};
args.forEach((a, i) => {
  if (a === "--spoke") {
    const [node, token] = args[i + 1].split("=");
    spokes[node] = token;
  }
});

const log = new TestEventLog("hub");
const state = new TestState();
await state.write(makeSnapshot("hub"));
const bus = new LocalCommandBus();
bus.register("hub", (req) => Promise.resolve({ id: req.id, ok: true, data: req.command }));
const hub = createHub({
  node: "hub",
  state,
  events: log,
  emit: log,
  commands: bus,
  tokens: { write: arg("write") ?? "write-token", spokes },
  pushIntervalSeconds: Number(arg("interval") ?? 1),
  pageToken: arg("page-token"),
});
const server = await hub.listen(Number(arg("port") ?? 0));
// Keep the local snapshot fresh so the hub's own node stays online.
const timer = setInterval(() => state.write(makeSnapshot("hub")), 500);
console.log(`ready ${server.port}`);
const stop = async () => {
  clearInterval(timer);
  await hub.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
