import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { codeForErrno, errnoError, errnoName } from "./errno.ts";

Deno.test("codeForErrno() maps kernel errors to HAL codes", () => {
  const cases: [number, "open" | "transfer", string][] = [
    [6, "transfer", "address_nak"],
    [121, "transfer", "address_nak"],
    [19, "transfer", "address_nak"],
    [19, "open", "not_found"],
    [2, "open", "not_found"],
    [16, "transfer", "bus_busy"],
    [110, "transfer", "timeout"],
    [95, "transfer", "not_supported"],
    [25, "transfer", "not_supported"],
    [22, "transfer", "not_supported"],
    [13, "open", "permission"],
    [1, "open", "permission"],
    [5, "transfer", "io"],
    [71, "transfer", "io"],
  ];
  for (const [e, ctx, code] of cases) assert.equal(codeForErrno(e, ctx), code, `${errnoName(e)} ${ctx}`);
});

Deno.test("errnoError() names the action, the meaning and the errno", () => {
  const e = errnoError("Cannot read I2C device 0x50 on bus 0", 6, "transfer");
  assert.ok(e instanceof HalError);
  assert.equal(e.code, "address_nak");
  assert.equal(e.errno, 6);
  assert.equal(e.message, "Cannot read I2C device 0x50 on bus 0: address not acknowledged (errno 6 ENXIO)");
  assert.equal(errnoName(9999), "E?");
});
