import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { type GpiodMode, type GpiodTable, LinuxGpioChip } from "./gpiod.ts";
import { gpiodV1 } from "./gpiod_v1.ts";
import { gpiod, openGpioChip } from "./gpio_chip.ts";

/** A chip in memory that behaves like the C tables: null/-1 plus errno on failure. */
class FakeGpiod implements GpiodTable {
  readonly version = 1 as const;
  err = 0;
  values = new Map<number, number>();
  requested = new Map<number, GpiodMode>();
  foreign = new Set<number>([7]); // held by another process
  noIrq = new Set<number>([9]); // edges refused with ENODEV, as gpio-viperboard does
  edges: { rising: boolean; timestampNs: bigint }[] = [];
  waits: bigint[] = [];
  closed = false;
  chipOpen(path: string) {
    if (path !== "/dev/gpiochip0") return this.err = 2, null;
    return { handle: "chip", name: "gpiochip0", lines: 28 };
  }
  chipClose() {
    this.closed = true;
  }
  requestLine(_c: unknown, offset: number, _consumer: string, mode: GpiodMode, initial: number) {
    if (this.foreign.has(offset)) return this.err = 16, null;
    if (this.noIrq.has(offset) && mode !== "input" && mode !== "output") return this.err = 19, null;
    this.requested.set(offset, mode);
    if (mode === "output") this.values.set(offset, initial);
    return { offset };
  }
  getValue(l: unknown) {
    return this.values.get((l as { offset: number }).offset) ?? 0;
  }
  setValue(l: unknown, v: number) {
    const o = (l as { offset: number }).offset;
    if (this.requested.get(o) !== "output") return this.err = 1, -1;
    this.values.set(o, v);
    return 0;
  }
  waitEdge(_l: unknown, ns: bigint) {
    this.waits.push(ns);
    return Promise.resolve(this.edges.length > 0 ? 1 : 0);
  }
  readEdge() {
    return this.edges.shift() ?? null;
  }
  release(l: unknown) {
    this.requested.delete((l as { offset: number }).offset);
  }
  errno() {
    return this.err;
  }
  lineConsumer(_c: unknown, offset: number) {
    return this.foreign.has(offset) ? "other-daemon" : null;
  }
}

Deno.test("gpiod() loads the installed libgpiod v1 for real", () => {
  assert.equal(gpiod().version, 1);
  assert.equal(gpiodV1().version, 1);
});

Deno.test("openGpioChip() of a missing chip names the path (real libgpiod v1)", () => {
  assert.throws(() => openGpioChip(99), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "not_found");
    assert.equal(e.message, "Cannot open GPIO chip /dev/gpiochip99: no such device (errno 2 ENOENT)");
    return true;
  });
});

Deno.test("LinuxGpioChip requests lines per direction, reads, writes and releases", () => {
  const t = new FakeGpiod();
  const chip = LinuxGpioChip.open(t, "/dev/gpiochip0");
  assert.equal(chip.name, "gpiochip0");
  assert.equal(chip.lines, 28);
  const out = chip.requestOutput(17, "buzzer", true);
  assert.equal(t.requested.get(17), "output");
  assert.equal(t.values.get(17), 1);
  out.write(false);
  assert.equal(out.value, false);
  assert.equal(t.values.get(17), 0);
  t.values.set(4, 1);
  const input = chip.requestInput(4, "button");
  assert.equal(input.read(), true);
  assert.equal("write" in input, false);
  input.release();
  assert.equal(t.requested.has(4), false);
  assert.throws(() => input.read(), /^Error: Cannot read GPIO line 4 on gpiochip0: line is released$/);
  chip.requestInput(4, "again").release(); // a released line can be requested again
  chip.close();
  assert.equal(t.requested.size, 0);
  assert.equal(t.closed, true);
});

Deno.test("LinuxGpioChip refuses bad, duplicate and foreign requests with clear errors", () => {
  const t = new FakeGpiod();
  const chip = LinuxGpioChip.open(t, "/dev/gpiochip0");
  assert.throws(() => chip.requestInput(28, "x"), /line must be an integer in 0..27/);
  chip.requestInput(5, "a");
  assert.throws(() => chip.requestOutput(5, "b", false), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "bus_busy");
    assert.match(
      e.message,
      /^Cannot request GPIO line 5 on gpiochip0 as output: already requested in this process/,
    );
    return true;
  });
  assert.throws(() => chip.requestInput(7, "c"), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(
      e.message,
      'Cannot request GPIO line 7 on gpiochip0 as input: held by consumer "other-daemon": bus busy (errno 16 EBUSY)',
    );
    return true;
  });
  assert.throws(
    () => LinuxGpioChip.open(t, "/dev/gpiochip3"),
    /^HalError: Cannot open GPIO chip \/dev\/gpiochip3: no such device/,
  );
  chip.close();
});

Deno.test("LinuxGpioChip edge lines wait with a timeout and report edges", async () => {
  const t = new FakeGpiod();
  const chip = LinuxGpioChip.open(t, "/dev/gpiochip0");
  const line = chip.requestEdge(22, "dht", "both");
  assert.equal(t.requested.get(22), "both");
  assert.equal(await line.waitEdge(2.5), null);
  assert.deepEqual(t.waits, [2_500_000n]);
  t.edges.push({ rising: false, timestampNs: 123n });
  assert.deepEqual(await line.waitEdge(10), { line: 22, edge: "falling", timestampNs: 123n });
  assert.throws(
    () => chip.requestEdge(23, "x", "sideways" as "both"),
    /edge must be rising, falling or both/,
  );
  line.release();
  await assert.rejects(line.waitEdge(1), /line is released/);
  chip.close();
});

Deno.test("LinuxGpioChip says a line without an interrupt cannot report edges (ENODEV is not a NAK)", () => {
  const chip = LinuxGpioChip.open(new FakeGpiod(), "/dev/gpiochip0");
  assert.throws(() => chip.requestEdge(9, "x", "rising"), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "not_supported");
    assert.equal(
      e.message,
      "Cannot request GPIO line 9 on gpiochip0 as rising: the line has no interrupt, so no edge events: not supported (errno 19 ENODEV)",
    );
    return true;
  });
  chip.requestInput(9, "x").release(); // a plain input is fine
  chip.close();
});
