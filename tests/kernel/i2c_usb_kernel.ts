/**
 * hal/linux on a plain-I2C adapter, the path a Raspberry Pi takes: an emulated i2c-tiny-usb
 * (tests/kernel/usbip) attached through USB/IP `vhci-hcd`, bound by the kernel's real
 * `i2c-tiny-usb` driver, which reports `I2C_FUNC_I2C`, so every transfer is one `I2C_RDWR`
 * through i2c-core and the driver's USB control requests. Behind it: the project's BME680 and
 * SSD1306 register models and a 24C32 EEPROM (16-bit addressing, impossible over SMBus).
 * Run inside QEMU by tests/kernel/run.sh.
 */
import assert from "node:assert/strict";
import { HalError } from "../../hal/errors.ts";
import { LinuxI2cBus } from "../../hal/linux/i2c_bus.ts";
import { I2C_FUNC } from "../../hal/linux/i2c_plan.ts";
import { Emulator, i2cAdapter, modprobe, waitFor } from "./usbip/client.ts";
import type { WireMessage } from "./usbip/tiny_usb.ts";
import { proven } from "./proven.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const MODES = ["worker", "sync", "nonblocking"] as const;

async function failure(p: Promise<unknown>): Promise<HalError> {
  const err = await p.then(() => null, (e) => e);
  assert.ok(err instanceof HalError, `expected a HalError, got ${err}`);
  return err;
}

