/**
 * The history view in real Chromium against the real service: a sensor card's history button opens
 * a uPlot chart of the recorder's data with a time axis and the unit on the value axis; range and
 * field buttons refetch; the sparklines carry the range they cover. Screenshots (desktop and
 * phone, light and dark) go to tests/out/screenshots/.
 *
 * @module
 */
import assert from "node:assert/strict";
import { launchBrowser, SCREENSHOT_DIR, startService, waitFor } from "./_helpers.ts";

Deno.test({
  name: "dashboard history: open a sensor's chart, switch ranges and fields, axes carry time and units",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
    const dir = await Deno.makeTempDir({ prefix: "harvester-histview-" });
    const svc = await startService({
      name: "histview",
      toml: `[polling]\ninterval_seconds = 0.5\n\n[cluster]\nnode_id = "hv"\n\n[shm]\nbackend = "file"\n` +
        `file_dir = "${dir}/shm"\n\n[hub]\nhost = "127.0.0.1"\npublic_read = true\n\n[state]\ndir = "${dir}"\n\n` +
        `[plugins.dht22]\ncadence_seconds = 0.5\n[plugins.bme680]\ncadence_seconds = 0.5\n`,
    });
    const { browser, close } = await launchBrowser();
    try {
      await waitFor("a few seconds of recorded readings", async () => {
        const r = await fetch(`${svc.url}/api/history?sensor=hv:bme680&field=temperature&from=-5m&step=1`);
        const body = await r.json();
        return r.ok && body.buckets.length >= 8;
      }, 30_000);
      const errors: string[] = [];
      for (
        const [name, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", {
          width: 390,
          height: 844,
        }]] as const
      ) {
        for (const scheme of ["dark", "light"] as const) {
          const ctx = await browser.newContext({ viewport, colorScheme: scheme, isMobile: name === "phone" });
          const page = await ctx.newPage();
          page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
          page.on("pageerror", (e) => errors.push(String(e)));
          await page.goto(svc.url);
          await page.locator('[data-testid="card-hv-bme680"]').waitFor({ timeout: 20_000 });
          // The sparkline says what it covers.
          const spark = page.locator('[data-testid="spark-hv-bme680-temperature"]');
          await waitFor(
            "a drawn sparkline",
            async () => Number(await spark.getAttribute("data-points")) > 3,
            15_000,
          );
          assert.match(
            String(await spark.getAttribute("data-range")),
            /^last \d+ (s|min|h): [\d.]+ – [\d.]+ °C$/,
          );

          await page.locator('[data-testid="history-hv-bme680"]').click();
          const dialog = page.locator('[data-testid="history-dialog"]');
          await waitFor(
            "the chart",
            async () => (await dialog.getAttribute("data-state")) === "ready",
            15_000,
          )
            .catch(async (e) => {
              const status = await page.locator('[data-testid="history-status"]').innerText().catch(() =>
                "?"
              );
              throw new Error(
                `${e.message}: state ${await dialog.getAttribute("data-state")}, "${status}", ${errors}`,
              );
            });
          assert.equal(await dialog.getAttribute("data-unit"), "°C");
          assert.ok(Number(await dialog.getAttribute("data-points")) > 0);
          const chart = page.locator('[data-testid="history-chart"]');
          // uPlot draws into a canvas with axes; the value axis is labelled with the unit.
          assert.equal(await chart.locator("canvas").count(), 1);
          assert.equal(await dialog.getAttribute("data-y-label"), "temperature (°C)");
          await waitFor(
            "uPlot's first draw",
            async () => Number(await dialog.getAttribute("data-drawn")) > 0,
            5000,
          );
          assert.match(
            String(await dialog.getAttribute("data-x-ticks")),
            /^\d\d:\d\d( \d\d:\d\d)+$/,
            "a time axis",
          );
          assert.match(
            String(await dialog.getAttribute("data-y-ticks")),
            /^[\d.]+( [\d.]+)+$/,
            "a value axis",
          );
          const inked = Number(
            await page.evaluate(
              `(() => { const c = document.querySelector('[data-testid="history-chart"] canvas');
              const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; let n = 0;
              for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`,
            ),
          );
          assert.ok(inked > 1000, `the canvas has a drawing (${inked} pixels)`);
          // Hover shows values in the legend.
          const box = (await chart.locator(".u-over").boundingBox())!;
          await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
          await waitFor(
            "a hover value",
            async () => /\d.*°C/.test(await chart.locator(".u-legend").innerText()),
            5000,
          );
          // Another range refetches (and still draws), another field switches unit.
          await page.locator('[data-testid="history-range-1h"]').click();
          await waitFor(
            "1 h drawn",
            async () => (await dialog.getAttribute("data-state")) === "ready",
            10_000,
          );
          assert.equal(
            await page.locator('[data-testid="history-range-1h"]').getAttribute("class"),
            "btn history-range is-active",
          );
          await page.locator('[data-testid="history-field-pressure"]').click();
          await waitFor(
            "pressure drawn",
            async () => (await dialog.getAttribute("data-unit")) === "hPa",
            10_000,
          );
          assert.equal(await dialog.getAttribute("data-y-label"), "pressure (hPa)");
          const csv = await page.locator('[data-testid="history-csv"]').getAttribute("href");
          assert.match(
            String(csv),
            /^\/api\/history\/export\.csv\?sensor=hv%3Abme680&field=pressure&from=-1h$/,
          );
          const width = Number(await page.evaluate("document.documentElement.scrollWidth"));
          assert.ok(width <= viewport.width, `${name}: fits without sideways scrolling (${width}px)`);
          await page.screenshot({ path: `${SCREENSHOT_DIR}history-${name}-${scheme}.png` });
          await page.locator('[data-testid="history-close"]').click();
          assert.equal(await dialog.isVisible(), false);
          await ctx.close();
        }
      }
      assert.deepEqual(errors, [], "no console errors");
    } finally {
      await close();
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
