import assert from "node:assert/strict";
import { Inbox, type InboxItem } from "./inbox.ts";

const item = (priority: number, n: number): InboxItem => ({
  kind: "demand",
  priority,
  payload: n,
  enqueuedAt: n,
});

Deno.test("Inbox serves highest priority first, FIFO among equals", () => {
  const box = new Inbox(10);
  for (const [p, n] of [[0.5, 1], [0.9, 2], [0.5, 3], [0.1, 4], [0.9, 5]]) box.push(item(p, n));
  const order: unknown[] = [];
  while (box.size) order.push(box.shift()!.payload);
  assert.deepEqual(order, [2, 5, 1, 3, 4]);
});

Deno.test("Inbox.push() when full drops the lowest priority: the new item, or the oldest of the lowest", () => {
  const box = new Inbox(3);
  box.push(item(0.5, 1));
  box.push(item(0.2, 2));
  box.push(item(0.2, 3));
  assert.equal(box.push(item(0.1, 4))?.payload, 4, "strictly lowest newcomer is refused");
  assert.equal(box.push(item(0.2, 5))?.payload, 2, "equal-lowest: the oldest gives way");
  assert.equal(box.push(item(0.9, 6))?.payload, 3);
  const order: unknown[] = [];
  while (box.size) order.push(box.shift()!.payload);
  assert.deepEqual(order, [6, 1, 5]);
});

Deno.test("Inbox rejects a non-positive bound", () => {
  assert.throws(() => new Inbox(0), {
    name: "RangeError",
    message: "Cannot create inbox as 'max' must be a positive integer: current value is 0",
  });
});
