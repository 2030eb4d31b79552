/**
 * OLED plugin: a pure TypeScript SSD1306 driver over the generic I2C capability. On each
 * snapshot it draws four lines — room temperature, IAQ, hub CPU temperature, and the title —
 * into a 128×64 page-major framebuffer with the 5×7 font, and writes it in SMBus-sized
 * chunks (≤ 32 bytes including the 0x40 control byte), only when the picture changed.
 *
 * Settings (`[plugins.oled]`): `address` (0x3c/0x3d, default 0x3c), `cpu_node` (node whose
 * `system` reading is "the hub"; default: this node).
 *
 * @module
 */
import {
  definePlugin,
  type I2cDeviceCap,
  type I2cStep,
  type PluginContext,
  type SnapshotView,
} from "../sdk/mod.ts";
import { CELL_WIDTH, glyph } from "./font.ts";

export const WIDTH = 128;
export const PAGES = 8;
/** Largest SMBus block write: the control byte plus 31 data bytes. */
export const MAX_WRITE = 32;
/** The title line. */
export const TITLE = "HARVESTER";
/** Characters per line at 6 px each. */
export const COLUMNS = Math.floor(WIDTH / CELL_WIDTH);
/** Page each of the four lines starts on (a blank page between lines). */
export const LINE_PAGES = [0, 2, 4, 6];

/**
 * Power-up sequence for a 128×64 panel with the internal charge pump (SSD1306 application
 * note): display off, clock, multiplex 64, offset 0, start line 0, charge pump on, horizontal
 * addressing, segment remap and COM scan flipped (panel mounted upright), COM pins, contrast,
 * pre-charge, VCOMH, resume RAM display, normal polarity, no scroll, display on.
 */
export const INIT_SEQUENCE = [
  0xae,
  0xd5,
  0x80,
  0xa8,
  0x3f,
  0xd3,
  0x00,
  0x40,
  0x8d,
  0x14,
  0x20,
  0x00,
  0xa1,
  0xc8,
  0xda,
  0x12,
  0x81,
  0xcf,
  0xd9,
  0xf1,
  0xdb,
  0x40,
  0xa4,
  0xa6,
  0x2e,
  0xaf,
];

/** Draw `text` at a page and pixel column into a page-major framebuffer; returns the end column. */
export function drawText(fb: Uint8Array, page: number, x: number, text: string): number {
  for (const ch of text) {
    const g = glyph(ch);
    for (let i = 0; i < g.length && x + i < WIDTH; i++) fb[page * WIDTH + x + i] = g[i];
    x += CELL_WIDTH;
    if (x >= WIDTH) break;
  }
  return x;
}

/** A framebuffer showing up to four lines on {@link LINE_PAGES}. */
export function composeFrame(lines: readonly string[]): Uint8Array {
  const fb = new Uint8Array(WIDTH * PAGES);
  lines.slice(0, LINE_PAGES.length).forEach((line, i) =>
    drawText(fb, LINE_PAGES[i], 0, line.slice(0, COLUMNS))
  );
  return fb;
}

type Values = Record<string, unknown>;

/** The values of sensor `sensor`, preferring `node`, else any node that has it. */
function reading(snapshot: SnapshotView, sensor: string, node: string): Values | undefined {
  const own = snapshot.readings[`${node}:${sensor}`];
  if (own) return own.values;
  const other = Object.entries(snapshot.readings).find(([id]) => id.endsWith(`:${sensor}`));
  return other?.[1].values;
}

const num = (v: unknown, digits: number) =>
  typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : null;

/** The four text lines for a snapshot: room temperature, IAQ, hub CPU, title. */
export function screenLines(snapshot: SnapshotView, cpuNode?: string): string[] {
  const room = reading(snapshot, "dht22", snapshot.node) ?? reading(snapshot, "bme680", snapshot.node);
  const t = num(room?.temperature, 1);
  const h = num(room?.humidity, 0);
  const roomLine = t === null ? "Room --" : `Room ${t}°C${h === null ? "" : ` ${h}%`}`;
  const air = reading(snapshot, "bme680", snapshot.node);
  const iaq = num(air?.iaq, 0);
  const status = typeof air?.iaq_status === "string" ? air.iaq_status : null;
  const iaqLine = status === "calibrating"
    ? "IAQ calibrating"
    : iaq === null
    ? "IAQ --"
    : `IAQ ${iaq}${status ? ` ${status}` : ""}`;
  const sys = reading(snapshot, "system", cpuNode ?? snapshot.node);
  const cpu = num(sys?.cpu_temp, 1);
  const cpuLine = cpu === null ? "CPU --" : `CPU ${cpu}°C`;
  return [roomLine, iaqLine, cpuLine, TITLE];
}

/** Write the init sequence and clear the RAM, in one transaction. */
async function initialise(dev: I2cDeviceCap): Promise<void> {
  await dev.transaction([{ write: [0x00, ...INIT_SEQUENCE] }, ...frameSteps(new Uint8Array(WIDTH * PAGES))]);
}

/** Set the full window, then the framebuffer in SMBus-sized data writes. */
function frameSteps(fb: Uint8Array): I2cStep[] {
  const steps: I2cStep[] = [{ write: [0x00, 0x21, 0, WIDTH - 1, 0x22, 0, PAGES - 1] }];
  for (let i = 0; i < fb.length; i += MAX_WRITE - 1) {
    steps.push({ write: [0x40, ...fb.subarray(i, i + MAX_WRITE - 1)] });
  }
  return steps;
}

/** Write a whole framebuffer: one transaction (one round trip to the broker). */
export async function writeFrame(dev: I2cDeviceCap, fb: Uint8Array): Promise<void> {
  await dev.transaction(frameSteps(fb));
}

function readAddress(ctx: PluginContext): number {
  const a = ctx.settings.address ?? 0x3c;
  if (a !== 0x3c && a !== 0x3d) {
    throw new RangeError(
      `Cannot configure plugin "${ctx.id}": setting "address" must be 0x3c (60) or 0x3d (61), got ${
        JSON.stringify(a)
      }`,
    );
  }
  return a;
}

/** A fresh plugin instance (its own device handle and last frame). */
export function createOledPlugin() {
  let dev: I2cDeviceCap | null = null;
  let shown: Uint8Array | null = null;

  return definePlugin({
    async init(ctx: PluginContext) {
      if (!ctx.i2c) {
        throw new Error(`Cannot start plugin "${ctx.id}": the "i2c" capability is not in its world`);
      }
      const cpuNode = ctx.settings.cpu_node;
      if (cpuNode !== undefined && typeof cpuNode !== "string") {
        throw new TypeError(`Cannot configure plugin "${ctx.id}": setting "cpu_node" must be a string`);
      }
      dev = ctx.i2c.device(readAddress(ctx));
      await initialise(dev);
      shown = new Uint8Array(WIDTH * PAGES);
    },

    async update(ctx: PluginContext, snapshot: SnapshotView) {
      if (!dev) throw new Error(`Cannot update plugin "${ctx.id}": init() has not completed`);
      const fb = composeFrame(screenLines(snapshot, ctx.settings.cpu_node as string | undefined));
      if (shown && shown.every((b, i) => b === fb[i])) return; // unchanged: spare the bus
      await writeFrame(dev, fb);
      shown = fb;
    },
  });
}

export default createOledPlugin();
