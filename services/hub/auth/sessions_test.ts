import assert from "node:assert/strict";
import { SessionStore } from "./sessions.ts";

Deno.test("SessionStore: sessions expire on the monotonic clock, revoke per cookie or user, and stay bounded", () => {
  let now = 1000;
  const s = new SessionStore({ ttlMs: 5000, maxPerUser: 2, maxTotal: 3, now: () => now });
  const a = s.create("ann", "admin");
  assert.equal(s.get(a.cookie)?.user, "ann");
  assert.notEqual(a.session.csrf, a.cookie);
  assert.equal(s.get("guess"), null);
  now += 5000;
  assert.equal(s.get(a.cookie), null, "expired");
  const b1 = s.create("bob", "viewer");
  const b2 = s.create("bob", "viewer");
  const b3 = s.create("bob", "viewer");
  assert.equal(s.get(b1.cookie), null, "oldest of a user is dropped past maxPerUser");
  assert.ok(s.get(b2.cookie) && s.get(b3.cookie));
  s.create("cy", "operator");
  s.create("di", "operator");
  assert.ok(s.list().length <= 3);
  s.revokeUser("bob");
  assert.equal(s.get(b3.cookie), null);
  const d = s.create("di", "operator");
  assert.equal(s.revokeCookie(d.cookie)?.user, "di");
  assert.equal(s.get(d.cookie), null);
});
