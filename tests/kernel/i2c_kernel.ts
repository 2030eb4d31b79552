/**
 * hal/linux against a real kernel: run inside QEMU by tests/kernel/run.sh, where i2c-stub
 * (chip_addr=0x77,0x3c) provides an SMBus-only adapter on /dev/i2c-0. Not named *_test.ts so
 * the host suite does not pick it up.
 */
import assert from "node:assert/strict";
import { HalError } from "../../hal/errors.ts";
import { I2cDevice } from "../../hal/i2c.ts";
import { LinuxI2cBus } from "../../hal/linux/i2c_bus.ts";
import { I2C_FUNC } from "../../hal/linux/i2c_plan.ts";
import { LinuxHal } from "../../hal/linux/mod.ts";
import { closeFd, errno, libc, O_RDWR, openPath } from "../../hal/linux/_libc.ts";
import { I2C_RDWR } from "../../hal/linux/ioctl.ts";
import { I2cStructs } from "../../hal/linux/i2c_structs.ts";
import { proven } from "./proven.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

type Io = "worker" | "sync" | "nonblocking";
const MODES = ["worker", "sync", "nonblocking"] as const;

function withBus(io: Io, fn: (bus: LinuxI2cBus) => Promise<void>): () => Promise<void> {
  return async () => {
    const bus = LinuxI2cBus.open(0, { io });
    try {
      await fn(bus);
    } finally {
      bus.close();
    }
  };
}

Deno.test(
  "LinuxI2cBus.functionality() reads I2C_FUNCS of i2c-stub (SMBus only)",
  withBus("sync", async (bus) => {
    const f = bus.functionality();
    assert.equal(f.i2c, false);
    assert.equal(f.smbusQuick, true);
    assert.equal(f.smbusByte, true);
    assert.equal(f.smbusByteData, true);
    assert.equal(f.smbusWordData, true);
    assert.equal(f.smbusI2cBlock, true);
    assert.equal(f.raw & I2C_FUNC.I2C, 0);
    proven({
      adapter: "i2c-stub (chips 0x77, 0x3c, 0x51)",
      driver: "i2c-stub + i2c-core + i2c-dev",
      functionality: "SMBus only",
      proven: "SMBus quick/byte/byte+word data/I2C block, NAK=ENODEV, at24 claim=EBUSY, write-once",
    });
    await Promise.resolve();
  }),
);

for (const io of MODES) {
  Deno.test(
    `LinuxI2cBus.transfer() byte data round-trips at 0x77 and 0x3c (${io})`,
    withBus(io, async (bus) => {
      await bus.transfer(0x77, bytes(0xd0, 0x61), 0);
      await bus.transfer(0x3c, bytes(0xd0, 0x5a), 0);
      assert.deepEqual(await bus.transfer(0x77, bytes(0xd0), 1), bytes(0x61));
      assert.deepEqual(await bus.transfer(0x3c, bytes(0xd0), 1), bytes(0x5a));
    }),
  );

  Deno.test(
    `LinuxI2cBus.transfer() word data round-trips little-endian (${io})`,
    withBus(io, async (bus) => {
      await bus.transfer(0x77, bytes(0x20, 0x34, 0x12), 0);
      assert.deepEqual(await bus.transfer(0x77, bytes(0x20), 2), bytes(0x34, 0x12));
      // i2c-stub keeps one 16-bit word per register: the byte view is the low byte.
      assert.deepEqual(await bus.transfer(0x77, bytes(0x20), 1), bytes(0x34));
    }),
  );

  Deno.test(
    `LinuxI2cBus.transfer() I2C block data round-trips (${io})`,
    withBus(io, async (bus) => {
      const payload = Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);
      await bus.transfer(0x3c, bytes(0x40, ...payload), 0);
      assert.deepEqual(await bus.transfer(0x3c, bytes(0x40), 32), Uint8Array.from(payload));
      assert.deepEqual(await bus.transfer(0x3c, bytes(0x40), 5), Uint8Array.from(payload.slice(0, 5)));
      // the block landed register by register
      assert.deepEqual(await bus.transfer(0x3c, bytes(0x45), 1), bytes(payload[5]));
    }),
  );

  Deno.test(
    `LinuxI2cBus.transfer() reports a missing address as not acknowledged (${io})`,
    withBus(io, async (bus) => {
      const err = await bus.transfer(0x50, bytes(0x00), 1).then(() => null, (e) => e);
      assert.ok(err instanceof HalError, String(err));
      assert.equal(err.code, "address_nak");
      assert.match(
        err.message,
        /^Cannot read I2C device 0x50 on bus 0: address not acknowledged \(errno \d+ E[A-Z]+\)$/,
      );
      const quick = await bus.transfer(0x50, bytes(), 0).then(() => null, (e) => e);
      assert.ok(quick instanceof HalError);
      assert.equal(quick.code, "address_nak");
      // the bus still works afterwards
      await bus.transfer(0x77, bytes(0x01, 0x99), 0);
      assert.deepEqual(await bus.transfer(0x77, bytes(0x01), 1), bytes(0x99));
    }),
  );
}

