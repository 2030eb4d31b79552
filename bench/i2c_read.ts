/**
 * I2C register read software cost (read byte data, 0x77 reg 0xD0, i2c-stub in a QEMU guest):
 * hal/linux over FFI in each I/O mode (sync; worker, the default, with and without its idle
 * polling; nonblocking) vs the same ioctl from C vs Python smbus2, plus the cost of building
 * the ioctl structs per call vs reusing them.
 *
 * Host: `deno run -A bench/i2c_read.ts` boots the guest (tests/kernel/run.sh bench) and prints a
 * table. Guest: `--guest` measures the Deno side and prints JSON lines.
 *
 * @module
 */
import { libc, O_RDWR, openPath } from "../hal/linux/_libc.ts";
import { type I2cIoMode, LinuxI2cBus } from "../hal/linux/i2c_bus.ts";
import { I2C_SLAVE, I2C_SMBUS } from "../hal/linux/ioctl.ts";
import { planTransfer, type SmbusPlan } from "../hal/linux/i2c_plan.ts";
import { I2cStructs } from "../hal/linux/i2c_structs.ts";
import type { BenchRow } from "./row.ts";

export type { BenchRow };

/** One measurement line from the guest. */
interface Sample {
  peer: string;
  nsPerCall?: number;
  gapMs?: number;
  missing?: string;
}

const REG = Uint8Array.of(0xd0);

function timeLoop(calls: number, fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) fn();
  return ((performance.now() - t0) * 1e6) / calls;
}

async function timeLoopAsync(calls: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await fn();
  return ((performance.now() - t0) * 1e6) / calls;
}

/** Guest side: measure and print JSON lines (each variant warmed up, repeats interleaved). */
async function guest(repeats = 5): Promise<void> {
  const out = (s: Sample) => console.log(JSON.stringify(s));
  const sync = LinuxI2cBus.open(0, { io: "sync" });
  const nb = LinuxI2cBus.open(0, { io: "nonblocking" });
  const offLoop: Record<string, LinuxI2cBus> = {
    "deno-worker": LinuxI2cBus.open(0, { io: "worker" }),
    "deno-worker-nospin": LinuxI2cBus.open(0, { io: "worker", spinUs: 0 }),
    "deno-nonblocking": nb,
  };
  await sync.transfer(0x77, Uint8Array.of(0xd0, 0x61), 0);
  // Raw ioctl: structs reused vs built per call (what LinuxI2cBus avoids).
  const fd = openPath("/dev/i2c-0", O_RDWR);
  libc().ioctlInt(fd, I2C_SLAVE, 0x77n);
  const plan = planTransfer(0x0c7f0000, REG, 1, { bus: 0, addr: 0x77 }) as SmbusPlan;
  const reused = new I2cStructs(64);
  const variants: Record<string, () => void> = {
    "deno-sync": () => sync.transferSync(0x77, REG, 1),
    "deno-raw-reuse": () => {
      reused.setSmbus(plan);
      libc().ioctl(fd, I2C_SMBUS, reused.smbusPtr);
    },
    "deno-raw-alloc": () => {
      const fresh = new I2cStructs(64);
      fresh.setSmbus(plan);
      libc().ioctl(fd, I2C_SMBUS, fresh.smbusPtr);
    },
  };
  for (const fn of Object.values(variants)) timeLoop(3000, fn);
  for (const bus of Object.values(offLoop)) await timeLoopAsync(300, () => bus.transfer(0x77, REG, 1));
  for (let r = 0; r < repeats; r++) {
    for (const [peer, fn] of Object.entries(variants)) out({ peer, nsPerCall: timeLoop(20000, fn) });
    for (const [peer, bus] of Object.entries(offLoop)) {
      let last = performance.now(), gap = 0;
      const id = setInterval(() => {
        const now = performance.now();
        gap = Math.max(gap, now - last);
        last = now;
      }, 1);
      last = performance.now();
      const ns = await timeLoopAsync(2000, () => bus.transfer(0x77, REG, 1));
      clearInterval(id);
      out({ peer, nsPerCall: ns, gapMs: Math.max(gap, performance.now() - last) });
    }
  }
  libc().close(fd);
  sync.close();
  for (const bus of Object.values(offLoop)) bus.close();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[], scale: number) =>
  `${(Math.min(...xs) / scale).toFixed(2)}–${(Math.max(...xs) / scale).toFixed(2)}`;

/** Turn guest samples into rows (µs per call, ratios vs C). */
export function rowsFromSamples(samples: Sample[]): BenchRow[] {
  const by = (peer: string, key: "nsPerCall" | "gapMs" = "nsPerCall") =>
    samples.filter((s) => s.peer === peer && typeof s[key] === "number").map((s) => s[key] as number);
  const c = by("c");
  if (c.length === 0) throw new Error("Cannot build I2C bench rows: the C peer reported no samples");
  const cUs = median(c) / 1000;
  const rows: BenchRow[] = [];
  const vsC = (name: string, peer: string) => {
    const xs = by(peer);
    if (xs.length === 0) return;
    const us = median(xs) / 1000;
    rows.push({
      name,
      value: us,
      unit: "µs/call",
      peer: "C ioctl",
      peerValue: cUs,
      ratio: us / cUs,
      spread: spread(xs, 1000),
    });
  };
  vsC("I2C read byte data: hal/linux FFI sync (reused structs)", "deno-sync");
  vsC("I2C read byte data: hal/linux worker (default: sync FFI on a bus thread)", "deno-worker");
  vsC("I2C read byte data: hal/linux worker, no idle polling (spinUs 0)", "deno-worker-nospin");
  vsC("I2C read byte data: hal/linux FFI nonblocking", "deno-nonblocking");
  vsC("I2C read byte data: Python smbus2", "python");
  rows.push({ name: "I2C read byte data: C ioctl", value: cUs, unit: "µs/call", spread: spread(c, 1000) });
  const alloc = by("deno-raw-alloc"), reuse = by("deno-raw-reuse");
  if (alloc.length && reuse.length) {
    rows.push({
      name: "I2C ioctl structs built per call (raw FFI)",
      value: median(alloc) / 1000,
      unit: "µs/call",
      peer: "structs reused",
      peerValue: median(reuse) / 1000,
      ratio: median(alloc) / median(reuse),
      spread: spread(alloc, 1000),
    });
  }
  for (const [peer, mode] of [["deno-worker", "worker"], ["deno-nonblocking", "nonblocking"]]) {
    const gaps = by(peer, "gapMs");
    if (gaps.length === 0) continue;
    rows.push({
      name: `event-loop max gap during ${mode} read loop`,
      value: median(gaps),
      unit: "ms",
      spread: spread(gaps, 1),
    });
  }
  return rows;
}

