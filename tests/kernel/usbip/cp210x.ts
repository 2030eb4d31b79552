/**
 * A Silicon Labs CP2102 USB-UART bridge (VID 10c4 / PID ea60) as a {@link UsbModel}, enough of
 * it for the kernel's `cp210x` driver: the partnum query, line control and baud-rate registers
 * (`SET_BAUDRATE` carries the rate as a little-endian u32, which the emulator records), and the
 * bulk pair that carries the serial bytes (OUT 0x01: what the host transmits; IN 0x81: what the
 * far end sends, held until there is some).
 *
 * @module
 */
import type { Setup, UsbModel, UsbReply } from "./usbip.ts";

const IFC_ENABLE = 0x00;
const SET_LINE_CTL = 0x03;
const GET_LINE_CTL = 0x04;
const GET_MDMSTS = 0x08;
const GET_BAUDRATE = 0x1d;
const SET_BAUDRATE = 0x1e;
const VENDOR_SPECIFIC = 0xff;
const GET_PARTNUM = 0x370b;
const PARTNUM_CP2102 = 0x02;
/** Bound on bytes buffered either way. */
const BUFFER_MAX = 1 << 16;

/** What the tests read back. */
export interface Cp210xState {
  /** Every SET_BAUDRATE value, in order. */
  bauds: number[];
  lineCtl: number;
  enabled: boolean;
  /** Bytes the host transmitted. */
  received: number[];
}

/** The emulated bridge; `wake` re-offers held bulk INs once {@link send} queued bytes. */
export class Cp210x implements UsbModel {
  readonly vendor = 0x10c4;
  readonly product = 0xea60;
  readonly bcdDevice = 0x0100;
  readonly strings = ["Silicon Labs", "CP2102 USB to UART Bridge (HARVESTER emulator)", "H16U"] as const;
  readonly endpoints = [{ address: 0x81, maxPacket: 64 }, { address: 0x01, maxPacket: 64 }] as const;
  readonly #wake: () => void;
  #baud = 9600;
  #lineCtl = 0x0800;
  #enabled = false;
  #bauds: number[] = [];
  #received: number[] = [];
  #outgoing: number[] = [];

  constructor(wake: () => void) {
    this.#wake = wake;
  }

  state(): Cp210xState {
    return {
      bauds: [...this.#bauds],
      lineCtl: this.#lineCtl,
      enabled: this.#enabled,
      received: [...this.#received],
    };
  }

  /** The far end transmits `bytes` (the host reads them from /dev/ttyUSBn). */
  send(bytes: Uint8Array): void {
    if (this.#outgoing.length + bytes.length > BUFFER_MAX) throw new Error("Cannot send: UART buffer full");
    this.#outgoing.push(...bytes);
    this.#wake();
  }

  clear(): void {
    this.#bauds = [];
    this.#received = [];
  }

  control(setup: Setup, data: Uint8Array): UsbReply {
    const dirIn = (setup.requestType & 0x80) !== 0;
    if (dirIn) {
      const out = new Uint8Array(setup.length);
      const v = new DataView(out.buffer);
      if (setup.request === VENDOR_SPECIFIC && setup.value === GET_PARTNUM && out.length >= 1) {
        out[0] = PARTNUM_CP2102;
      } else if (setup.request === GET_BAUDRATE && out.length >= 4) v.setUint32(0, this.#baud, true);
      else if (setup.request === GET_LINE_CTL && out.length >= 2) v.setUint16(0, this.#lineCtl, true);
      else if (setup.request === GET_MDMSTS && out.length >= 1) out[0] = 0x30; // CTS, DSR
      return out;
    }
    if (setup.request === SET_BAUDRATE) {
      if (data.length !== 4) return "stall";
      this.#baud = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
      this.#bauds.push(this.#baud);
    } else if (setup.request === SET_LINE_CTL) {
      this.#lineCtl = setup.value;
    } else if (setup.request === IFC_ENABLE) {
      this.#enabled = setup.value !== 0;
    }
    return new Uint8Array(0);
  }

  bulkOut(_ep: number, data: Uint8Array): void {
    if (this.#received.length + data.length > BUFFER_MAX) this.#received.splice(0, data.length);
    this.#received.push(...data);
  }

  bulkIn(_ep: number, length: number): UsbReply {
    if (this.#outgoing.length === 0) return "hold";
    return Uint8Array.from(this.#outgoing.splice(0, length));
  }
}
