/**
 * hal/linux GPIO through libgpiod v1 on a real gpiochip: an emulated Nano River viperboard
 * (tests/kernel/usbip) attached through USB/IP `vhci-hcd`, bound by the kernel's `viperboard`
 * MFD driver, whose `gpio-viperboard` cell registers two 16-line gpiochips. Every request,
 * write and read goes libgpiod → the GPIO character device → gpiolib → the driver's USB
 * control requests → the emulator. The driver has no interrupt path, so edge events cannot be
 * proven here (they stay on the in-memory fake in hal/linux/gpiod_test.ts).
 * Run inside QEMU by tests/kernel/run.sh.
 */
import assert from "node:assert/strict";
import { HalError } from "../../hal/errors.ts";
import { gpiod, openGpioChip } from "../../hal/linux/gpio_chip.ts";
import { Emulator, modprobe, waitFor } from "./usbip/client.ts";
import type { ViperboardState } from "./usbip/viperboard.ts";
import { proven } from "./proven.ts";

/** The viperboard's gpiochips (bank A first: the driver registers it first), by number. */
function viperChips(): number[] | undefined {
  const chips: number[] = [];
  try {
    for (const e of Deno.readDirSync("/sys/bus/gpio/devices")) {
      if (Deno.realPathSync(`/sys/bus/gpio/devices/${e.name}`).includes("viperboard-gpio")) {
        chips.push(Number(e.name.slice("gpiochip".length)));
      }
    }
  } catch { /* bus not there yet */ }
  chips.sort((a, b) => a - b);
  if (chips.length !== 2) return undefined;
  try {
    for (const c of chips) Deno.statSync(`/dev/gpiochip${c}`);
  } catch {
    return undefined;
  }
  return chips;
}

Deno.test("hal/linux GPIO through libgpiod v1 and the real gpio-viperboard driver (USB/IP)", async (t) => {
  await modprobe("vhci-hcd", "viperboard", "gpio-viperboard");
  const emu = await Emulator.start("viperboard:2");
  try {
    const [a, b] = await waitFor("the viperboard's two gpiochips", 60_000, viperChips);
    assert.equal(gpiod().version, 1, "this Debian has libgpiod v1 (libgpiod.so.2)");
    const state = () => emu.call<ViperboardState>("gpio.state");

    await t.step("outputs: the emulator sees the levels hal/linux sets (bank A and bank B)", async () => {
      const chipA = openGpioChip(a);
      const chipB = openGpioChip(b);
      try {
        assert.equal(chipA.lines, 16);
        const outA = chipA.requestOutput(3, "harvester-kernel", true);
        let s = await state();
        assert.equal(s.a.outputs >> 3 & 1, 1, "line A3 is an output");
        assert.equal(s.a.driven >> 3 & 1, 1, "A3 driven high at request");
        outA.write(false);
        assert.equal((await state()).a.driven >> 3 & 1, 0, "A3 driven low");
        outA.write(true);
        assert.equal((await state()).a.driven >> 3 & 1, 1, "A3 high again");
        const outB = chipB.requestOutput(9, "harvester-kernel", false);
        s = await state();
        assert.equal(s.b.outputs >> 9 & 1, 1, "line B9 is an output");
        assert.equal(s.b.driven >> 9 & 1, 0);
        outB.write(true);
        assert.equal((await state()).b.driven >> 9 & 1, 1, "B9 driven high");
        assert.equal((await state()).a.driven & ~(1 << 3), 0, "no other line of bank A moved");
      } finally {
        chipA.close();
        chipB.close();
      }
    });

    await t.step("inputs: hal/linux reads the levels the emulator drives", async () => {
      const chipA = openGpioChip(a);
      const chipB = openGpioChip(b);
      try {
        const inA = chipA.requestInput(4, "harvester-kernel");
        const inB = chipB.requestInput(12, "harvester-kernel");
        for (const level of [true, false, true]) {
          await emu.call("gpio.drive", { bank: "a", line: 4, level });
          await emu.call("gpio.drive", { bank: "b", line: 12, level: !level });
          assert.equal(inA.read(), level, `A4 reads ${level}`);
          assert.equal(inB.read(), !level, `B12 reads ${!level}`);
        }
        assert.ok((await state()).commands.includes("a4?"), "the level came from a GETIN request");
      } finally {
        chipA.close();
        chipB.close();
      }
    });

    await t.step(
      "a line held by another consumer is EBUSY, naming the holder; release frees it",
      async () => {
        const owner = openGpioChip(a);
        const other = openGpioChip(a); // a second open of the chip: another owner, as a second process would be
        try {
          const held = owner.requestOutput(6, "relay-daemon", false);
          assert.throws(() => other.requestInput(6, "harvester-kernel"), (e: unknown) => {
            assert.ok(e instanceof HalError, String(e));
            assert.equal(e.code, "bus_busy");
            assert.equal(
              e.message,
              `Cannot request GPIO line 6 on gpiochip${a} as input: held by consumer "relay-daemon": bus busy (errno 16 EBUSY)`,
            );
            return true;
          });
          held.release();
          const mine = other.requestInput(6, "harvester-kernel"); // free again
          await emu.call("gpio.drive", { bank: "a", line: 6, level: true });
          assert.equal(mine.read(), true);
          mine.release();
        } finally {
          owner.close();
          other.close();
        }
      },
    );

    await t.step("edge events are refused by the driver (no IRQ): they stay on the fake", () => {
      const chipA = openGpioChip(a);
      try {
        assert.throws(() => chipA.requestEdge(1, "harvester-kernel", "both"), (e: unknown) => {
          assert.ok(e instanceof HalError, String(e));
          assert.equal(e.code, "not_supported");
          assert.equal(
            e.message,
            `Cannot request GPIO line 1 on gpiochip${a} as both: the line has no interrupt, so no edge events: not supported (errno 19 ENODEV)`,
          );
          return true;
        });
      } finally {
        chipA.close();
      }
    });

    proven({
      adapter: "viperboard (emulated, USB/IP vhci-hcd)",
      driver: "viperboard + gpio-viperboard + gpiolib cdev + libgpiod v1",
      functionality: "2 gpiochips x 16 lines, no IRQ",
      proven:
        "request in/out, set levels (seen by emulator), read driven inputs, EBUSY names holder, release",
    });
  } finally {
    await emu.stop();
  }
});
