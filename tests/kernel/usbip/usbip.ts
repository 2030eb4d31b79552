/**
 * A USB device emulated in user space and attached to the guest kernel through USB/IP's
 * `vhci-hcd`: one end of an `AF_UNIX` socketpair goes to `/sys/devices/platform/vhci_hcd.0/attach`
 * (the kernel takes the fd from this process's table), the other end answers the kernel's
 * `CMD_SUBMIT` / `CMD_UNLINK` messages (48-byte big-endian headers, then data) as a device would.
 *
 * The kernel then enumerates the device over this socket and binds its real driver
 * (`i2c-tiny-usb`, `viperboard`, `cp210x`), which is the point: everything above the socket is
 * the same code a physical adapter meets. A {@link UsbModel} supplies the descriptors and the
 * vendor requests; this file answers the standard requests and keeps held transfers (a bulk IN
 * waiting for data, a control request that "stalls" until the kernel unlinks it).
 *
 * @module
 */

const SYMBOLS = {
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  readNb: { name: "read", parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
function libc() {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return lib.symbols;
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SHUT_RDWR = 2;
const HEADER = 48;
const CMD_SUBMIT = 1;
const CMD_UNLINK = 2;
const RET_SUBMIT = 3;
const RET_UNLINK = 4;
const DIR_IN = 1;
const EPIPE = 32;
const ECONNRESET = 104;
/** Largest transfer the emulator accepts (i2c-dev caps messages at 8192; USB control at 64 KiB). */
const MAX_TRANSFER = 65536;

/** USB speeds as `vhci-hcd` takes them. */
export const USB_SPEED_FULL = 2;

/** A control request's setup packet. */
export interface Setup {
  requestType: number;
  request: number;
  value: number;
  index: number;
  length: number;
}

/** What a model answers: bytes (IN data, or empty for OUT), a stall, or nothing yet. */
export type UsbReply = Uint8Array | "stall" | "hold";

/** One bulk endpoint of the single interface. */
export interface Endpoint {
  address: number;
  maxPacket: number;
}

/** The device side: descriptors and the non-standard requests. */
export interface UsbModel {
  readonly vendor: number;
  readonly product: number;
  readonly bcdDevice: number;
  readonly strings: readonly [manufacturer: string, product: string, serial: string];
  readonly endpoints: readonly Endpoint[];
  /** A vendor/class control request (`data` is the OUT payload). */
  control(setup: Setup, data: Uint8Array): UsbReply;
  /** Bytes the host sent on a bulk OUT endpoint. */
  bulkOut?(ep: number, data: Uint8Array): void;
  /** Bytes for a bulk IN of up to `length`, or "hold" until {@link UsbIpDevice.pump}. */
  bulkIn?(ep: number, length: number): UsbReply;
}

interface Held {
  seqnum: number;
  ep: number;
  length: number;
  control?: Setup;
}

/** Descriptor helpers. */
function deviceDescriptor(m: UsbModel): Uint8Array {
  const d = new Uint8Array(18);
  const v = new DataView(d.buffer);
  d.set([18, 1]);
  v.setUint16(2, 0x0200, true);
  d[4] = 0xff; // vendor-specific class at the device level
  d[7] = 64;
  v.setUint16(8, m.vendor, true);
  v.setUint16(10, m.product, true);
  v.setUint16(12, m.bcdDevice, true);
  d.set([1, 2, 3, 1], 14);
  return d;
}

function configDescriptor(m: UsbModel): Uint8Array {
  const total = 9 + 9 + 7 * m.endpoints.length;
  const d = new Uint8Array(total);
  const v = new DataView(d.buffer);
  d.set([9, 2]);
  v.setUint16(2, total, true);
  d.set([1, 1, 0, 0x80, 50], 4);
  d.set([9, 4, 0, 0, m.endpoints.length, 0xff, 0xff, 0xff, 0], 9);
  m.endpoints.forEach((ep, i) => {
    const o = 18 + 7 * i;
    d.set([7, 5, ep.address, 2], o);
    v.setUint16(o + 4, ep.maxPacket, true);
    d[o + 6] = 0;
  });
  return d;
}

function stringDescriptor(s: string): Uint8Array {
  const d = new Uint8Array(2 + 2 * s.length);
  d.set([d.length, 3]);
  for (let i = 0; i < s.length; i++) new DataView(d.buffer).setUint16(2 + 2 * i, s.charCodeAt(i), true);
  return d;
}

/**
 * One emulated device on one `vhci-hcd` port. {@link attach} hands the socket to the kernel;
 * {@link serve} answers until {@link detach}.
 */
export class UsbIpDevice {
  readonly model: UsbModel;
  readonly port: number;
  #fds = new Int32Array(2).fill(-1);
  #buf = new Uint8Array(0);
  #held: Held[] = [];
  #closed = false;
  /** Requests answered, by kind (diagnostics). */
  readonly counts = { submit: 0, unlink: 0 };

  constructor(model: UsbModel, port: number) {
    this.model = model;
    this.port = port;
  }

  /**
   * Create the socketpair and give one end to `vhci-hcd` on {@link port}.
   *
   * @throws {Error} when the socketpair or the attach write fails
   */
  attach(speed = USB_SPEED_FULL): void {
    if (libc().socketpair(AF_UNIX, SOCK_STREAM, 0, new Uint8Array(this.#fds.buffer)) !== 0) {
      throw new Error("Cannot attach USB/IP device: socketpair failed");
    }
    const devid = (1 << 16) | (this.port + 2);
    Deno.writeTextFileSync(
      "/sys/devices/platform/vhci_hcd.0/attach",
      `${this.port} ${this.#fds[0]} ${devid} ${speed}`,
    );
  }

  /** Answer the kernel until the socket closes; resolves then. */
  async serve(): Promise<void> {
    while (!this.#closed) {
      const head = await this.#read(HEADER);
      if (!head) return;
      const v = new DataView(head.buffer);
      const command = v.getUint32(0);
      const seqnum = v.getUint32(4);
      if (command === CMD_UNLINK) {
        this.counts.unlink++;
        const target = v.getUint32(20);
        const i = this.#held.findIndex((h) => h.seqnum === target);
        if (i >= 0) this.#held.splice(i, 1);
        this.#send(RET_UNLINK, seqnum, i >= 0 ? -ECONNRESET : 0, new Uint8Array(0));
        continue;
      }
      if (command !== CMD_SUBMIT) throw new Error(`Cannot serve USB/IP: unknown command ${command}`);
      this.counts.submit++;
      const dirIn = v.getUint32(12) === DIR_IN;
      const ep = v.getUint32(16);
      const length = v.getInt32(24);
      if (length < 0 || length > MAX_TRANSFER) {
        throw new Error(`Cannot serve USB/IP: transfer length ${length}`);
      }
      const s = head.subarray(40, 48);
      const sv = new DataView(s.buffer, s.byteOffset, 8);
      let data = new Uint8Array(0);
      if (!dirIn && length > 0) {
        const got = await this.#read(length);
        if (!got) return;
        data = got;
      }
      if (ep === 0) {
        const setup: Setup = {
          requestType: s[0],
          request: s[1],
          value: sv.getUint16(2, true),
          index: sv.getUint16(4, true),
          length: sv.getUint16(6, true),
        };
        const reply = this.#control(setup, data);
        if (reply === "hold") this.#held.push({ seqnum, ep, length, control: setup });
        else this.#complete(seqnum, dirIn, length, reply);
      } else if (dirIn) {
        const reply = this.model.bulkIn?.(0x80 | ep, length) ?? "hold";
        if (reply === "hold") this.#held.push({ seqnum, ep: 0x80 | ep, length });
        else this.#complete(seqnum, true, length, reply);
      } else {
        this.model.bulkOut?.(ep, data);
        this.#complete(seqnum, false, data.length, new Uint8Array(0));
        this.pump();
      }
    }
  }

  /** Offer held bulk IN transfers to the model again (after it has new data). */
  pump(): void {
    for (const h of [...this.#held]) {
      if (h.control) continue;
      const reply = this.model.bulkIn?.(h.ep, h.length) ?? "hold";
      if (reply === "hold") continue;
      this.#held.splice(this.#held.indexOf(h), 1);
      this.#complete(h.seqnum, true, h.length, reply);
    }
  }

  /** How many transfers the emulator is holding (a stalled control request, waiting bulk INs). */
  get held(): number {
    return this.#held.length;
  }

  /** Ask `vhci-hcd` to drop the device, then close the socket. */
  detach(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      Deno.writeTextFileSync("/sys/devices/platform/vhci_hcd.0/detach", `${this.port}`);
    } catch { /* already gone */ }
    for (const fd of this.#fds) {
      if (fd >= 0) {
        libc().shutdown(fd, SHUT_RDWR);
        libc().close(fd);
      }
    }
    this.#fds.fill(-1);
  }

  #control(setup: Setup, data: Uint8Array): UsbReply {
    const type = setup.requestType & 0x60;
    if (type !== 0) return this.model.control(setup, data);
    switch (setup.request) {
      case 0: // GET_STATUS
        return new Uint8Array(2);
      case 1: // CLEAR_FEATURE
      case 3: // SET_FEATURE
      case 9: // SET_CONFIGURATION
      case 11: // SET_INTERFACE
        return new Uint8Array(0);
      case 8: // GET_CONFIGURATION
        return Uint8Array.of(1);
      case 6: { // GET_DESCRIPTOR
        const kind = setup.value >> 8;
        const index = setup.value & 0xff;
        if (kind === 1) return deviceDescriptor(this.model);
        if (kind === 2) return configDescriptor(this.model);
        if (kind === 3) {
          if (index === 0) return Uint8Array.of(4, 3, 0x09, 0x04);
          const s = this.model.strings[index - 1];
          return s === undefined ? "stall" : stringDescriptor(s);
        }
        return "stall"; // device qualifier, BOS, ...: a full-speed USB 2.0 device has none
      }
    }
    return "stall";
  }

  #complete(seqnum: number, dirIn: boolean, length: number, reply: Uint8Array | "stall"): void {
    if (reply === "stall") {
      this.#send(RET_SUBMIT, seqnum, -EPIPE, new Uint8Array(0));
      return;
    }
    const body = dirIn ? reply.subarray(0, length) : new Uint8Array(0);
    this.#send(RET_SUBMIT, seqnum, 0, body, dirIn ? body.length : length);
  }

  #send(command: number, seqnum: number, status: number, body: Uint8Array, actual = body.length): void {
    if (this.#closed) return;
    const out = new Uint8Array(HEADER + body.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, command);
    v.setUint32(4, seqnum);
    v.setInt32(20, status);
    if (command === RET_SUBMIT) v.setInt32(24, actual);
    out.set(body, HEADER);
    let off = 0;
    while (off < out.length) {
      const n = Number(libc().write(this.#fds[1], out.subarray(off), BigInt(out.length - off)));
      if (n <= 0) throw new Error(`Cannot answer USB/IP on port ${this.port}: write returned ${n}`);
      off += n;
    }
  }

  /** Exactly `n` bytes from the socket, or null when it closed. */
  async #read(n: number): Promise<Uint8Array<ArrayBuffer> | null> {
    while (this.#buf.length < n) {
      if (this.#closed) return null;
      const chunk = new Uint8Array(MAX_TRANSFER + HEADER);
      const got = Number(await libc().readNb(this.#fds[1], chunk, BigInt(chunk.length)));
      if (got <= 0) return null;
      const merged = new Uint8Array(this.#buf.length + got);
      merged.set(this.#buf);
      merged.set(chunk.subarray(0, got), this.#buf.length);
      this.#buf = merged;
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }
}