Deno.test(
  "LinuxI2cBus.transfer() maps generic shapes to send/receive byte and quick",
  withBus("worker", async (bus) => {
    await bus.transfer(0x77, bytes(0x60, 0x11, 0x22, 0x33), 0); // I2C block write of 3 bytes
    await bus.transfer(0x77, bytes(0x60), 0); // send byte: sets the stub's register pointer
    assert.deepEqual(await bus.transfer(0x77, bytes(), 1), bytes(0x11)); // receive byte
    assert.deepEqual(await bus.transfer(0x77, bytes(), 1), bytes(0x22)); // pointer auto-increments
    assert.deepEqual(await bus.transfer(0x77, bytes(), 0), bytes()); // quick write is acknowledged
    assert.deepEqual(await bus.transfer(0x77, bytes(0x60), 3), bytes(0x11, 0x22, 0x33)); // I2C block read
  }),
);

Deno.test(
  "LinuxI2cBus.transfer() refuses shapes SMBus cannot carry, naming the shape",
  withBus("sync", async (bus) => {
    const cases: [number[], number, RegExp][] = [
      [[0x10, 0x01], 2, /'write 2 byte\(s\) then read 2'/],
      [[0x10], 33, /'write 1 byte\(s\) then read 33'/],
      [[], 4, /'write 0 byte\(s\) then read 4'/],
      [Array(34).fill(1), 0, /'write 34 byte\(s\) then read 0'/],
    ];
    for (const [w, r, re] of cases) {
      const err = await bus.transfer(0x77, Uint8Array.from(w), r).then(() => null, (e) => e);
      assert.ok(err instanceof HalError, String(err));
      assert.equal(err.code, "not_supported");
      assert.match(err.message, re);
      assert.match(err.message, /^Cannot (read|write) I2C device 0x77 on bus 0: .*: not supported$/);
    }
  }),
);

Deno.test("LinuxI2cBus.open() of a missing bus is not_found naming the node", () => {
  const err = (() => {
    try {
      LinuxI2cBus.open(7);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof HalError);
  assert.equal(err.code, "not_found");
  assert.equal(err.message, "Cannot open I2C bus 7 (/dev/i2c-7): no such device (errno 2 ENOENT)");
});

for (const io of ["worker", "nonblocking"] as const) {
  Deno.test(
    `LinuxI2cBus.transfer() serialises concurrent transfers across addresses (${io})`,
    withBus(io, async (bus) => {
      const done: number[] = [];
      const jobs: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        const addr = i % 2 ? 0x3c : 0x77;
        const reg = 0x80 + (i >> 1);
        jobs.push(bus.transfer(addr, bytes(reg, i), 0).then(() => done.push(2 * i)));
        jobs.push(
          bus.transfer(addr, bytes(reg), 1).then((v) => {
            assert.deepEqual(v, bytes(i), `read-back of job ${i}`);
            done.push(2 * i + 1);
          }),
        );
      }
      await Promise.all(jobs);
      assert.deepEqual(done, Array.from({ length: 80 }, (_, i) => i)); // completed in submission order
    }),
  );
}

Deno.test("I2cDevice over LinuxHal reads and writes registers", async () => {
  const hal = new LinuxHal({
    i2cBuses: [0],
    gpioChip: 0,
    ledCount: 0,
    ledPin: 10,
    ledBrightness: 1,
    buzzerPin: 17,
  });
  try {
    const dev = new I2cDevice(hal.i2c(0), 0x77);
    assert.equal(hal.i2c(0), hal.i2c(0));
    await dev.writeRegister(0xd0, 0x61);
    assert.deepEqual(await dev.readRegister(0xd0, 1), bytes(0x61));
  } finally {
    hal.close();
  }
});

/** Max gap between 1 ms interval ticks while `work` runs. */
async function maxTickGap(work: () => Promise<void>): Promise<{ gapMs: number; ticks: number; ms: number }> {
  let last = performance.now();
  let gap = 0;
  let ticks = 0;
  const id = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    ticks++;
  }, 1);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 5));
  last = performance.now();
  gap = 0;
  ticks = 0;
  await work();
  const ms = performance.now() - t0;
  gap = Math.max(gap, performance.now() - last);
  clearInterval(id);
  return { gapMs: gap, ticks, ms };
}