Deno.test("hal/linux through the real i2c-tiny-usb driver (USB/IP emulated adapter)", async (t) => {
  await modprobe("vhci-hcd", "i2c-tiny-usb");
  const emu = await Emulator.start("tiny-usb:0");
  try {
    const n = await waitFor("the i2c-tiny-usb adapter", 60_000, () => i2cAdapter("i2c-tiny-usb"));
    const log = async () => (await emu.call<{ log: WireMessage[]; delayUs: number }>("i2c.log"));
    const clear = () => emu.call("i2c.clearLog");

    await t.step("the driver probed the adapter and reports plain I2C", async () => {
      const bus = LinuxI2cBus.open(n, { io: "sync" });
      try {
        const f = bus.functionality();
        assert.equal(f.i2c, true);
        assert.equal(f.raw & I2C_FUNC.I2C, I2C_FUNC.I2C);
        assert.equal(f.smbusByteData, true); // SMBus emulated by i2c-core over I2C
      } finally {
        bus.close();
      }
      assert.equal((await log()).delayUs, 10, "the driver's probe set the bit delay (module default 10 µs)");
    });

    await t.step(
      "the kernel's own trace: I2C_RDWR messages, no SMBus call, even for a byte-data shape",
      async () => {
        const dir = "/sys/kernel/tracing";
        try {
          Deno.statSync(`${dir}/trace`);
        } catch {
          const m = await new Deno.Command("mount", { args: ["-t", "tracefs", "nodev", dir] }).output();
          assert.equal(m.code, 0, "mount tracefs");
        }
        const events = [
          "i2c/i2c_write",
          "i2c/i2c_read",
          "i2c/i2c_result",
          "smbus/smbus_write",
          "smbus/smbus_read",
        ];
        const enable = (v: string) =>
          events.forEach((e) => Deno.writeTextFileSync(`${dir}/events/${e}/enable`, v));
        enable("1");
        const bus = LinuxI2cBus.open(n);
        try {
          Deno.writeTextFileSync(`${dir}/trace`, "");
          // write 1 byte then read 1: exactly what SMBus read_byte_data would carry
          assert.deepEqual(await bus.transfer(0x77, bytes(0xd0), 1), bytes(0x61));
          const lines = Deno.readTextFileSync(`${dir}/trace`).split("\n")
            .filter((l) => l.includes(`i2c-${n} `) || l.includes(`i2c-${n}:`));
          const text = lines.join("\n");
          // f=0200 is I2C_M_DMA_SAFE: i2c-dev sets it on the I2C_RDWR buffers it copied from user space
          assert.match(text, /i2c_write: i2c-\d+ #0 a=077 f=0200 l=1 \[d0\]/, text);
          assert.match(text, /i2c_read: i2c-\d+ #1 a=077 f=0201 l=1/, text);
          assert.match(text, /i2c_result: i2c-\d+ n=2 ret=2/, text);
          assert.doesNotMatch(text, /smbus_/, "no SMBus ioctl reached i2c-core");
        } finally {
          bus.close();
          enable("0");
        }
      },
    );

    for (const io of MODES) {
      await t.step(`combined write+read is one transaction on the wire (${io})`, async () => {
        const bus = LinuxI2cBus.open(n, { io });
        try {
          await clear();
          assert.deepEqual(await bus.transfer(0x77, bytes(0xd0), 1), bytes(0x61)); // BME680 chip id
          const msgs = (await log()).log;
          assert.deepEqual(msgs, [
            { addr: 0x77, read: false, len: 1, begin: true, end: false, acked: true },
            { addr: 0x77, read: true, len: 1, begin: false, end: true, acked: true },
          ]);
          // Calibration block: 1-byte register, 23-byte read, as the bme680 driver reads it.
          const cal = await bus.transfer(0x77, bytes(0x8a), 23);
          assert.equal(cal.length, 23);
          assert.ok(cal.some((b) => b !== 0), "calibration bytes came from the model");
        } finally {
          bus.close();
        }
      });
    }

    await t.step("24C32 EEPROM: 16-bit addressing, page write, 4 KiB sequential read", async () => {
      const bus = LinuxI2cBus.open(n);
      try {
        const page = Array.from({ length: 32 }, (_, i) => (i * 13 + 5) & 0xff);
        await bus.transfer(0x50, bytes(0x0a, 0xc0, ...page), 0); // address 0x0ac0, one page
        assert.deepEqual(await bus.transfer(0x50, bytes(0x0a, 0xc0), 32), Uint8Array.from(page));
        assert.deepEqual(await bus.transfer(0x50, bytes(0x0a, 0xc7), 3), Uint8Array.from(page.slice(7, 10)));
        // A different high byte is a different page: nothing there yet.
        assert.deepEqual(await bus.transfer(0x50, bytes(0x0b, 0xc0), 4), bytes(0, 0, 0, 0));
        const all = await bus.transfer(0x50, bytes(0x00, 0x00), 4096); // one 4096-byte read message
        const model = (await emu.call<{ bytes: number[] }>("eeprom", { offset: 0, length: 4096 })).bytes;
        assert.deepEqual([...all], model);
        assert.deepEqual([...all.subarray(0x0ac0, 0x0ae0)], page);
      } finally {
        bus.close();
      }
    });

    await t.step("a 1025-byte write lands in the SSD1306 model's framebuffer", async () => {
      const bus = LinuxI2cBus.open(n);
      try {
        // display on, horizontal addressing, full column and page range
        await bus.transfer(0x3c, bytes(0x00, 0xaf, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7), 0);
        const picture = Array.from({ length: 1024 }, (_, i) => (i * 31 + (i >> 7)) & 0xff);
        await clear();
        await bus.transfer(0x3c, bytes(0x40, ...picture), 0);
        const msgs = (await log()).log;
        assert.deepEqual(msgs, [{ addr: 0x3c, read: false, len: 1025, begin: true, end: true, acked: true }]);
        const oled = await emu.call<{ displayOn: boolean; framebuffer: number[] }>("oled");
        assert.equal(oled.displayOn, true);
        assert.deepEqual(oled.framebuffer, picture);
      } finally {
        bus.close();
      }
    });

    for (const io of MODES) {
      await t.step(`an absent address is "address not acknowledged" (ENXIO) (${io})`, async () => {
        const bus = LinuxI2cBus.open(n, { io });
        try {
          const read = await failure(bus.transfer(0x51, bytes(0x00), 1));
          assert.equal(read.code, "address_nak");
          assert.equal(
            read.message,
            `Cannot read I2C device 0x51 on bus ${n}: address not acknowledged (errno 6 ENXIO)`,
          );
          const write = await failure(bus.transfer(0x51, bytes(0x00, 0x01), 0));
          assert.equal(write.code, "address_nak");
          assert.deepEqual(await bus.transfer(0x77, bytes(0xd0), 1), bytes(0x61)); // the bus still works
        } finally {
          bus.close();
        }
      });
    }

    await t.step(
      "a failing write reaches the wire once in worker mode (nonblocking repeats it)",
      async () => {
        const sent: Record<string, WireMessage[]> = {};
        for (const io of ["worker", "nonblocking"] as const) {
          const bus = LinuxI2cBus.open(n, { io });
          try {
            await clear();
            const err = await failure(bus.transfer(0x51, bytes(0x30, 0xab), 0));
            assert.equal(err.code, "address_nak");
            sent[io] = (await log()).log.filter((m) => m.addr === 0x51);
          } finally {
            bus.close();
          }
        }
        const writes = (io: string) => sent[io].filter((m) => !m.read && m.len === 2).length;
        assert.equal(writes("worker"), 1, JSON.stringify(sent.worker));
        assert.equal(writes("nonblocking"), 2, JSON.stringify(sent.nonblocking)); // the control
      },
    );

    await t.step(
      "a device that never answers fails the transfer once the USB request times out",
      async () => {
        const bus = LinuxI2cBus.open(n);
        try {
          await emu.call("i2c.stall", { addr: 0x29, on: true });
          const before = (await emu.call<{ counts: { unlink: number }[] }>("counts")).counts[0].unlink;
          const t0 = performance.now();
          const err = await failure(bus.transfer(0x29, bytes(0x00), 2));
          const ms = performance.now() - t0;
          // i2c-tiny-usb's usb_control_msg gives up after 2000 ms, the kernel unlinks the URB,
          // and the driver turns the failed request into EIO.
          assert.equal(err.code, "io");
          assert.equal(
            err.message,
            `Cannot read I2C device 0x29 on bus ${n}: input/output error (errno 5 EIO)`,
          );
          assert.ok(ms >= 1500, `failed after ${ms.toFixed(0)} ms, before the driver's 2 s timeout`);
          const after = (await emu.call<{ counts: { unlink: number }[] }>("counts")).counts[0].unlink;
          assert.equal(after - before, 1, "the kernel unlinked the stalled request");
          await emu.call("i2c.stall", { addr: 0x29, on: false });
          assert.deepEqual(await bus.transfer(0x77, bytes(0xd0), 1), bytes(0x61)); // the bus recovered
        } finally {
          bus.close();
        }
      },
    );

    proven({
      adapter: "i2c-tiny-usb (emulated, USB/IP vhci-hcd)",
      driver: "i2c-tiny-usb + i2c-core + i2c-dev",
      functionality: "I2C + SMBUS_EMUL",
      proven:
        "I2C_RDWR write+read, 4096 B read, 1025 B write, 16-bit addr, NAK=ENXIO, stall=EIO, write-once, no SMBus call (trace)",
    });
  } finally {
    await emu.stop();
    await waitFor("the adapter to go", 20_000, () => i2cAdapter("i2c-tiny-usb") === undefined || undefined);
  }
});