/**
 * Boot the QEMU guest, run the three peers there, and return the rows.
 *
 * @throws {Error} when the guest run fails
 */
export async function benchI2c(): Promise<BenchRow[]> {
  const root = new URL("..", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: [`${root}tests/kernel/run.sh`, "bench"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    const tail = (text + new TextDecoder().decode(stderr)).split("\n").slice(-15).join("\n");
    throw new Error(`Cannot run the I2C bench in QEMU: run.sh exited ${code}\n${tail}`);
  }
  const samples = text.split("\n").filter((l) => l.startsWith('{"peer"')).map((l) => JSON.parse(l) as Sample);
  return [...rowsFromSamples(samples), ...await hostDispatch(`${root}tests/out/kernel/i2c_read_c`)];
}

/**
 * The same ioctl on the host without QEMU, against /dev/null (ENOTTY, no driver): the pure
 * FFI dispatch cost, sync and nonblocking, vs C. TCG emulation inflates JIT-compiled code, so
 * these rows show the Deno/C gap on real silicon.
 */
export async function hostDispatch(cPeer: string, repeats = 5): Promise<BenchRow[]> {
  const fd = openPath("/dev/null", O_RDWR);
  const s = new I2cStructs(64);
  const sync: number[] = [], nb: number[] = [];
  timeLoop(5000, () => libc().ioctl(fd, I2C_SMBUS, s.smbusPtr));
  for (let r = 0; r < repeats; r++) {
    sync.push(timeLoop(100000, () => libc().ioctl(fd, I2C_SMBUS, s.smbusPtr)));
    nb.push(await timeLoopAsync(5000, () => libc().ioctlNb(fd, I2C_SMBUS, s.smbusPtr)));
  }
  libc().close(fd);
  // The whole LinuxI2cBus.transfer() per mode against /dev/null (functionality assumed): the
  // ioctl fails with ENOTTY, so each call also builds its HalError (~4 µs here).
  const modes: Record<string, number[]> = { sync: [], worker: [], nonblocking: [] };
  for (const io of Object.keys(modes) as I2cIoMode[]) {
    const bus = LinuxI2cBus.open(0, { path: "/dev/null", io, assumeFuncs: 0x00010001 }); // I2C_RDWR
    const call = () => bus.transfer(0x77, REG, 1).catch(() => {});
    await timeLoopAsync(2000, call);
    for (let r = 0; r < repeats; r++) modes[io].push(await timeLoopAsync(5000, call));
    bus.close();
  }
  // Struct preparation alone (no syscall): a fresh set of buffers per call vs the bus's reused set.
  const plan = planTransfer(0x0c7f0000, REG, 1, { bus: 0, addr: 0x77 }) as SmbusPlan;
  const fresh: number[] = [], reused: number[] = [];
  for (let r = 0; r < repeats; r++) {
    fresh.push(timeLoop(5000, () => new I2cStructs(64).setSmbus(plan)));
    reused.push(timeLoop(100000, () => s.setSmbus(plan)));
  }
  const { stdout } = await new Deno.Command(cPeer, {
    args: ["null", "100000", String(repeats)],
    stdout: "piped",
  })
    .output();
  const c = new TextDecoder().decode(stdout).trim().split("\n").map((l) =>
    (JSON.parse(l) as Sample).nsPerCall!
  );
  const cUs = median(c) / 1000;
  const row = (name: string, xs: number[]): BenchRow => ({
    name,
    value: median(xs) / 1000,
    unit: "µs/call",
    peer: "C ioctl",
    peerValue: cUs,
    ratio: median(xs) / 1000 / cUs,
    spread: spread(xs, 1000),
  });
  return [
    row("ioctl dispatch on host (/dev/null): Deno FFI sync", sync),
    row("ioctl dispatch on host (/dev/null): Deno FFI nonblocking", nb),
    ...Object.entries(modes).map(([io, xs]) =>
      row(`LinuxI2cBus.transfer() on host (/dev/null, ENOTTY): ${io}`, xs)
    ),
    {
      name: "I2C structs prepared per call on host (no syscall)",
      value: median(fresh) / 1000,
      unit: "µs/call",
      peer: "structs reused",
      peerValue: median(reused) / 1000,
      ratio: median(fresh) / median(reused),
      spread: spread(fresh, 1000),
    },
  ];
}

if (import.meta.main) {
  if (Deno.args.includes("--guest")) {
    await guest();
  } else {
    const rows = await benchI2c();
    console.table(rows.map((r) => ({
      name: r.name,
      value: +r.value.toFixed(3),
      unit: r.unit,
      peer: r.peer ?? "",
      peerValue: r.peerValue?.toFixed(3) ?? "",
      ratio: r.ratio?.toFixed(2) ?? "",
      spread: r.spread ?? "",
    })));
  }
}
