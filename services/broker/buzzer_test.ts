import assert from "node:assert/strict";
import type { BuzzerRelay } from "../../hal/mod.ts";
import { BuzzerPlayer } from "./buzzer.ts";

/** A relay that records edges on a fake clock advanced by the fake sleep. */
function rig(minIntervalMs = 1000) {
  let now = 0;
  const edges: [number, boolean][] = [];
  const relay: BuzzerRelay = {
    pin: 17,
    sounding: false,
    on(s: boolean) {
      (this as { sounding: boolean }).sounding = s;
      edges.push([now, s]);
    },
  };
  const events: string[] = [];
  const player = new BuzzerPlayer(relay, { emit: (t) => void events.push(t) }, {
    minIntervalMs,
    now: () => now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  });
  return { player, edges, events, advance: (ms: number) => (now += ms), relay };
}

Deno.test("BuzzerPlayer.play() sounds single 100 ms, triple 3×100 ms, long 500 ms", async () => {
  const r = rig(0);
  await r.player.play("single");
  assert.deepEqual(r.edges, [[0, true], [100, false]]);
  r.edges.length = 0;
  r.advance(1000);
  await r.player.play("triple");
  assert.deepEqual(r.edges, [[1100, true], [1200, false], [1300, true], [1400, false], [1500, true], [
    1600,
    false,
  ]]);
  r.edges.length = 0;
  await r.player.play("long");
  assert.deepEqual(r.edges, [[1600, true], [2100, false]]);
  assert.equal(r.relay.sounding, false);
  assert.deepEqual(r.events, ["buzzer", "buzzer", "buzzer"]);
});

Deno.test("BuzzerPlayer.play() is rate limited and says why", async () => {
  const r = rig(1000);
  assert.equal((await r.player.play("single")).played, true);
  const refused = await r.player.play("single");
  assert.equal(refused.played, false);
  assert.match(refused.reason!, /rate limited: at most one pattern per 1000 ms/);
  assert.ok(r.events.includes("buzzer.refused"));
  r.advance(1000);
  assert.equal((await r.player.play("single")).played, true);
});

Deno.test("BuzzerPlayer.play() refuses a custom pattern outside bounds", async () => {
  const r = rig(0);
  await assert.rejects(
    () => r.player.play({ count: 50, durationMs: 100, intervalMs: 100 }),
    /count must be an integer 0\.\.10, got 50/,
  );
  const ok = await r.player.play({ count: 2, durationMs: 50, intervalMs: 20 });
  assert.equal(ok.played, true);
  assert.equal(ok.pattern, "2x50ms");
});
