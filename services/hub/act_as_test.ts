import assert from "node:assert/strict";
import { LocalCommandBus } from "../link/mod.ts";
import { createEvents } from "../events/mod.ts";
import { MemorySharedState } from "../shm/mod.ts";
import { actAs } from "./act_as.ts";
import { createHub } from "./hub.ts";
import { makeSnapshot } from "./_test_fakes.ts";

Deno.test("actAs(): a bridge acts only with a token that holds 'act', and every attempt is audited", async () => {
  const events = createEvents({ node: "hub" });
  const state = new MemorySharedState({ node: "hub" });
  await state.write(makeSnapshot("hub"));
  const bus = new LocalCommandBus();
  const ran: string[] = [];
  bus.register("hub", (req) => {
    ran.push(req.command.type);
    return Promise.resolve({ id: req.id, ok: true });
  });
  const hub = createHub({
    node: "hub",
    state,
    events: events.log,
    emit: events.emitter,
    commands: bus,
    tokens: { write: "act-token", spokes: {} },
  });
  try {
    const ro = hub.core.access.store.createToken("viewer-bridge", ["read"], "test").token;
    const beep = { type: "buzzer", pattern: "single" } as const;

    const ok = await actAs(hub.core, "act-token", "mqtt")("hub", beep);
    assert.equal(ok.ok, true);
    assert.deepEqual(ran, ["buzzer"]);

    const weak = await actAs(hub.core, ro, "mqtt")("hub", beep);
    assert.deepEqual([weak.ok, weak.code, weak.error], [
      false,
      "rejected",
      "Cannot run buzzer from mqtt: token 'viewer-bridge' lacks the 'act' scope",
    ]);
    const none = await actAs(hub.core, undefined, "mqtt")("hub", beep);
    assert.equal(none.error, "Cannot run buzzer from mqtt: no token is configured");
    const wrong = await actAs(hub.core, "guess", "mqtt")("hub", beep);
    assert.equal(wrong.error, "Cannot run buzzer from mqtt: wrong token");
    const unknown = await actAs(hub.core, "act-token", "mqtt")("nowhere", beep);
    assert.equal(unknown.ok, false, "an unknown node is a failed result, not a throw");
    assert.deepEqual(ran, ["buzzer"], "refused commands never reach the broker");

    for (let i = 0; i < 100 && events.emitter.stats().buffered > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const audit = (await events.log.latest(100)).filter((e) => e.type === "audit.buzzer");
    assert.deepEqual(audit.map((e) => [e.data.ok, e.data.via]), [
      [true, "mqtt"],
      [false, "mqtt"],
      [false, "mqtt"],
      [false, "mqtt"],
      [false, "mqtt"],
    ]);
    assert.match(String(audit[1].data.actor), /viewer-bridge/);
  } finally {
    await hub.close();
    await events.close();
  }
});
