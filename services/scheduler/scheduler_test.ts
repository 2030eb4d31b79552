import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { jainIndex, Scheduler, type SchedulerOptions } from "./mod.ts";
import type { InboxItem } from "./inbox.ts";

interface Run {
  id: string;
  item: InboxItem;
  start: number;
  end?: number;
}

/** A scheduler on fake time; `work(id, item)` says how long each run takes (fake ms). */
function harness(opts: Partial<SchedulerOptions> & { work?: (id: string, item: InboxItem) => number } = {}) {
  const clock = FakeTimers.createClock(1_000_000);
  const events: { type: string; data: Record<string, unknown> }[] = [];
  const runs: Run[] = [];
  const work = opts.work ?? (() => 10);
  const s = new Scheduler({
    clock: () => clock.now,
    timers: {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as never),
    },
    emit: { emit: (type, data = {}) => void events.push({ type, data }) },
    run: (id, item) => {
      const rec: Run = { id, item, start: clock.now };
      runs.push(rec);
      const ms = work(id, item);
      return new Promise((resolve) =>
        clock.setTimeout(() => {
          rec.end = clock.now;
          resolve();
        }, ms)
      );
    },
    ...opts,
  });
  const of = (id: string) => runs.filter((r) => r.id === id);
  const done = async () => {
    const stopping = s.stop();
    await clock.runAllAsync();
    await stopping;
    assert.equal(clock.countTimers(), 0, "stop() leaves no timers");
  };
  return { s, clock, events, runs, of, done };
}

Deno.test("Scheduler cadence: deterministic per-plugin offsets and jitter spread the first runs", async () => {
  const schedule = async () => {
    const h = harness();
    for (const id of ["bme680", "dht22", "system", "oled"]) h.s.add({ id, cadenceMs: 2000, priority: 0.5 });
    h.s.start();
    await h.clock.tickAsync(20_000);
    await h.done();
    return h.runs.map((r) => `${r.id}@${r.start - 1_000_000}`);
  };
  const a = await schedule();
  assert.deepEqual(await schedule(), a, "same ids, same schedule");
  const firsts = ["bme680", "dht22", "system", "oled"].map((id) =>
    Number(a.find((x) => x.startsWith(id))!.split("@")[1])
  );
  assert.equal(new Set(firsts).size, 4, `first runs at distinct offsets: ${firsts}`);
  assert.ok(firsts.every((t) => t >= 0 && t < 1000));
  const bme = a.filter((x) => x.startsWith("bme680@")).map((x) => Number(x.split("@")[1]));
  const gaps = bme.slice(1).map((t, i) => t - bme[i]);
  assert.ok(gaps.every((g) => g >= 1900 && g <= 2100), `2000 ms ± 5%: ${gaps}`);
  assert.ok(new Set(gaps).size > 1, "jittered, not a fixed grid");
});

Deno.test("Scheduler.demand() queues addressed work; unknown ids and bad priorities are refused", async () => {
  const h = harness();
  h.s.add({ id: "anima", cadenceMs: 60_000, priority: 0.4 });
  h.s.start();
  assert.equal(h.s.demand("anima", { command: "set_name" }, 0.9), true);
  await h.clock.tickAsync(1);
  const r = h.of("anima")[0];
  assert.equal(r.item.kind, "demand");
  assert.deepEqual(r.item.payload, { command: "set_name" });
  assert.equal(r.start, r.item.enqueuedAt);
  assert.equal(h.s.demand("nobody"), false);
  assert.throws(() => h.s.demand("anima", {}, 1.5), {
    name: "RangeError",
    message: `Cannot demand work from "anima" as 'priority' must be in 0..1: current value is 1.5`,
  });
  await h.done();
});

Deno.test("Scheduler.produced() triggers dependents once per pending source", async () => {
  const h = harness({ work: (id) => (id === "oled" ? 500 : 10) });
  h.s.add({ id: "bme680", cadenceMs: 60_000, priority: 0.5 });
  h.s.add({ id: "oled", cadenceMs: 60_000, priority: 0.3, dependsOn: ["bme680", "system"] });
  h.s.start();
  await h.clock.tickAsync(2000); // the first cadence runs (offset < 1 s, 500 ms long) are done
  const before = h.of("oled").length;
  h.s.produced("bme680"); // runs at once (500 ms)
  h.s.produced("bme680"); // queued
  h.s.produced("bme680"); // coalesced with the queued one
  h.s.produced("system");
  h.s.produced("nobody-depends-on-me");
  await h.clock.tickAsync(3000);
  const deps = h.of("oled").slice(before).map((
    r,
  ) => [r.item.kind, (r.item.payload as { from: string }).from]);
  assert.deepEqual(deps, [["dependency", "bme680"], ["dependency", "bme680"], ["dependency", "system"]]);
  await h.done();
});

