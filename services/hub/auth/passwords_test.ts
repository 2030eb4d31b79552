import assert from "node:assert/strict";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords.ts";

Deno.test("hashPassword() salts scrypt hashes; verifyPassword() accepts only the password", async () => {
  const a = await hashPassword("correct horse battery");
  const b = await hashPassword("correct horse battery");
  assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b, "a fresh salt each time");
  assert.equal(await verifyPassword("correct horse battery", a), true);
  assert.equal(await verifyPassword("correct horse batterx", a), false);
  assert.equal(await verifyPassword("x", "not-a-hash"), false);
  assert.equal(await verifyPassword("x", "scrypt$99999999$8$1$AA$AA"), false);
  assert.equal(await verifyPassword("x", "scrypt$1000$8$1$AA$AA"), false, "N not a power of two");
});

Deno.test("passwordProblem() names what is wrong", () => {
  assert.equal(passwordProblem("short"), "must be at least 10 characters");
  assert.equal(passwordProblem(42), "must be a string");
  assert.equal(passwordProblem("long enough pass"), null);
});
