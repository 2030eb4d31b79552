import assert from "node:assert/strict";
import type { SimSsd1306 } from "../../hal/sim/ssd1306.ts";
import { createHarness, type Harness, loadManifest, snapshotOf } from "../_testing/harness.ts";
import { CELL_WIDTH, glyph } from "./font.ts";
import { createOledPlugin, LINE_PAGES, screenLines } from "./mod.ts";

const manifest = await loadManifest("oled");

const SNAPSHOT = snapshotOf({
  dht22: { temperature: 22.46, humidity: 41.2, alarm: "none" },
  bme680: { temperature: 23.1, iaq: 37, iaq_status: "excellent" },
  system: { cpu_temp: 48.25 },
});

/** Whether the glyphs of `text` are on the screen at `page`, pixel for pixel. */
function shows(oled: SimSsd1306, page: number, text: string): boolean {
  let x = 0;
  for (const ch of text) {
    const g = glyph(ch);
    for (let col = 0; col < CELL_WIDTH; col++) {
      const bits = col < g.length ? g[col] : 0;
      for (let row = 0; row < 8; row++) {
        if (oled.pixel(x + col, page * 8 + row) !== ((bits >> row & 1) === 1)) return false;
      }
    }
    x += CELL_WIDTH;
  }
  return true;
}

async function started(h: Harness) {
  const plugin = createOledPlugin();
  await plugin.init(h.ctx);
  return plugin;
}

Deno.test("oled plugin initialises the panel: charge pump, horizontal mode, display on", async () => {
  const h = createHarness({ manifest });
  await started(h);
  assert.equal(h.oled.displayOn, true);
  assert.equal(h.oled.chargePump, true);
  assert.equal(h.oled.addressingMode, "horizontal");
  assert.equal(h.oled.multiplex, 63);
  assert.ok(h.oled.framebuffer().every((b) => b === 0));
});

Deno.test("oled plugin draws the four lines into the sim framebuffer", async () => {
  const h = createHarness({ manifest, smbusOnly: true }); // i2c-stub accepts SMBus-sized writes only
  const plugin = await started(h);
  await plugin.update(h.ctx, SNAPSHOT);
  const lines = ["Room 22.5°C 41%", "IAQ 37 excellent", "CPU 48.3°C", "HARVESTER"];
  lines.forEach((line, i) =>
    assert.ok(shows(h.oled, LINE_PAGES[i], line), `line ${i + 1} "${line}" not on screen`)
  );
  assert.ok(!shows(h.oled, LINE_PAGES[0], "Room 99"), "the comparison must be able to fail");
  assert.ok(h.transfers.every((t) => t.write.length <= 32), "a write exceeded an SMBus block");
});

Deno.test("oled plugin writes nothing when the picture did not change", async () => {
  const h = createHarness({ manifest });
  const plugin = await started(h);
  await plugin.update(h.ctx, SNAPSHOT);
  const before = h.transfers.length;
  await plugin.update(h.ctx, SNAPSHOT);
  assert.equal(h.transfers.length, before);
  await plugin.update(h.ctx, snapshotOf({ dht22: { temperature: 25, humidity: 40 } }));
  assert.ok(h.transfers.length > before);
  assert.ok(shows(h.oled, LINE_PAGES[0], "Room 25.0°C 40%"));
  assert.ok(shows(h.oled, LINE_PAGES[1], "IAQ --"));
});

Deno.test("screenLines falls back to the BME680 and shows calibration and missing values", () => {
  const lines = screenLines(
    snapshotOf({ bme680: { temperature: 19.04, humidity: 50, iaq: 0, iaq_status: "calibrating" } }),
  );
  assert.deepEqual(lines, ["Room 19.0°C 50%", "IAQ calibrating", "CPU --", "HARVESTER"]);
});

Deno.test("screenLines takes the CPU of the configured hub node", () => {
  const snapshot = snapshotOf({ system: { cpu_temp: 40 } }, { node: "pi4" });
  snapshot.readings["revpi-hub:system"] = { values: { cpu_temp: 55.5 }, timestamp: snapshot.timestamp };
  assert.equal(screenLines(snapshot, "revpi-hub")[2], "CPU 55.5°C");
  assert.equal(screenLines(snapshot)[2], "CPU 40.0°C");
});

Deno.test("oled plugin refuses an address that is not an SSD1306's", async () => {
  const h = createHarness({ manifest, settings: { address: 0x3e } });
  await assert.rejects(() => createOledPlugin().init(h.ctx), {
    name: "RangeError",
    message: 'Cannot configure plugin "oled": setting "address" must be 0x3c (60) or 0x3d (61), got 62',
  });
});
