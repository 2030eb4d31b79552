import assert from "node:assert/strict";
import { LoginLimiter } from "./rate_limit.ts";

Deno.test("LoginLimiter refuses an account after its limit, per client after its own, and forgets after the window", () => {
  let now = 0;
  const l = new LoginLimiter({ perAccount: 3, perClient: 5, windowMs: 60_000, now: () => now });
  for (let i = 0; i < 3; i++) {
    assert.equal(l.check("10.0.0.9", "root"), null);
    l.fail("10.0.0.9", "root");
  }
  assert.deepEqual(l.check("10.0.0.9", "root"), { scope: "account", retryAfterS: 60 });
  // The same account from another client is limited too (the account is what is guessed).
  assert.equal(l.check("10.0.0.7", "root")?.scope, "account");
  // Another account from the first client: two more failures reach the client limit.
  l.fail("10.0.0.9", "olga");
  l.fail("10.0.0.9", "olga");
  assert.equal(l.check("10.0.0.9", "eve")?.scope, "client");
  assert.equal(l.check("10.0.0.8", "eve"), null);
  now = 30_000;
  assert.equal(l.check("10.0.0.9", "root")?.retryAfterS, 30);
  now = 60_001;
  assert.equal(l.check("10.0.0.9", "root"), null);
});

Deno.test("LoginLimiter: a good login clears the account; keys stay bounded", () => {
  const l = new LoginLimiter({ perAccount: 2, maxKeys: 100 });
  l.fail("c", "a");
  l.fail("c", "a");
  assert.equal(l.check("x", "a")?.scope, "account");
  l.succeed("a");
  assert.equal(l.check("x", "a"), null);
  for (let i = 0; i < 1000; i++) l.fail(`client-${i}`, `user-${i}`);
  // Oldest keys were dropped: an early account is no longer remembered.
  assert.equal(l.check("client-0", "user-0"), null);
});
