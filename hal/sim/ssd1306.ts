/**
 * A register-level SSD1306 128×64 OLED controller model: control bytes, the command set with
 * argument bytes, addressing modes with the chip's auto-increment, and a readable framebuffer
 * (the dashboard shows it as the virtual screen).
 *
 * @module
 */
import { hex } from "../errors.ts";
import type { SimI2cModel } from "./model.ts";

/** Display width in pixels (columns). */
export const SSD1306_WIDTH = 128;
/** Display height in pixels (8 pages of 8 rows). */
export const SSD1306_HEIGHT = 64;
/** Pages of 8 rows. */
export const SSD1306_PAGES = 8;

/** Memory addressing modes set by command 0x20. */
export type AddressingMode = "horizontal" | "vertical" | "page";

const MODES: Record<number, AddressingMode> = { 0: "horizontal", 1: "vertical", 2: "page" };

/** Number of argument bytes each multi-byte command takes. */
const ARGUMENTS: Record<number, number> = {
  0x20: 1, // memory addressing mode
  0x21: 2, // column address start, end
  0x22: 2, // page address start, end
  0x26: 6, // right horizontal scroll setup
  0x27: 6, // left horizontal scroll setup
  0x29: 5, // vertical and right scroll setup
  0x2a: 5, // vertical and left scroll setup
  0x81: 1, // contrast
  0x8d: 1, // charge pump
  0xa3: 2, // vertical scroll area
  0xa8: 1, // multiplex ratio
  0xd3: 1, // display offset
  0xd5: 1, // clock divide / oscillator
  0xd9: 1, // pre-charge period
  0xda: 1, // COM pins configuration
  0xdb: 1, // VCOMH deselect level
};

/**
 * The SSD1306 behind its I2C interface (address 0x3c or 0x3d).
 *
 * Each transfer starts with a control byte: D/C# (bit 6) selects command or data, Co (bit 7)
 * set means "one byte follows, then another control byte", clear means "the rest is a stream".
 *
 * @example
 * ```ts
 * import { SimSsd1306 } from "./ssd1306.ts";
 * const oled = new SimSsd1306();
 * oled.transfer(Uint8Array.of(0x00, 0xaf, 0x20, 0x00), 0); // display on, horizontal mode
 * oled.transfer(Uint8Array.of(0x40, 0xff), 0); // first column, all 8 rows of page 0
 * console.assert(oled.displayOn && oled.pixel(0, 7) && !oled.pixel(1, 0));
 * ```
 */
export class SimSsd1306 implements SimI2cModel {
  readonly address: number;
  readonly #ram = new Uint8Array(SSD1306_WIDTH * SSD1306_PAGES);
  #mode: AddressingMode = "page";
  #colStart = 0;
  #colEnd = SSD1306_WIDTH - 1;
  #pageStart = 0;
  #pageEnd = SSD1306_PAGES - 1;
  #col = 0;
  #page = 0;
  /** Column start in page mode (commands 0x00..0x1F); the end there is always 127. */
  #pageColStart = 0;
  /** A multi-byte command waiting for its arguments. */
  #pending: { command: number; args: number[]; need: number } | null = null;

  /** Whether the panel is lit (0xAF) or asleep (0xAE, the reset state). */
  displayOn = false;
  /** Inverse display (0xA7). */
  inverted = false;
  /** Entire display on regardless of RAM (0xA5). */
  entireOn = false;
  contrast = 0x7f;
  chargePump = false;
  segmentRemap = false;
  comScanReversed = false;
  multiplex = 63;
  displayOffset = 0;
  startLine = 0;
  scrolling = false;
  /** Command bytes this model does not know (they are ignored, as the chip would). */
  unknownCommands = 0;
  /** Data bytes written to the display RAM. */
  dataBytes = 0;

  /**
   * @param address 0x3c (default) or 0x3d
   * @throws {RangeError} for any other address
   */
  constructor(address = 0x3c) {
    if (address !== 0x3c && address !== 0x3d) {
      throw new RangeError(`Cannot create SSD1306 model: address ${hex(address)} is not 0x3c or 0x3d`);
    }
    this.address = address;
  }

  /** The current addressing mode. */
  get addressingMode(): AddressingMode {
    return this.#mode;
  }

  /** The display RAM, 1024 bytes, page-major: byte `page * 128 + column`, bit `row % 8`. */
  framebuffer(): Uint8Array {
    return this.#ram.slice();
  }