Deno.test("Scheduler drops the lowest-priority item of a full inbox and says so", async () => {
  const h = harness({ inboxMax: 4, work: () => 60_000 });
  h.s.add({ id: "slow", cadenceMs: 600_000, priority: 0.5 });
  h.s.start();
  h.s.demand("slow", "running", 0.5); // occupies the plugin for a minute
  await h.clock.tickAsync(1000); // the first cadence trigger (offset < 1 s) queues behind it
  for (const [i, p] of [0.5, 0.2, 0.7, 0.1, 0.6, 0.3].entries()) h.s.demand("slow", `d${i}`, p);
  const drops = h.events.filter((e) => e.type === "scheduler.drop").map((e) => e.data);
  // The inbox also holds the first cadence trigger (priority 0.5) queued behind the running demand.
  assert.deepEqual(drops, [
    { plugin: "slow", priority: 0.1, kind: "demand" },
    { plugin: "slow", priority: 0.2, kind: "demand" },
    { plugin: "slow", priority: 0.3, kind: "demand" },
  ]);
  const st = h.s.state("slow")!;
  assert.equal(st.drops, 3);
  assert.equal(st.inboxDepth, 4);
  assert.equal(st.mood, "overwhelmed");
  assert.ok(
    h.events.some((e) =>
      e.type === "scheduler.mood" && e.data.plugin === "slow" && e.data.new === "overwhelmed"
    ),
  );
  await h.done();
});

Deno.test("Scheduler never defers priority > 0.8: on time while hot, overloaded and tired", async () => {
  const h = harness({
    maxConcurrent: 2,
    thermal: () => 82,
    work: (id) => (id === "alarm" ? 700 : 500),
  });
  h.s.add({ id: "alarm", cadenceMs: 1000, priority: 0.9 });
  for (let i = 0; i < 20; i++) h.s.add({ id: `low${i}`, cadenceMs: 100, priority: i % 2 ? 0.3 : 0.6 });
  h.s.start();
  await h.clock.tickAsync(60_000);
  const alarm = h.of("alarm");
  assert.ok(alarm.length >= 59, `${alarm.length} runs in 60 s`);
  assert.ok(alarm.every((r) => r.start === r.item.enqueuedAt), "dispatched the moment it was due");
  const starts = alarm.map((r) => r.start);
  assert.ok(starts.slice(1).every((t, i) => t - starts[i] === 1000), "exactly on its 1000 ms grid");
  assert.equal(h.s.stats().pressure, 2, "hot");
  assert.equal(h.s.state("alarm")!.mood, "tired", "700 ms of work per second wears it out");
  assert.equal(h.s.state("alarm")!.deferred, 0);
  await h.done();
});

Deno.test("Scheduler gives equal-priority plugins fair shares under 10x overload (Jain >= 0.95)", async () => {
  for (const [n, slots] of [[10, 1], [20, 2]]) {
    const h = harness({ maxConcurrent: slots, work: () => 100 });
    for (let i = 0; i < n; i++) h.s.add({ id: `p${i}`, cadenceMs: 100, priority: 0.5 });
    h.s.start();
    await h.clock.tickAsync(60_000);
    const service = Array.from({ length: n }, (_, i) => h.of(`p${i}`).length);
    const jain = jainIndex(service);
    assert.ok(jain >= 0.95, `Jain ${jain.toFixed(4)} for runs ${service}`);
    assert.ok(service.reduce((a, b) => a + b) >= slots * 590, "the slots stay busy");
    await h.done();
  }
});

