import assert from "node:assert/strict";
import { hostname } from "node:os";
import { HostAllowlist, hostPart } from "./host_check.ts";

Deno.test("hostPart() strips ports and IPv6 brackets", () => {
  assert.equal(hostPart("Hub.Local:3000"), "hub.local");
  assert.equal(hostPart("[::1]:3000"), "::1");
  assert.equal(hostPart("127.0.0.1"), "127.0.0.1");
  assert.equal(hostPart("::1"), "::1");
});

Deno.test("HostAllowlist: loopback, this machine and configured names pass; a rebinding name does not", () => {
  const list = new HostAllowlist(["revpi-hub.local"]);
  for (
    const ok of [
      "localhost:3000",
      "127.0.0.1:3000",
      "127.5.6.7",
      "[::1]:3000",
      "revpi-hub.local",
      "x.localhost",
      hostname(),
    ]
  ) {
    assert.equal(list.allows(ok), true, ok);
  }
  for (const bad of ["evil.example", "evil.example:3000", "127.0.0.1.evil.example", "", null, undefined]) {
    assert.equal(list.allows(bad), false, String(bad));
  }
  assert.equal(new HostAllowlist(["*"]).allows("anything.example"), true);
});
