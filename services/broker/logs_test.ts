import assert from "node:assert/strict";
import { LogRing } from "./logs.ts";

Deno.test("LogRing keeps the newest lines within its capacity", () => {
  const ring = new LogRing({ capacity: 3, echo: null });
  for (let i = 1; i <= 5; i++) ring.log("info", "t", `line ${i}`);
  assert.deepEqual(ring.lines().map((l) => l.message), ["line 3", "line 4", "line 5"]);
  assert.deepEqual(ring.lines(1).map((l) => l.message), ["line 5"]);
  assert.equal(Object.hasOwn(ring.lines()[0], "seq"), false);
});

Deno.test("LogRing.after() hands out each line once, in order, in bounded pages", () => {
  const ring = new LogRing({ echo: null });
  for (let i = 1; i <= 5; i++) ring.log("warn", "t", `line ${i}`);
  const first = ring.after(0, 2);
  assert.deepEqual(first.lines.map((l) => l.message), ["line 1", "line 2"]);
  const second = ring.after(first.last, 10);
  assert.deepEqual(second.lines.map((l) => l.message), ["line 3", "line 4", "line 5"]);
  const none = ring.after(second.last);
  assert.deepEqual(none.lines, []);
  assert.equal(none.last, second.last);
  ring.log("error", "t", "line 6");
  assert.deepEqual(ring.after(none.last).lines.map((l) => l.message), ["line 6"]);
});

Deno.test("LogRing echoes lines at or above its level", () => {
  const echoed: string[] = [];
  const ring = new LogRing({ level: "warn", echo: (l) => echoed.push(l) });
  ring.log("info", "a", "quiet");
  ring.log("error", "b", "loud");
  assert.equal(echoed.length, 1);
  assert.match(echoed[0], /error \[b\] loud$/);
});

Deno.test("LogRing keeps each source a fair share: a flood evicts its own lines first", () => {
  const ring = new LogRing({ capacity: 10, echo: null });
  ring.log("info", "broker", "host line");
  ring.log("info", "good", "neighbour line");
  for (let i = 0; i < 1000; i++) ring.log("info", "evil", `flood ${i}`);
  const lines = ring.lines();
  assert.equal(lines.length, 10);
  assert.deepEqual(lines.slice(0, 2).map((l) => l.source), ["broker", "good"]);
  assert.equal(lines.at(-1)?.message, "flood 999");
});

Deno.test("LogRing escapes line breaks and control characters so one call is one line", () => {
  const echoed: string[] = [];
  const ring = new LogRing({ echo: (l) => echoed.push(l) });
  ring.log("info", "p\n[broker]", "a\n2026-01-01T00:00:00Z error [broker] forged\u001b[2J");
  assert.equal(echoed.length, 1);
  assert.ok(!echoed[0].includes("\n") && !echoed[0].includes("\u001b"), echoed[0]);
  assert.match(ring.lines()[0].message, /^a\\n2026/);
});