Deno.test("LinuxI2cBus worker and nonblocking reads keep the event loop turning", async () => {
  const N = 1000;
  const worker = LinuxI2cBus.open(0); // the default mode
  const nb = LinuxI2cBus.open(0, { io: "nonblocking" });
  const sync = LinuxI2cBus.open(0, { io: "sync" });
  try {
    assert.equal(worker.io, "worker");
    const reg = bytes(0xd0);
    for (let i = 0; i < 300; i++) await worker.transfer(0x77, reg, 1); // warm up the JIT (slow under TCG)
    for (let i = 0; i < 300; i++) await nb.transfer(0x77, reg, 1);
    const w = await maxTickGap(async () => {
      for (let i = 0; i < N; i++) await worker.transfer(0x77, reg, 1);
    });
    const a = await maxTickGap(async () => {
      for (let i = 0; i < N; i++) await nb.transfer(0x77, reg, 1);
    });
    const b = await maxTickGap(() => {
      for (let i = 0; i < N; i++) sync.transferSync(0x77, reg, 1);
      return Promise.resolve();
    });
    const fmt = (r: { gapMs: number; ticks: number; ms: number }) =>
      `${r.gapMs.toFixed(2)} ms (${r.ticks} ticks in ${r.ms.toFixed(1)} ms)`;
    console.log(
      `event-loop max gap during ${N} reads: worker ${fmt(w)}, nonblocking ${fmt(a)}, sync ${fmt(b)}`,
    );
    assert.equal(b.ticks, 0, "a sync loop starves timers (the control)");
    // TCG on a shared host stalls the whole VM now and then, so only starvation is asserted:
    // the sync loop gets no tick at all, the off-loop modes are never blocked from start to end.
    for (const [name, r] of [["worker", w], ["nonblocking", a]] as const) {
      assert.ok(r.ticks > 0, `timers ran during the ${name} loop`);
      assert.ok(r.gapMs < r.ms, `${name} max gap ${r.gapMs} ms should be below the loop's ${r.ms} ms`);
    }
  } finally {
    worker.close();
    nb.close();
    sync.close();
  }
});

/**
 * The kernel's own record of SMBus transfers: the `smbus` trace events, which
 * `__i2c_smbus_xfer` emits once per transfer it hands to the adapter (`smbus_write` for each
 * write, `smbus_result` with the adapter's return code for each).
 */
async function smbusTrace(): Promise<
  { clear(): void; events(): string[]; [Symbol.asyncDispose](): Promise<void> }