Deno.test("Scheduler under heat: low priority slows first, mid stretches, all recover when it cools", async () => {
  let temp = 45;
  const h = harness({ thermal: () => temp, maxDeferMs: 60_000 });
  h.s.add({ id: "low", cadenceMs: 1000, priority: 0.3 });
  h.s.add({ id: "mid", cadenceMs: 1000, priority: 0.6 });
  h.s.add({ id: "high", cadenceMs: 1000, priority: 0.9 });
  h.s.start();
  const count = (id: string, from: number, to: number) =>
    h.of(id).filter((r) => r.start >= from && r.start < to).length;
  const t0 = h.clock.now;
  await h.clock.tickAsync(10_000);
  temp = 65; // warm
  await h.clock.tickAsync(20_000);
  temp = 80; // hot
  await h.clock.tickAsync(20_000);
  const deferredHot = h.s.state("low")!.deferred;
  temp = 50; // cool
  await h.clock.tickAsync(20_000);
  const cool1 = [t0, t0 + 10_000], warm = [t0 + 12_000, t0 + 30_000], hot = [t0 + 32_000, t0 + 50_000];
  const cool2 = [t0 + 52_000, t0 + 70_000];
  const c = (id: string, [a, b]: number[]) => count(id, a, b);
  assert.ok(c("low", cool1) >= 9 && c("mid", cool1) >= 9 && c("high", cool1) >= 9, "cool: everyone at 1 Hz");
  assert.equal(c("low", warm), 0, "warm: low-priority work waits");
  assert.ok(c("mid", warm) >= 16, "warm: mid priority keeps its cadence");
  assert.equal(c("low", hot), 0, "hot: low priority still waits");
  assert.ok(c("mid", hot) >= 7 && c("mid", hot) <= 11, `hot: mid stretched to 0.5 Hz (${c("mid", hot)})`);
  assert.equal(c("high", hot), 18, "hot: high priority untouched");
  assert.ok(deferredHot > 0);
  assert.ok(c("low", cool2) >= 16, `cool again: low recovers (${c("low", cool2)})`);
  assert.ok(c("mid", cool2) >= 16);
  const pressure = h.events.filter((e) => e.type === "scheduler.pressure").map((e) => e.data.new);
  assert.deepEqual(pressure, [1, 2, 0]);
  await h.done();
});

Deno.test("Scheduler: an over-budget cycle defers low priority until a cycle fits; deferred work is not starved", async () => {
  const h = harness({ cycleBudgetMs: 500, maxDeferMs: 10_000 });
  h.s.add({ id: "low", cadenceMs: 1000, priority: 0.2 });
  h.s.add({ id: "mid", cadenceMs: 1000, priority: 0.5 });
  h.s.start();
  h.s.reportCycle(900);
  const t0 = h.clock.now;
  await h.clock.tickAsync(25_000);
  const low = h.of("low").filter((r) => r.start >= t0);
  assert.ok(low.length >= 1 && low.length <= 3, `only aged-out work runs: ${low.length}`);
  assert.ok(low.every((r) => r.start - r.item.enqueuedAt >= 10_000), "after maxDeferMs");
  assert.ok(h.of("mid").filter((r) => r.start >= t0).length >= 23);
  h.s.reportCycle(100);
  const t1 = h.clock.now;
  await h.clock.tickAsync(10_000);
  assert.ok(h.of("low").filter((r) => r.start >= t1).length >= 8, "recovered");
  await h.done();
});

Deno.test("Scheduler detects overload itself: work waiting past the budget defers low priority first", async () => {
  const h = harness({ maxConcurrent: 1, cycleBudgetMs: 1000, maxDeferMs: 20_000, work: () => 100 });
  for (let i = 0; i < 10; i++) h.s.add({ id: `mid${i}`, cadenceMs: 100, priority: 0.5 });
  for (let i = 0; i < 5; i++) h.s.add({ id: `low${i}`, cadenceMs: 100, priority: 0.2 });
  h.s.start();
  await h.clock.tickAsync(60_000);
  const mid = Array.from({ length: 10 }, (_, i) => h.of(`mid${i}`).length);
  const low = Array.from({ length: 5 }, (_, i) => h.of(`low${i}`).length);
  assert.equal(h.s.stats().pressure, 1, "over budget");
  assert.ok(Math.min(...mid) > 4 * Math.max(...low), `mid ${mid} vs low ${low}`);
  assert.ok(Math.min(...low) >= 2, "low priority is slowed, not starved");
  assert.ok(jainIndex(mid) >= 0.95);
  const flips = h.events.filter((e) => e.type === "scheduler.pressure").length;
  assert.ok(flips <= 6, `pressure does not flap: ${flips} changes`);
  await h.done();
});

Deno.test("Scheduler: a slow plugin does not delay the others; its backlog stays in its own inbox", async () => {
  const h = harness({ work: (id) => (id === "slow" ? 10_000 : 20) });
  h.s.add({ id: "slow", cadenceMs: 1000, priority: 0.5 });
  for (const id of ["a", "b", "c"]) h.s.add({ id, cadenceMs: 1000, priority: 0.5 });
  h.s.start();
  await h.clock.tickAsync(1000);
  for (let i = 0; i < 5; i++) h.s.demand("slow", i);
  await h.clock.tickAsync(30_000);
  for (const id of ["a", "b", "c"]) {
    const runs = h.of(id);
    assert.ok(runs.length >= 29, `${id}: ${runs.length} runs`);
    assert.ok(runs.every((r) => r.start === r.item.enqueuedAt), `${id} never waited`);
  }
  const slow = h.of("slow");
  const overlapping = slow.some((r, i) => i > 0 && r.start < slow[i - 1].end!);
  assert.equal(overlapping, false, "never two runs of one plugin at once");
  const st = h.s.state("slow")!;
  assert.ok(st.overruns >= 20, `missed periods counted: ${st.overruns}`);
  assert.ok(st.inboxDepth >= 1);
  await h.done();
});

