/**
 * The i2c-tiny-usb emulator's protocol logic on the host (no kernel): how the driver's
 * per-message control requests become combined transfers on the models, NAK status, stalls,
 * and the 24C32's 16-bit addressing and page wrap. The kernel suite drives the same code
 * through the real driver.
 */
import assert from "node:assert/strict";
import { RegisterFileModel } from "../../../hal/sim/model.ts";
import { Eeprom24c32, TINY_USB_FUNCS, TinyUsbAdapter } from "./tiny_usb.ts";
import type { Setup } from "./usbip.ts";

const IN = 0xc1, OUT = 0x41;
const setup = (
  requestType: number,
  request: number,
  value: number,
  index: number,
  length: number,
): Setup => ({
  requestType,
  request,
  value,
  index,
  length,
});

/** What the driver sends for one i2c_msg: the data request, then the status read. */
function message(a: TinyUsbAdapter, cmd: number, addr: number, read: boolean, data: number[], len = 0) {
  const reply = read
    ? a.control(setup(IN, cmd, 1, addr, len), new Uint8Array(0))
    : a.control(setup(OUT, cmd, 0, addr, data.length), Uint8Array.from(data));
  const status = a.control(setup(IN, 3, 0, 0, 1), new Uint8Array(0));
  return { reply, status: (status as Uint8Array)[0] };
}

Deno.test("tiny-usb emulator: functionality, combined write+read, NAK status, stall", () => {
  const a = new TinyUsbAdapter();
  const reg = new RegisterFileModel(0x40);
  reg.poke(0x10, 0xaa, 0xbb, 0xcc);
  a.add(reg);
  const funcs = a.control(setup(IN, 1, 0, 0, 4), new Uint8Array(0)) as Uint8Array;
  assert.equal(new DataView(funcs.buffer).getUint32(0, true), TINY_USB_FUNCS);
  assert.equal(TINY_USB_FUNCS & 1, 1, "I2C_FUNC_I2C");
  // i2c_msg[0] write (BEGIN), i2c_msg[1] read (END): one transfer on the model.
  assert.equal(message(a, 4 | 1, 0x40, false, [0x11]).status, 1);
  const r = message(a, 4 | 2, 0x40, true, [], 2);
  assert.deepEqual([...(r.reply as Uint8Array)], [0xbb, 0xcc]);
  assert.equal(r.status, 1);
  // A write alone (BEGIN|END) reaches the model at once.
  message(a, 4 | 1 | 2, 0x40, false, [0x20, 7, 8]);
  assert.equal(reg.peek(0x21), 8);
  // Nobody at 0x41: the firmware still clocks the bytes, the status says NAK.
  const nak = message(a, 4 | 1 | 2, 0x41, true, [], 3);
  assert.equal((nak.reply as Uint8Array).length, 3);
  assert.equal(nak.status, 2);
  assert.deepEqual(a.log.map((m) => [m.addr, m.read, m.len, m.begin, m.end, m.acked]), [
    [0x40, false, 1, true, false, true],
    [0x40, true, 2, false, true, true],
    [0x40, false, 3, true, true, true],
    [0x41, true, 3, true, true, false],
  ]);
  a.stalling.add(0x40);
  assert.equal(a.control(setup(IN, 7, 1, 0x40, 1), new Uint8Array(0)), "hold");
});

Deno.test("24C32 model: 16-bit address, page wrap on write, sequential read across pages", () => {
  const e = new Eeprom24c32();
  e.transfer(Uint8Array.of(0x0a, 0xbe, 1, 2, 3, 4), 0); // 0x0abe: 2 bytes to the page end, then wrap
  assert.deepEqual([...e.memory.subarray(0x0abe, 0x0ac0)], [1, 2]);
  assert.deepEqual([...e.memory.subarray(0x0aa0, 0x0aa2)], [3, 4], "wrapped to the page start");
  assert.deepEqual([...e.transfer(Uint8Array.of(0x0a, 0xbe), 4)], [1, 2, 0, 0], "reads cross the page");
  e.memory[0x0fff] = 9;
  e.memory[0] = 5;
  assert.deepEqual([...e.transfer(Uint8Array.of(0x0f, 0xff), 2)], [9, 5], "reads roll over at 4 KiB");
});
