/**
 * The broker end to end on the real path: `main.ts broker` with `hal.backend = "linux"`
 * (tests/kernel/broker.toml) runs the first-party bme680 and oled plugins against the emulated
 * i2c-tiny-usb adapter through the kernel's i2c-tiny-usb driver. BME680 readings must reach the
 * snapshot file, and the SSD1306 model's framebuffer must show the oled plugin's four lines.
 * Run inside QEMU by tests/kernel/run.sh.
 */
import assert from "node:assert/strict";
import { CELL_WIDTH, glyph } from "../../plugins/oled/font.ts";
import { COLUMNS, LINE_PAGES, TITLE, WIDTH } from "../../plugins/oled/mod.ts";
import { Emulator, i2cAdapter, modprobe, waitFor } from "./usbip/client.ts";
import { proven } from "./proven.ts";

const root = new URL("../../", import.meta.url).pathname;

/** Read the text on one line of the panel back from the framebuffer, glyph by glyph. */
function ocr(fb: number[], page: number): string {
  const alphabet = [..." °", ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i))];
  let text = "";
  for (let col = 0; col < COLUMNS; col++) {
    const cell = fb.slice(page * WIDTH + col * CELL_WIDTH, page * WIDTH + (col + 1) * CELL_WIDTH);
    const ch = alphabet.find((c) => {
      const g = glyph(c);
      return cell.every((b, i) => b === (i < g.length ? g[i] : 0));
    });
    text += ch ?? "?";
  }
  return text.trimEnd();
}

/** The first and last 8 KiB of the broker's output (the cause is usually at the start). */
function keepEnds(s: string): string {
  return s.length <= 16_384 ? s : `${s.slice(0, 8192)}\n…\n${s.slice(-8192)}`;
}

/** The snapshot's plugin statuses and last errors, for a failure message. */
function pluginsIn(file: string): string {
  try {
    const s = JSON.parse(Deno.readTextFileSync(file)) as {
      plugins: Record<string, { status: string; lastError: string | null }>;
    };
    return Object.entries(s.plugins).map(([id, p]) => `${id} ${p.status} (${p.lastError})`).join("; ");
  } catch (err) {
    return `no snapshot (${err})`;
  }
}

interface Snapshot {
  node: string;
  readings: Record<string, { values: Record<string, unknown> }>;
}

Deno.test("broker on hal.backend = linux drives bme680 and oled through the real i2c-tiny-usb driver", async () => {
  await modprobe("vhci-hcd", "i2c-tiny-usb");
  const emu = await Emulator.start("tiny-usb:1");
  const dir = await Deno.makeTempDir({ prefix: "harvester-kernel-" });
  let broker: Deno.ChildProcess | undefined;
  let output = "";
  let drained: Promise<unknown> = Promise.resolve();
  try {
    const bus = await waitFor("the i2c-tiny-usb adapter", 60_000, () => i2cAdapter("i2c-tiny-usb"));
    const toml = Deno.readTextFileSync(`${root}tests/kernel/broker.toml`)
      .replaceAll("@BUS@", String(bus)).replaceAll("@DIR@", dir);
    Deno.writeTextFileSync(`${dir}/broker.toml`, toml);
    Deno.mkdirSync(`${dir}/locks`, { mode: 0o700 });
    broker = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--cached-only",
        "--frozen",
        "main.ts",
        "broker",
        "--config",
        `${dir}/broker.toml`,
      ],
      cwd: root,
      env: {
        NO_COLOR: "1",
        HARVESTER_LOCK_DIR: `${dir}/locks`,
        // npm packages come from the host's Deno cache, read-only through the 9p root.
        DENO_DIR: Deno.env.get("HARVESTER_HOST_DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const c of s) output = keepEnds(output + dec.decode(c));
    };
    drained = Promise.all([collect(broker.stdout), collect(broker.stderr)]);

    const snapFile = `${dir}/shm/kernel-guest.json`;
    const snap = await waitFor("a BME680 reading in the snapshot file", 90_000, () => {
      try {
        const s: Snapshot = JSON.parse(Deno.readTextFileSync(snapFile));
        return s.readings["kernel-guest:bme680"] ? s : undefined;
      } catch {
        return undefined;
      }
    }).catch((err) => {
      throw new Error(`${err.message}; plugins: ${pluginsIn(snapFile)}; broker output:\n${output}`);
    });
    const bme = snap.readings["kernel-guest:bme680"].values as Record<string, number>;
    assert.ok(bme.temperature > 15 && bme.temperature < 30, `temperature ${bme.temperature}`);
    assert.ok(bme.humidity > 20 && bme.humidity < 70, `humidity ${bme.humidity}`);
    assert.ok(bme.pressure > 950 && bme.pressure < 1080, `pressure ${bme.pressure}`);
    assert.ok(
      (await emu.call<{ measurements: number }>("bme680")).measurements > 0,
      "forced measurements ran",
    );

    // The oled plugin draws after the BME680 reading exists: wait for its four lines.
    const lines = await (async () => {
      const deadline = performance.now() + 60_000;
      let last = "";
      for (;;) {
        const oled = await emu.call<{ displayOn: boolean; framebuffer: number[] }>("oled");
        const text = LINE_PAGES.map((p) => ocr(oled.framebuffer, p));
        // The plugin writes the frame in 32-byte chunks: take it once two looks agree.
        const seen = text.join("\n");
        if (oled.displayOn && text[3] === TITLE && /^Room \S+°C/.test(text[0]) && seen === last) return text;
        last = seen;
        if (performance.now() > deadline) {
          throw new Error(
            `Cannot see the four lines: ${JSON.stringify(text)}; plugins: ${
              pluginsIn(snapFile)
            }; output:\n${output}`,
          );
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    assert.match(lines[0], /^Room -?\d+\.\d°C \d+%$/);
    const shown = Number(lines[0].match(/^Room (-?\d+\.\d)/)![1]);
    assert.ok(Math.abs(shown - bme.temperature) < 1, `screen ${shown} °C vs snapshot ${bme.temperature} °C`);
    assert.match(lines[1], /^IAQ (--|calibrating|\d+( [a-z ]+)?)$/); // -- until the first IAQ value
    assert.equal(lines[2], "CPU --"); // system-monitor is off in broker.toml
    assert.equal(lines[3], TITLE);
    proven({
      adapter: "i2c-tiny-usb (emulated) + BME680 and SSD1306 models",
      driver: "i2c-tiny-usb; main.ts broker, hal.backend = linux",
      functionality: "I2C + SMBUS_EMUL",
      proven: "bme680 plugin readings in the snapshot file; oled plugin's four lines in the framebuffer",
    });
  } finally {
    if (broker) {
      try {
        broker.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => broker?.kill("SIGKILL"), 15_000);
      await broker.status;
      clearTimeout(timer);
      await drained;
    }
    await emu.stop();
    await waitFor("the adapter to go", 20_000, () => i2cAdapter("i2c-tiny-usb") === undefined || undefined);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