> {
  const dir = "/sys/kernel/tracing";
  if (!existsSync(`${dir}/trace`)) {
    const m = await new Deno.Command("mount", { args: ["-t", "tracefs", "nodev", dir], stderr: "piped" })
      .output();
    assert.equal(m.code, 0, new TextDecoder().decode(m.stderr));
  }
  const on = (v: string) => {
    for (const e of ["smbus_write", "smbus_result"]) {
      Deno.writeTextFileSync(`${dir}/events/smbus/${e}/enable`, v);
    }
  };
  on("1");
  return {
    clear: () => Deno.writeTextFileSync(`${dir}/trace`, ""),
    events: () =>
      Deno.readTextFileSync(`${dir}/trace`).split("\n").filter((l) => /smbus_(write|result):/.test(l)),
    [Symbol.asyncDispose]: () => Promise.resolve(on("0")),
  };
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("LinuxI2cBus worker mode sends a failing write once (kernel smbus trace; nonblocking repeats it)", async () => {
  await using trace = await smbusTrace();
  const sent: Record<string, string[]> = {};
  for (const io of ["worker", "nonblocking"] as const) {
    const bus = LinuxI2cBus.open(0, { io });
    try {
      await bus.transfer(0x77, bytes(0x30, 0x00), 0); // select a present device first
      trace.clear();
      const err = await bus.transfer(0x50, bytes(0x30, 0xab), 0).then(() => null, (e) => e);
      assert.ok(err instanceof HalError, String(err));
      assert.equal(err.code, "address_nak");
      assert.equal(
        err.message,
        "Cannot write I2C device 0x50 on bus 0: address not acknowledged (errno 19 ENODEV)",
      );
      sent[io] = trace.events().filter((l) => / a=050 /.test(l));
    } finally {
      bus.close();
    }
  }
  const count = (io: string, event: string) => sent[io].filter((l) => l.includes(`${event}:`)).length;
  assert.equal(count("worker", "smbus_write"), 1, sent.worker.join("\n"));
  assert.equal(count("worker", "smbus_result"), 1, sent.worker.join("\n"));
  assert.match(sent.worker.find((l) => l.includes("smbus_result:"))!, /res=-19/);
  // The control: nonblocking cannot read errno on the pool thread, so it sends the write again.
  assert.equal(count("nonblocking", "smbus_write"), 2, sent.nonblocking.join("\n"));
});

Deno.test("LinuxI2cBus refuses an address a kernel driver claimed unless forced", async () => {
  // Bind the at24 EEPROM driver to the stub chip at 0x51 (modules come from the host root).
  const modprobe = await new Deno.Command("modprobe", { args: ["at24"], stderr: "piped" }).output();
  assert.equal(modprobe.code, 0, new TextDecoder().decode(modprobe.stderr));
  await Deno.writeTextFile("/sys/bus/i2c/devices/i2c-0/new_device", "24c02 0x51");
  const plain = LinuxI2cBus.open(0);
  const forced = LinuxI2cBus.open(0, { force: true });
  try {
    const err = await plain.transfer(0x51, bytes(0x00), 1).then(() => null, (e) => e);
    assert.ok(err instanceof HalError, String(err));
    assert.equal(err.code, "bus_busy");
    assert.equal(
      err.message,
      "Cannot read I2C device 0x51 on bus 0: a kernel driver has claimed 0x51 (set i2cForce to override): bus busy (errno 16 EBUSY)",
    );
    await forced.transfer(0x51, bytes(0x07, 0xa5), 0);
    assert.deepEqual(await forced.transfer(0x51, bytes(0x07), 1), bytes(0xa5));
  } finally {
    plain.close();
    forced.close();
    await Deno.writeTextFile("/sys/bus/i2c/devices/i2c-0/delete_device", "0x51");
  }
});

Deno.test("I2C_RDWR structs are accepted by the kernel (EOPNOTSUPP on SMBus-only i2c-stub, not EFAULT)", () => {
  // i2c-dev copies the i2c_msg array and every buffer from user space before it asks the
  // adapter, so a layout mistake would surface as EFAULT/EINVAL; i2c-stub then refuses plain
  // I2C with EOPNOTSUPP. The corrupted control proves the check can fail.
  const fd = openPath("/dev/i2c-0", O_RDWR);
  assert.ok(fd >= 0);
  try {
    const s = new I2cStructs(64);
    const rdwr = () => libc().ioctl(fd, I2C_RDWR, s.rdwrPtr) < 0 ? errno() : 0;
    assert.equal(s.setRdwr(0x77, bytes(0xd0), 2), 2);
    assert.equal(rdwr(), 95); // EOPNOTSUPP
    new DataView(s.msgs).setBigUint64(8, 0x10n, true); // msg 0 buf -> unmapped page
    assert.equal(rdwr(), 14); // EFAULT
    s.setRdwr(0x77, bytes(0xd0), 2);
    new DataView(s.msgs).setUint16(20, 9000, true); // msg 1 len above 8192
    assert.equal(rdwr(), 22); // EINVAL
  } finally {
    closeFd(fd);
  }
});

Deno.test("LinuxI2cBus.open({ exclusive }) refuses a second owner of the bus", () => {
  const first = LinuxI2cBus.open(0, { exclusive: true });
  try {
    assert.throws(() => LinuxI2cBus.open(0, { exclusive: true }), (e: unknown) => {
      assert.ok(e instanceof HalError);
      assert.equal(e.code, "bus_busy");
      assert.equal(
        e.message,
        "Cannot open I2C bus 0 (/dev/i2c-0): another process holds it exclusively: bus busy (errno 11 EWOULDBLOCK)",
      );
      return true;
    });
  } finally {
    first.close();
  }
  LinuxI2cBus.open(0, { exclusive: true }).close(); // released with the fd
});

Deno.test("LinuxI2cBus.close() fails queued transfers and then releases the node", async () => {
  const bus = LinuxI2cBus.open(0, { exclusive: true });
  const done = await bus.transfer(0x77, bytes(0xd0), 1);
  assert.equal(done.length, 1);
  const queued = [bus.transfer(0x77, bytes(0xd0), 1), bus.transfer(0x3c, bytes(0xd0), 1)];
  bus.close();
  for (const r of await Promise.allSettled(queued)) {
    assert.equal(r.status, "rejected");
    assert.match(String((r as PromiseRejectedResult).reason), /Cannot transfer on I2C bus 0: bus is closed/);
  }
  await new Promise((r) => setTimeout(r, 0)); // the deferred close runs in the queue's tail
  LinuxI2cBus.open(0, { exclusive: true }).close(); // the flock went with the closed fd
});

/** Load i2c-piix4 for QEMU's emulated PIIX4 SMBus controller (SPD EEPROMs at 0x50..0x57). */
async function piix4Bus(): Promise<number> {
  const m = await new Deno.Command("modprobe", { args: ["i2c-piix4"], stderr: "piped" }).output();
  assert.equal(m.code, 0, new TextDecoder().decode(m.stderr));
  for (const e of Deno.readDirSync("/sys/class/i2c-adapter")) {
    const name = Deno.readTextFileSync(`/sys/class/i2c-adapter/${e.name}/name`);
    if (name.startsWith("SMBus PIIX4")) return Number(e.name.slice("i2c-".length));
  }
  throw new Error("Cannot find the PIIX4 SMBus adapter in /sys/class/i2c-adapter");
}

for (const io of MODES) {
  Deno.test(`LinuxI2cBus on an emulated PIIX4 controller: round trip, ENXIO on NAK, no I2C block (${io})`, async () => {
    const n = await piix4Bus();
    const bus = LinuxI2cBus.open(n, { io });
    try {
      const f = bus.functionality();
      assert.deepEqual([f.i2c, f.smbusByteData, f.smbusWordData, f.smbusI2cBlock], [
        false,
        true,
        true,
        false,
      ]);
      await bus.transfer(0x50, bytes(0x10, 0xab), 0);
      assert.deepEqual(await bus.transfer(0x50, bytes(0x10), 1), bytes(0xab));
      const nak = await bus.transfer(0x58, bytes(0x00), 1).then(() => null, (e) => e);
      assert.ok(nak instanceof HalError, String(nak));
      assert.equal(
        nak.message,
        `Cannot read I2C device 0x58 on bus ${n}: address not acknowledged (errno 6 ENXIO)`,
      );
      const block = await bus.transfer(0x50, bytes(0x00), 4).then(() => null, (e) => e);
      assert.ok(block instanceof HalError);
      assert.equal(block.code, "not_supported");
      assert.match(block.message, /needs SMBus read_i2c_block, which the adapter lacks: not supported$/);
      if (io === "worker") {
        proven({
          adapter: "QEMU PIIX4 SMBus controller (SPD EEPROMs)",
          driver: "i2c-piix4 + i2c-core + i2c-dev",
          functionality: "SMBus, no I2C block",
          proven: "SMBus byte data round trip, NAK=ENXIO, I2C block refused by name",
        });
      }
    } finally {
      bus.close();
    }
  });
}
