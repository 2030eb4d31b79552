/**
 * The dashboard's health banner in Chromium (issue 13): hidden while the node is healthy, shown
 * naming the component, its state and reason while one is degraded or down.
 *
 * @module
 */
import assert from "node:assert/strict";
import { freePort } from "../_redis.ts";
import { launchBrowser, startService } from "./_helpers.ts";
import { serviceToml } from "../_toml.ts";

function toml(node: string, dir: string, shm: string): string {
  // `shm` is the raw [shm] header and backend line of each case; the dir is the helper's.
  return serviceToml(node, dir, { hub: { token: "test-read-token", public_read: true }, shm: null }) +
    `\n${shm}\nfile_dir = "${dir}/shm"\n`;
}

Deno.test({
  name: "dashboard: the health banner names a component that is down, and stays hidden when all is ok",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "harvester-banner-" });
    // Nothing listens on this port: Redis is down from the start (the node polls on, degraded).
    const redisUrl = `redis://127.0.0.1:${freePort()}`;
    const sick = await startService({
      name: "banner-sick",
      toml: toml(
        `bs${crypto.randomUUID().slice(0, 6)}`,
        dir,
        `[shm]\nbackend = "auto"\nredis_url = "${redisUrl}"`,
      ),
    });
    const well = await startService({
      name: "banner-well",
      toml: toml(`bw${crypto.randomUUID().slice(0, 6)}`, `${dir}/well`, `[shm]\nbackend = "file"`),
    });
    const { browser, close } = await launchBrowser();
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(sick.url);
      const item = '[data-testid="health-banner"] li[data-component="redis"]';
      await page.waitForSelector(item, { timeout: 20_000 });
      assert.equal(await page.isVisible('[data-testid="health-banner"]'), true);
      assert.equal(await page.getAttribute(item, "data-status"), "down");
      const text = await page.textContent(item) ?? "";
      assert.match(text, new RegExp(`^redis down: Cannot use Redis at ${redisUrl}: `));
      assert.equal(await page.getAttribute('[data-testid="health-banner"]', "data-level"), "down");

      await page.goto(well.url);
      await page.waitForSelector('[data-testid="connection"][data-state="connected"]', { timeout: 20_000 });
      await page.waitForTimeout(1500); // the first /health poll has answered
      assert.equal(await page.isVisible('[data-testid="health-banner"]'), false);
    } finally {
      await close();
      await sick.stop();
      await well.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
