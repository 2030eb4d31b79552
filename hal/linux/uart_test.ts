import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { closeFd, libc, ptr } from "./_libc.ts";
import { BAUD, LinuxUart, makeRaw, openPty, TERMIOS_SIZE } from "./uart.ts";

Deno.test("makeRaw() clears canonical/echo/translation and sets CS8, CLOCAL, CREAD and the baud", () => {
  const v = new DataView(new ArrayBuffer(TERMIOS_SIZE));
  v.setUint32(0, 0o2400, true); // ICRNL | IXON
  v.setUint32(4, 0o5, true); // OPOST | ONLCR
  v.setUint32(8, 0o15 | 0o60, true); // B9600 | CS8
  v.setUint32(12, 0o100073, true); // ISIG ICANON ECHO… IEXTEN
  makeRaw(v, 115200);
  assert.equal(v.getUint32(0, true), 0);
  assert.equal(v.getUint32(4, true) & 1, 0);
  assert.equal(v.getUint32(8, true), BAUD[115200] | 0o60 | 0o4000 | 0o200);
  assert.equal(v.getUint32(12, true) & (0o10 | 0o2 | 0o1 | 0o100000), 0);
  assert.throws(() => makeRaw(v, 12345), /Cannot set baud rate 12345: use one of/);
});

Deno.test("LinuxUart talks to the other end of a pty pair in raw mode", async () => {
  const { master, slavePath } = openPty();
  const uart = LinuxUart.open(slavePath, 115200);
  try {
    const msg = Uint8Array.of(0x42, 0x0d, 0x0a, 0x00, 0xff); // CR/LF must pass untranslated
    libc().write(master, ptr(msg.slice()), BigInt(msg.length));
    assert.deepEqual(await uart.read(16, 1000), msg);
    assert.deepEqual(await uart.read(16, 0), new Uint8Array(0)); // nothing waiting
    assert.equal(await uart.write(Uint8Array.of(1, 2, 3)), 3);
    const back = new Uint8Array(8);
    const n = Number(libc().read(master, ptr(back), 8n));
    assert.deepEqual(back.subarray(0, n), Uint8Array.of(1, 2, 3));
  } finally {
    uart.close();
    closeFd(master);
  }
  await assert.rejects(uart.read(1), /Cannot read UART .*: port is closed/);
});

Deno.test("LinuxUart.open() names the missing node and refuses a non-tty", () => {
  assert.throws(() => LinuxUart.open("/dev/ttyNOPE9"), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "not_found");
    assert.equal(e.message, "Cannot open UART /dev/ttyNOPE9: no such device (errno 2 ENOENT)");
    return true;
  });
  assert.throws(
    () => LinuxUart.open("/dev/null"),
    /^HalError: Cannot read termios of UART \/dev\/null: not supported \(errno 25 ENOTTY\)$/,
  );
});
