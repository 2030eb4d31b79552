/**
 * A Nano River Technologies viperboard (VID 2058 / PID 1005) as a {@link UsbModel}: the two
 * 16-line GPIO banks the kernel's `gpio-viperboard` driver exposes as gpiochips. Bank A takes
 * 11-byte `vprbrd_gpioa_msg` commands (SETOUT / SETIN / GETIN per line) on request 0xed; bank B
 * takes 5-byte `vprbrd_gpiob_msg` (SETDIR / SETVAL with big-endian value and mask) on 0xdd and
 * answers a read with every line's level. The driver has no interrupt path, so no edge events.
 *
 * @module
 */
import type { Setup, UsbModel, UsbReply } from "./usbip.ts";

const REQ_MAJOR = 0xea;
const REQ_MINOR = 0xeb;
const REQ_GPIOA = 0xed;
const REQ_GPIOB = 0xdd;
const A_SETOUT = 0x03;
const A_SETIN = 0x04;
const A_GETIN = 0x06;
const B_SETDIR = 0x00;
const B_SETVAL = 0x01;

/** One 16-line bank: which lines are outputs, what the board drives, what the outside drives. */
interface Bank {
  outputs: number;
  driven: number;
  inputs: number;
}

/** What the tests read back. */
export interface ViperboardState {
  a: Bank;
  b: Bank;
  /** Bank A and B commands received, in order (bounded). */
  commands: string[];
}

const LOG_MAX = 1024;

/** The emulated board. */
export class Viperboard implements UsbModel {
  readonly vendor = 0x2058;
  readonly product = 0x1005;
  readonly bcdDevice = 0x0100;
  readonly strings = ["Nano River Technologies", "Viperboard (HARVESTER emulator)", "H16V"] as const;
  readonly endpoints = [{ address: 0x02, maxPacket: 64 }, { address: 0x86, maxPacket: 64 }] as const;
  readonly #a: Bank = { outputs: 0, driven: 0, inputs: 0 };
  readonly #b: Bank = { outputs: 0, driven: 0, inputs: 0 };
  #lastA = new Uint8Array(11);
  #commands: string[] = [];

  /** The outside world drives input `line` of `bank` to `level`. */
  drive(bank: "a" | "b", line: number, level: boolean): void {
    const b = bank === "a" ? this.#a : this.#b;
    b.inputs = level ? b.inputs | (1 << line) : b.inputs & ~(1 << line);
  }

  state(): ViperboardState {
    return { a: { ...this.#a }, b: { ...this.#b }, commands: [...this.#commands] };
  }

  control(setup: Setup, data: Uint8Array): UsbReply {
    const dirIn = (setup.requestType & 0x80) !== 0;
    if (setup.request === REQ_MAJOR) return Uint8Array.of(1);
    if (setup.request === REQ_MINOR) return Uint8Array.of(0x16);
    if (setup.request === REQ_GPIOA) return dirIn ? this.#answerA(setup.length) : this.#commandA(data);
    if (setup.request === REQ_GPIOB) return dirIn ? this.#answerB(setup.length) : this.#commandB(data);
    return dirIn ? new Uint8Array(setup.length) : new Uint8Array(0);
  }

  #commandA(msg: Uint8Array): UsbReply {
    if (msg.length !== 11) return "stall";
    this.#lastA = msg.slice();
    const line = msg[2];
    const bit = 1 << line;
    if (msg[0] === A_SETOUT) {
      this.#a.outputs |= bit;
      this.#a.driven = msg[7] ? this.#a.driven | bit : this.#a.driven & ~bit;
      this.#log(`a${line}=${msg[7] ? 1 : 0}`);
    } else if (msg[0] === A_SETIN) {
      this.#a.outputs &= ~bit;
      this.#log(`a${line}:in`);
    } else if (msg[0] === A_GETIN) {
      this.#log(`a${line}?`);
    }
    return new Uint8Array(0);
  }

  #answerA(length: number): UsbReply {
    const out = this.#lastA.slice(0, length);
    if (this.#lastA[0] === A_GETIN) out[9] = (this.#a.inputs >> this.#lastA[2]) & 1;
    return out;
  }

  #commandB(msg: Uint8Array): UsbReply {
    if (msg.length !== 5) return "stall";
    const v = new DataView(msg.buffer, msg.byteOffset, 5);
    const val = v.getUint16(1);
    const mask = v.getUint16(3);
    if (msg[0] === B_SETDIR) {
      this.#b.outputs = (this.#b.outputs & ~mask) | (val & mask);
      this.#log(`b-dir ${mask.toString(16)}=${(val & mask) ? "out" : "in"}`);
    } else if (msg[0] === B_SETVAL) {
      this.#b.driven = (this.#b.driven & ~mask) | (val & mask);
      this.#log(`b-val ${mask.toString(16)}=${(val & mask) ? 1 : 0}`);
    }
    return new Uint8Array(0);
  }

  #answerB(length: number): UsbReply {
    const out = new Uint8Array(Math.max(5, length));
    const levels = (this.#b.driven & this.#b.outputs) | (this.#b.inputs & ~this.#b.outputs);
    new DataView(out.buffer).setUint16(1, levels);
    return out.slice(0, length);
  }

  #log(s: string): void {
    this.#commands.push(s);
    if (this.#commands.length > LOG_MAX) this.#commands.shift();
  }
}
