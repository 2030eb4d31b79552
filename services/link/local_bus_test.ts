import assert from "node:assert/strict";
import { LocalCommandBus } from "./local_bus.ts";

Deno.test("LocalCommandBus.send() runs the handler registered for the node", async () => {
  const bus = new LocalCommandBus();
  const seen: string[] = [];
  bus.register("hub", (req) => {
    seen.push(`${req.node}:${req.command.type}`);
    return Promise.resolve({ id: "ignored", ok: true, data: { done: 1 } });
  });
  const r = await bus.send("hub", { type: "buzzer", pattern: "single" });
  assert.equal(r.ok, true);
  assert.deepEqual(r.data, { done: 1 });
  assert.notEqual(r.id, "ignored");
  assert.deepEqual(seen, ["hub:buzzer"]);
  await bus.close();
});

Deno.test("LocalCommandBus.send() reports an unknown node as unreachable", async () => {
  const bus = new LocalCommandBus();
  const r = await bus.send("pi4", { type: "set_name", name: "x" });
  assert.equal(r.ok, false);
  assert.equal(r.code, "unreachable");
  assert.equal(r.error, 'Cannot send "set_name" to node "pi4": no broker registered for it');
});

Deno.test("LocalCommandBus.send() turns a throwing handler into a failed result", async () => {
  const bus = new LocalCommandBus();
  bus.register("hub", () => Promise.reject(new Error("Cannot beep: buzzer not granted")));
  const r = await bus.send("hub", { type: "buzzer", pattern: "long" });
  assert.equal(r.code, "failed");
  assert.equal(r.error, "Cannot beep: buzzer not granted");
});

Deno.test("LocalCommandBus.send() times out on a handler that never answers", async () => {
  const bus = new LocalCommandBus();
  bus.register("hub", () => new Promise(() => {}));
  const r = await bus.send("hub", { type: "buzzer", pattern: "long" }, 30);
  assert.equal(r.code, "timeout");
  assert.equal(r.error, 'Cannot send "buzzer" to node "hub": no answer within 30 ms');
});
