import assert from "node:assert/strict";
import { LineDecoder, toWireError } from "./protocol.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("LineDecoder.push() joins lines split across chunks", () => {
  const d = new LineDecoder(64);
  assert.deepEqual(d.push(enc('{"a":')), []);
  assert.deepEqual(d.push(enc('1}\n{"b":2}\n{"c"')), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(d.push(enc(":3}\n")), ['{"c":3}']);
});

Deno.test("LineDecoder.push() refuses a line longer than its bound", () => {
  const d = new LineDecoder(8);
  assert.throws(() => d.push(enc("0123456789")), {
    name: "RangeError",
    message: "Cannot read protocol line: longer than 8 bytes",
  });
});

Deno.test("toWireError() keeps capability fields and caps the message", () => {
  const e = Object.assign(new Error("x".repeat(5000)), { capability: "i2c", argument: "0x3c" });
  const w = toWireError(e);
  assert.equal(w.message.length, 1000);
  assert.equal(w.capability, "i2c");
  assert.equal(w.argument, "0x3c");
  assert.equal(toWireError("plain").message, "plain");
  // An error that crossed a postMessage arrives as a plain object and keeps its fields.
  assert.deepEqual(toWireError({ name: "TypeError", message: "late boom" }), {
    name: "TypeError",
    message: "late boom",
  });
  assert.equal(toWireError({ message: "no name" }).name, "Error");
});