  /** Whether RAM pixel (x, y) is set (row 0 is the top of page 0). */
  pixel(x: number, y: number): boolean {
    if (
      !Number.isInteger(x) || !Number.isInteger(y) || x < 0 || x >= SSD1306_WIDTH || y < 0 ||
      y >= SSD1306_HEIGHT
    ) {
      throw new RangeError(`Cannot read pixel: (${x}, ${y}) is outside 128×64`);
    }
    return (this.#ram[(y >> 3) * SSD1306_WIDTH + x] >> (y & 7) & 1) === 1;
  }

  /** Run one I2C transfer. A read returns the status byte (bit 6: display off). */
  transfer(write: Uint8Array, readLen: number): Uint8Array {
    let i = 0;
    while (i < write.length) {
      const control = write[i++];
      const isData = (control & 0x40) !== 0;
      if (control & 0x80) {
        if (i < write.length) this.#byte(write[i++], isData);
        continue;
      }
      while (i < write.length) this.#byte(write[i++], isData);
    }
    return new Uint8Array(readLen).fill(this.displayOn ? 0x00 : 0x40);
  }

  #byte(value: number, isData: boolean): void {
    if (isData) this.#data(value);
    else this.#command(value);
  }

  #data(value: number): void {
    this.#ram[this.#page * SSD1306_WIDTH + this.#col] = value;
    this.dataBytes++;
    if (this.#mode === "page") {
      this.#col = this.#col >= SSD1306_WIDTH - 1 ? this.#pageColStart : this.#col + 1;
    } else if (this.#mode === "horizontal") {
      if (this.#col < this.#colEnd) this.#col++;
      else {
        this.#col = this.#colStart;
        this.#page = this.#page < this.#pageEnd ? this.#page + 1 : this.#pageStart;
      }
    } else {
      if (this.#page < this.#pageEnd) this.#page++;
      else {
        this.#page = this.#pageStart;
        this.#col = this.#col < this.#colEnd ? this.#col + 1 : this.#colStart;
      }
    }
  }

  #command(value: number): void {
    const p = this.#pending;
    if (p) {
      p.args.push(value);
      if (p.args.length === p.need) {
        this.#pending = null;
        this.#withArgs(p.command, p.args);
      }
      return;
    }
    const need = ARGUMENTS[value];
    if (need) {
      this.#pending = { command: value, args: [], need };
      return;
    }
    this.#single(value);
  }

  #single(c: number): void {
    if (c <= 0x0f) {
      // Page mode: lower nibble of the column start.
      this.#col = (this.#col & 0xf0) | c;
      this.#pageColStart = this.#col;
    } else if (c <= 0x1f) {
      this.#col = ((c & 0x07) << 4) | (this.#col & 0x0f);
      this.#pageColStart = this.#col;
    } else if (c >= 0x40 && c <= 0x7f) this.startLine = c & 0x3f;
    else if (c >= 0xb0 && c <= 0xb7) this.#page = c & 0x07;
    else if (c === 0xae || c === 0xaf) this.displayOn = c === 0xaf;
    else if (c === 0xa6 || c === 0xa7) this.inverted = c === 0xa7;
    else if (c === 0xa4 || c === 0xa5) this.entireOn = c === 0xa5;
    else if (c === 0xa0 || c === 0xa1) this.segmentRemap = c === 0xa1;
    else if (c === 0xc0 || c === 0xc8) this.comScanReversed = c === 0xc8;
    else if (c === 0x2e || c === 0x2f) this.scrolling = c === 0x2f;
    else if (c !== 0xe3) this.unknownCommands++; // 0xE3 is NOP
  }

  #withArgs(c: number, a: number[]): void {
    switch (c) {
      case 0x20: {
        const mode = MODES[a[0] & 0x03];
        if (mode) this.#mode = mode; // 0b11 is invalid: the chip keeps its mode
        break;
      }
      case 0x21:
        this.#colStart = a[0] & 0x7f;
        this.#colEnd = a[1] & 0x7f;
        this.#col = this.#colStart;
        break;
      case 0x22:
        this.#pageStart = a[0] & 0x07;
        this.#pageEnd = a[1] & 0x07;
        this.#page = this.#pageStart;
        break;
      case 0x81:
        this.contrast = a[0];
        break;
      case 0x8d:
        this.chargePump = (a[0] & 0x04) !== 0;
        break;
      case 0xa8:
        this.multiplex = a[0] & 0x3f;
        break;
      case 0xd3:
        this.displayOffset = a[0] & 0x3f;
        break;
        // Timing and scroll set-up commands carry no state the framebuffer depends on.
    }
  }
}
