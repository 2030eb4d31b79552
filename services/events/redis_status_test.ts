import assert from "node:assert/strict";
import { explain, maskUrl, RedisStatusBoard } from "./redis_status.ts";

Deno.test("RedisStatusBoard: one line when every connection fails, one when one is back", () => {
  const board = new RedisStatusBoard();
  const lines: string[] = [];
  board.log = (l) => lines.push(l);
  const seen: boolean[] = [];
  board.subscribe((s) => seen.push(s.up));
  const url = "redis://127.0.0.1:6379";
  const a = board.join(url);
  const b = board.join(url);
  for (let i = 0; i < 10; i++) {
    a.failed("NOAUTH Authentication required.");
    b.failed("NOAUTH Authentication required.");
  }
  assert.deepEqual(lines, [
    "Cannot use Redis at redis://127.0.0.1:6379: NOAUTH Authentication required — set the password in REDIS_URL",
  ]);
  a.ready();
  b.ready();
  assert.deepEqual(lines.slice(1), ["Redis at redis://127.0.0.1:6379 is reachable again"]);
  a.failed("Socket closed unexpectedly"); // b still works: not an outage
  assert.equal(lines.length, 2);
  b.failed("connect ECONNREFUSED 127.0.0.1:6379");
  assert.equal(lines.length, 3);
  assert.match(lines[2], /ECONNREFUSED 127\.0\.0\.1:6379 — is redis-server running\?$/);
  assert.deepEqual(seen, [false, true, false]);
  assert.deepEqual(board.list().map((s) => [s.up, s.outages]), [[false, 2]]);
});

Deno.test("maskUrl() and explain() never print a password", () => {
  assert.equal(maskUrl("redis://:hunter2@host:6379/0"), "redis://***@host:6379/0");
  assert.equal(maskUrl("redis://user:hunter2@host:6379"), "redis://***@host:6379");
  assert.equal(maskUrl("redis://host:6379"), "redis://host:6379");
  const line = explain(
    "redis://:hunter2@host:6379",
    "WRONGPASS invalid username-password pair or user is disabled.",
  );
  assert.ok(!line.includes("hunter2"));
  assert.match(line, /— check the password in REDIS_URL$/);
});