Deno.test("Scheduler energy depletes with work, recovers at rest, and sets mood and cadence", async () => {
  let busy = true;
  const h = harness({ work: () => (busy ? 900 : 1), jitter: 0 });
  h.s.add({ id: "p", cadenceMs: 1000, priority: 0.5 });
  h.s.start();
  await h.clock.tickAsync(30_000);
  const tired = h.s.state("p")!;
  assert.equal(tired.mood, "tired");
  assert.ok(tired.energy < 0.3);
  assert.equal(tired.cadenceMs, 1500, "tired: cadence x1.5");
  busy = false;
  await h.clock.tickAsync(30_000);
  const rested = h.s.state("p")!;
  assert.ok(rested.energy > 0.9, `energy ${rested.energy}`);
  assert.equal(rested.mood, "active");
  assert.equal(rested.cadenceMs, 1000);
  const moods = h.events.filter((e) => e.type === "scheduler.mood" && e.data.plugin === "p").map((e) =>
    e.data.new
  );
  assert.ok(moods.includes("tired") && moods.at(-1) === "active", `moods: ${moods}`);
  await h.done();
});

Deno.test("Scheduler keeps going when a run rejects or throws synchronously", async () => {
  const clock = FakeTimers.createClock(0);
  let calls = 0;
  const s = new Scheduler({
    clock: () => clock.now,
    timers: {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as never),
    },
    emit: { emit() {} },
    run: (id) => {
      calls++;
      if (id === "sync") throw new Error("boom");
      return Promise.reject(new Error("async boom"));
    },
  });
  s.add({ id: "sync", cadenceMs: 100, priority: 0.5 });
  s.add({ id: "async", cadenceMs: 100, priority: 0.5 });
  s.start();
  await clock.tickAsync(1000);
  assert.ok(calls >= 18);
  assert.ok(s.state("sync")!.runs >= 9);
  await s.stop();
});

Deno.test("Scheduler.add() validates specs with clear errors; remove() forgets", () => {
  const s = new Scheduler({ emit: { emit() {} }, run: () => Promise.resolve() });
  assert.throws(() => s.add({ id: "", cadenceMs: 1, priority: 0 }), { name: "TypeError" });
  assert.throws(() => s.add({ id: "x", cadenceMs: 0, priority: 0.5 }), {
    name: "RangeError",
    message: `Cannot schedule plugin "x" as 'cadenceMs' must be a positive number: current value is 0`,
  });
  assert.throws(() => s.add({ id: "x", cadenceMs: 10, priority: 2 }), { name: "RangeError" });
  assert.throws(
    () => new Scheduler({ emit: { emit() {} }, run: () => Promise.resolve(), softC: 80, hotC: 70 }),
    {
      name: "RangeError",
    },
  );
  s.add({ id: "x", cadenceMs: 10, priority: 0.5 });
  assert.equal(s.state("x")!.cadenceMs, 10);
  s.add({ id: "x", cadenceMs: 20, priority: 0.5 });
  assert.equal(s.state("x")!.cadenceMs, 20);
  s.remove("x");
  assert.equal(s.state("x"), null);
  assert.deepEqual(s.states(), {});
});

Deno.test("jainIndex() is 1 for equal shares and 1/n for one winner", () => {
  assert.equal(jainIndex([5, 5, 5, 5]), 1);
  assert.equal(jainIndex([1, 0, 0, 0]), 0.25);
});

Deno.test("Scheduler.stop() gives up on a run that never settles after its timeout", async () => {
  const clock = FakeTimers.createClock(0);
  const s = new Scheduler({
    clock: () => clock.now,
    timers: {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as never),
    },
    emit: { emit() {} },
    run: () => new Promise(() => {}),
  });
  s.add({ id: "hung", cadenceMs: 100, priority: 0.5 });
  s.start();
  await clock.tickAsync(200);
  let stopped = false;
  const stopping = s.stop(1000).then(() => stopped = true);
  await clock.tickAsync(999);
  assert.equal(stopped, false);
  await clock.tickAsync(1);
  await stopping;
  assert.equal(stopped, true);
  assert.equal(clock.countTimers(), 0);
});
