/**
 * hal/linux UART on a real USB-serial driver: an emulated Silicon Labs CP2102
 * (tests/kernel/usbip) attached through USB/IP `vhci-hcd`, bound by the kernel's `cp210x`
 * driver as /dev/ttyUSBn. Baud rates go termios → the tty layer → cp210x's SET_BAUDRATE
 * request (checked by the emulator); bytes go through usbserial's bulk endpoints.
 * Run inside QEMU by tests/kernel/run.sh.
 */
import assert from "node:assert/strict";
import { LinuxUart } from "../../hal/linux/uart.ts";
import { Emulator, modprobe, waitFor } from "./usbip/client.ts";
import type { Cp210xState } from "./usbip/cp210x.ts";
import { proven } from "./proven.ts";

/** The ttyUSB node the cp210x driver created. */
function cp210xTty(): string | undefined {
  try {
    for (const e of Deno.readDirSync("/sys/bus/usb-serial/devices")) {
      const driver = Deno.realPathSync(`/sys/bus/usb-serial/devices/${e.name}/driver`);
      if (!driver.endsWith("/cp210x")) continue;
      Deno.statSync(`/dev/${e.name}`);
      return `/dev/${e.name}`;
    }
  } catch { /* not there yet */ }
  return undefined;
}

/** A frame: start byte, length, payload, XOR checksum (no 0xEC, cp210x's escape byte in event mode). */
function frame(n: number, seed: number): Uint8Array {
  const payload = Array.from({ length: n }, (_, i) => {
    const b = (i * 37 + seed) & 0xff;
    return b === 0xec ? 0xeb : b;
  });
  const sum = payload.reduce((a, b) => a ^ b, 0);
  return Uint8Array.from([0x7e, n, ...payload, sum]);
}

async function readExactly(uart: LinuxUart, n: number, ms: number): Promise<Uint8Array> {
  const out: number[] = [];
  const deadline = performance.now() + ms;
  while (out.length < n && performance.now() < deadline) out.push(...await uart.read(n - out.length, 500));
  return Uint8Array.from(out);
}

Deno.test("hal/linux UART through the real cp210x USB-serial driver (USB/IP)", async (t) => {
  await modprobe("vhci-hcd", "cp210x");
  const emu = await Emulator.start("cp210x:3");
  try {
    const path = await waitFor("the cp210x ttyUSB node", 60_000, cp210xTty);
    const state = () => emu.call<Cp210xState>("uart.state");
    const uart = LinuxUart.open(path, 9600);
    try {
      await t.step("open and setBaud reach the converter as SET_BAUDRATE requests", async () => {
        let s = await state();
        assert.equal(s.enabled, true, "the driver enabled the UART interface at open");
        assert.equal(s.bauds.at(-1), 9600);
        await emu.call("uart.clear");
        uart.setBaud(115200);
        uart.setBaud(57600);
        s = await state();
        assert.deepEqual(s.bauds, [115200, 57600]);
        assert.equal(s.lineCtl & 0x0f00, 0x0800, "8 data bits");
      });

      await t.step("a 203-byte frame written goes out whole, in order", async () => {
        const f = frame(200, 5);
        let sent = 0;
        const deadline = performance.now() + 10_000;
        while (sent < f.length && performance.now() < deadline) {
          const n = await uart.write(f.subarray(sent));
          sent += n;
          if (n === 0) await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(sent, f.length);
        let received: number[] = [];
        const until = performance.now() + 10_000;
        while (received.length < f.length && performance.now() < until) {
          received = (await state()).received;
          if (received.length < f.length) await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(received, [...f]);
      });

      await t.step("a 153-byte frame from the far end is read back whole", async () => {
        const f = frame(150, 11);
        await emu.call("uart.send", { bytes: [...f] });
        const got = await readExactly(uart, f.length, 10_000);
        assert.deepEqual([...got], [...f]);
      });

      await t.step("a read with nothing arriving times out cleanly, and the port still works", async () => {
        const t0 = performance.now();
        const none = await uart.read(64, 300);
        const ms = performance.now() - t0;
        assert.equal(none.length, 0);
        assert.ok(ms >= 250 && ms < 5000, `timed out after ${ms.toFixed(0)} ms`);
        await emu.call("uart.send", { bytes: [1, 2, 3] });
        assert.deepEqual([...await readExactly(uart, 3, 5000)], [1, 2, 3]);
      });
    } finally {
      uart.close();
    }
    proven({
      adapter: "CP2102 USB-UART (emulated, USB/IP vhci-hcd)",
      driver: "cp210x + usbserial + tty",
      functionality: "termios baud via SET_BAUDRATE",
      proven: "open, setBaud 9600/115200/57600 seen by converter, 203 B write, 153 B read, read timeout",
    });
  } finally {
    await emu.stop();
  }
});
