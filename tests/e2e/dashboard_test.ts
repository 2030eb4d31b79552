/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the real
 * service: a hub (`main.ts start`, sim HAL) and a spoke (`main.ts broker`, pushing to the hub) as
 * separate processes. Screenshots go to tests/out/screenshots/.
 *
 *     deno test --allow-all tests/e2e/dashboard_test.ts
 *
 * `HARVESTER_E2E_MOCK=1` runs the same browser checks against tests/e2e/_mock.ts instead (for
 * working on the page when the service is broken); the suite never sets it.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  launchBrowser,
  SCREENSHOT_DIR,
  type Stack,
  startMockStack,
  startRealStack,
  waitFor,
} from "./_helpers.ts";

/** Reads need a token now (the hub refuses anonymous reads unless public_read is on). */
const READ_AUTH = { authorization: "Bearer e2e-write-token" };

const byId = (id: string) => `[data-testid="${id}"]`;
const MOCK = Boolean(Deno.env.get("HARVESTER_E2E_MOCK"));
/** Screenshots of the real service; a mock run keeps its own out of the way. */
const SHOTS = MOCK ? `${SCREENSHOT_DIR}mock/` : SCREENSHOT_DIR;

/** What the page reported that a user would count as broken. */
interface PageProblems {
  errors: string[];
  external: string[];
  /** While true, failed requests to the (stopped) hub are expected and not counted. */
  hubDown: boolean;
}

function watch(page: Page, origin: string): PageProblems {
  const p: PageProblems = { errors: [], external: [], hubDown: false };
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (
      p.hubDown && /ERR_CONNECTION_REFUSED|WebSocket|Failed to load resource|socket\.io/i.test(msg.text())
    ) return;
    p.errors.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => p.errors.push(`page error: ${err.message}`));
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith("data:") && new URL(url).origin !== origin) p.external.push(url);
  });
  page.on("requestfailed", (req) => {
    if (!p.hubDown) p.errors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ""}`);
  });
  return p;
}

/** Texts of every displayed value, keyed by test id. */
function valueTexts(page: Page): Promise<Record<string, string>> {
  return page.$$eval(
    '[data-testid^="value-"]',
    (els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-testid") ?? "", e.textContent ?? ""])),
  );
}

async function eventTypes(page: Page): Promise<string[]> {
  return await page.$$eval(
    `${byId("event-list")} ${byId("event")}`,
    (els) => els.map((e) => e.getAttribute("data-type") ?? ""),
  );
}

Deno.test({
  name: "dashboard: live picture of hub and spoke in Chromium",
  // playwright-core keeps its pipe to Chromium and timers internal until browser.close(), and the
  // child processes' streams are drained asynchronously; everything is closed in `finally`.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stack: Stack = MOCK ? await startMockStack() : await startRealStack();
    const { browser, close } = await launchBrowser().catch(async (err) => {
      await stack.close();
      throw err;
    });
    const hub = stack.hubNode;
    const spoke = stack.spokeNode;
    try {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "dark" });
      const page = await ctx.newPage();
      const problems = watch(page, stack.url);

      await t.step("the page loads, asks for a login, and goes live after it", async () => {
        await page.goto(stack.url);
        assert.equal(await page.title(), "HARVESTER");
        if (!MOCK) {
          await page.waitForSelector(byId("login-form"), { state: "visible", timeout: 20000 });
          await page.fill(byId("login-user"), stack.login.user);
          await page.fill(byId("login-password"), stack.login.password);
          await page.click(byId("login-submit"));
        }
        await page.waitForSelector(`${byId("connection")}[data-state="connected"]`, { timeout: 20000 });
        await page.waitForSelector(byId("loading"), { state: "hidden", timeout: 5000 });
        assert.equal(await page.isVisible(byId("disconnected-banner")), false);
        assert.deepEqual(problems.errors, []);
      });

      await t.step("readings of hub and spoke appear with value, unit and age, and change live", async () => {
        const card = byId(`card-${hub}-bme680`);
        await page.waitForSelector(card, { timeout: 20000 });
        await page.waitForSelector(`${byId(`node-${spoke}`)} .card`, { timeout: 20000 });
        const temp = await page.textContent(byId(`value-${hub}-bme680-temperature`));
        assert.match(temp ?? "", /^-?\d+(\.\d+)?$/, `temperature shows a number, got "${temp}"`);
        const unit = await page.textContent(`${card} [data-key="temperature"] .metric-unit`);
        assert.equal(unit, "°C");
        assert.match((await page.textContent(`${card} .age`)) ?? "", /now|\d+s ago/);
        assert.equal(await page.getAttribute(card, "data-status"), "online");

        // Live: a newer reading arrives and something on screen changes, without a reload.
        await page.evaluate(() => Object.assign(globalThis, { __sameDocument: true }));
        const ts = await page.getAttribute(card, "data-timestamp");
        const before = await valueTexts(page);
        await waitFor(
          "see a newer bme680 reading",
          async () => (await page.getAttribute(card, "data-timestamp")) !== ts,
          20000,
        );
        await waitFor("see a displayed value change", async () => {
          const now = await valueTexts(page);
          return Object.keys(now).some((k) => k in before && now[k] !== before[k]);
        }, 30000);
        const points = Number(
          await page.getAttribute(byId(`spark-${hub}-bme680-temperature`), "data-points"),
        );
        assert.ok(points >= 2, `the temperature sparkline has history (${points} points)`);
        assert.equal(
          await page.evaluate(() => (globalThis as { __sameDocument?: boolean }).__sameDocument),
          true,
        );
      });

      await t.step("the IAQ gauge, LED strip and OLED mirror what the hub reports", async () => {
        const api = await (await fetch(`${stack.url}/api/readings`, { headers: READ_AUTH })).json();
        const bme = api.readings.find((r: { id: string }) => r.id === `${hub}:bme680`);
        assert.ok(bme, "the API has the hub's bme680 reading");
        const gauge = byId(`iaq-${hub}`);
        await page.waitForSelector(gauge);
        const band = await page.getAttribute(gauge, "data-band");
        const value = Number(await page.getAttribute(gauge, "data-value"));
        const expected = value <= 50
          ? "excellent"
          : value <= 100
          ? "good"
          : value <= 150
          ? "moderate"
          : value <= 200
          ? "poor"
          : value <= 300
          ? "bad"
          : "very bad";
        assert.equal(band, expected, `IAQ ${value} is in band ${expected}`);

        assert.equal(await page.locator(`${byId(`leds-${hub}`)} ${byId("led")}`).count(), 11);
        const nodes = (await (await fetch(`${stack.url}/api/nodes`, { headers: READ_AUTH })).json())
          .nodes as {
            id: string;
            leds: string[];
            oled: string | null;
          }[];
        const hubNode = nodes.find((n) => n.id === hub)!;
        await waitFor("see the LED strip match /api/nodes", async () => {
          const fresh = ((await (await fetch(`${stack.url}/api/nodes`, { headers: READ_AUTH })).json())
            .nodes as typeof nodes).find((
              n,
            ) => n.id === hub)!;
          const shown = await page.$$eval(
            `${byId(`leds-${hub}`)} ${byId("led")}`,
            (els) => els.map((e) => e.getAttribute("data-color")),
          );
          return JSON.stringify(shown) === JSON.stringify(fresh.leds.map((c) => c.toLowerCase()));
        }, 15000);
        if (hubNode.oled) {
          const oled = byId(`oled-${hub}`);
          await page.waitForSelector(oled, { state: "visible" });
          const lit = Number(await page.getAttribute(oled, "data-lit"));
          assert.ok(lit > 0, `the virtual OLED draws the framebuffer (${lit} pixels lit)`);
        }
      });

      await t.step('pressing "beep" goes through the API and a buzzer event arrives', async () => {
        await page.click(byId("buzz-single"));
        const result = byId("buzzer-result");
        await page.waitForSelector(`${result}[data-outcome]`, { timeout: 15000 });
        const text = await page.textContent(result);
        assert.equal(await page.getAttribute(result, "data-outcome"), "ok", `buzzer result: ${text}`);
        assert.match(text ?? "", /beep on /);
        await page.waitForSelector(`${byId("event-list")} ${byId("event")}[data-type="buzzer"]`, {
          timeout: 15000,
        });
      });

      await t.step("picking a colour for an LED goes through the API and the strip shows it", async () => {
        const dot = `${byId(`leds-${hub}`)} ${byId("led")}[data-index="9"]`;
        await page.click(dot);
        await page.fill(byId(`led-picker-${hub}`), "#ff00ff");
        const result = byId(`led-result-${hub}`);
        await page.waitForSelector(`${result}[data-outcome]`, { timeout: 15000 });
        assert.equal(
          await page.getAttribute(result, "data-outcome"),
          "ok",
          `${await page.textContent(result)}`,
        );
        await waitFor(
          "see LED 9 turn magenta",
          async () => (await page.getAttribute(dot, "data-color")) === "#ff00ff",
          15000,
        );
        // The snapshot the API serves follows within a cycle or two.
        await waitFor("see LED 9 magenta in /api/nodes", async () => {
          const api = await (await fetch(`${stack.url}/api/nodes`, { headers: READ_AUTH })).json() as {
            nodes: { id: string; leds: string[] }[];
          };
          return api.nodes.find((n) => n.id === hub)?.leds[9]?.toLowerCase() === "#ff00ff";
        }, 10000);
      });

      await t.step("the plugin reload button produces a plugin.reload event", async () => {
        const row = byId(`plugin-${hub}-bme680`);
        await page.waitForSelector(row, { timeout: 15000 });
        assert.match((await page.textContent(byId(`plugin-status-${hub}-bme680`))) ?? "", /running|starting/);
        assert.match(
          (await page.textContent(byId(`node-plugins-${hub}`))) ?? "",
          /\d+ plugins running|running ·/,
        );
        await page.click(byId(`reload-${hub}-bme680`));
        const result = byId("plugin-result");
        await page.waitForSelector(`${result}[data-outcome]`, { timeout: 15000 });
        assert.equal(
          await page.getAttribute(result, "data-outcome"),
          "ok",
          `${await page.textContent(result)}`,
        );
        await page.waitForSelector(`${byId("event-list")} ${byId("event")}[data-type="plugin.reload"]`, {
          timeout: 15000,
        });
      });

      await t.step("the event type filter filters, and pause holds the list", async () => {
        const list = `${byId("event-list")} ${byId("event")}`;
        // By default the per-cycle ticks are hidden (they would drown everything else).
        assert.equal(await page.inputValue(byId("event-filter")), "-cycle.");
        await page.waitForSelector(`${byId("event-filter")} option[value="cycle.start"]`, {
          state: "attached",
        });
        assert.ok(
          (await eventTypes(page)).every((x) => !x.startsWith("cycle.")),
          "no cycle.* events shown by default",
        );
        await page.selectOption(byId("event-filter"), "buzzer");
        await waitFor("show only buzzer events", async () => {
          const types = await eventTypes(page);
          return types.length > 0 && types.every((x) => x === "buzzer");
        }, 5000);
        await page.selectOption(byId("event-filter"), "plugin.");
        await waitFor("show only plugin.* events", async () => {
          const types = await eventTypes(page);
          return types.includes("plugin.reload") && types.every((x) => x.startsWith("plugin."));
        }, 5000);
        await page.selectOption(byId("event-filter"), "reading");
        await waitFor("show reading events", async () => (await eventTypes(page)).length > 0, 5000);
        assert.ok((await eventTypes(page)).every((x) => x === "reading"));

        await page.click(byId("event-pause"));
        const held = await page.locator(list).count();
        const first = await page.locator(list).first().textContent();
        await waitFor(
          "count new events while paused",
          async () => /paused · [1-9]\d* new/.test((await page.textContent(byId("event-count"))) ?? ""),
          20000,
        );
        assert.equal(await page.locator(list).count(), held);
        assert.equal(await page.locator(list).first().textContent(), first);
        await page.click(byId("event-pause"));
        await waitFor(
          "show the held events after resume",
          async () => (await page.locator(list).count()) > held,
          5000,
        );
        await page.selectOption(byId("event-filter"), "");
        const all = new Set(await eventTypes(page));
        assert.ok(all.size > 1, `all types shown again: ${[...all].join(", ")}`);
      });

      await t.step("the log viewer has a tab per node and shows its lines", async () => {
        await page.waitForSelector(byId(`log-tab-${hub}`));
        await page.waitForSelector(byId(`log-tab-${spoke}`));
        await page.click(byId(`log-tab-${hub}`));
        await waitFor(
          "show hub log lines",
          async () =>
            (await page.locator(`${byId("log-lines")}[data-node="${hub}"] ${byId("log-line")}`).count()) > 0,
          10000,
        );
        await page.click(byId(`log-tab-${spoke}`));
        assert.equal(await page.getAttribute(byId(`log-tab-${spoke}`), "aria-selected"), "true");
        await waitFor(
          "show the spoke's log",
          async () =>
            (await page.locator(
              `${byId("log-lines")}[data-node="${spoke}"] :is(${byId("log-line")}, ${byId("log-empty")})`,
            ).count()) > 0,
          10000,
        );
      });

      await t.step("screenshots: desktop and phone, light and dark", async () => {
        await Deno.mkdir(SHOTS, { recursive: true });
        for (
          const [name, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", {
            width: 390,
            height: 844,
          }]] as const
        ) {
          for (const scheme of ["light", "dark"] as const) {
            // The logged-in session's cookie, so the screenshots show the dashboard, not the login.
            const c = await browser.newContext({
              viewport,
              colorScheme: scheme,
              isMobile: name === "phone",
              storageState: await ctx.storageState(),
            });
            const p = await c.newPage();
            const probs = watch(p, stack.url);
            await p.goto(stack.url);
            await p.waitForSelector(`${byId("connection")}[data-state="connected"]`, { timeout: 20000 });
            await p.waitForSelector(`${byId(`node-${spoke}`)} .card`, { timeout: 20000 });
            await waitFor(
              "draw sparklines",
              async () =>
                Number(await p.getAttribute(byId(`spark-${hub}-bme680-temperature`), "data-points")) >= 2,
              20000,
            );
            const width = Number(await p.evaluate("document.documentElement.scrollWidth"));
            assert.ok(width <= viewport.width, `${name} layout fits without sideways scrolling (${width}px)`);
            await p.screenshot({ path: `${SHOTS}dashboard-${name}-${scheme}.png`, fullPage: true });
            await c.close();
            assert.deepEqual([...probs.errors, ...probs.external], []);
          }
        }
      });

      await t.step("a killed spoke turns its node and cards offline", async () => {
        await page.waitForSelector(`${byId(`node-${spoke}`)}[data-status="online"]`, { timeout: 10000 });
        await stack.killSpoke();
        // First stale (missed three pushes), then offline.
        await page.waitForSelector(`${byId(`node-${spoke}`)}[data-status="stale"]`, { timeout: 30000 });
        assert.equal(await page.getAttribute(`${byId(`node-${spoke}`)} .card`, "data-status"), "stale");
        await page.waitForSelector(`${byId(`node-${spoke}`)}[data-status="offline"]`, { timeout: 45000 });
        const cards = await page.$$eval(
          `${byId(`node-${spoke}`)} .card`,
          (els) => els.map((e) => e.getAttribute("data-status")),
        );
        assert.ok(
          cards.length > 0 && cards.every((s) => s === "offline"),
          `spoke cards offline: ${cards.join(", ")}`,
        );
        assert.equal(await page.textContent(byId(`node-status-${spoke}`)), "offline");
        await page.waitForSelector(`${byId(`plugin-${spoke}-bme680`)}[data-node-status="offline"]`, {
          timeout: 10000,
        });
        assert.equal(await page.getAttribute(byId(`node-${hub}`), "data-status"), "online");
        await page.evaluate("window.scrollTo(0, 0)");
        await page.screenshot({
          path: `${SHOTS}dashboard-desktop-dark-spoke-offline.png`,
          fullPage: true,
        });
      });

      await t.step("no console errors and no request leaves the hub's origin", () => {
        assert.deepEqual(problems.errors, []);
        assert.deepEqual(problems.external, []);
      });

      await t.step(
        "when the hub goes away the page says so, and it reconnects when the hub is back",
        async () => {
          problems.hubDown = true;
          await stack.stopHub();
          await page.waitForSelector(`${byId("connection")}[data-state="disconnected"]`, { timeout: 15000 });
          assert.equal(await page.isVisible(byId("disconnected-banner")), true);
          await stack.startHub();
          await page.waitForSelector(`${byId("connection")}[data-state="connected"]`, { timeout: 30000 });
          problems.hubDown = false;
          assert.equal(await page.isVisible(byId("disconnected-banner")), false);
          const ts = await page.getAttribute(byId(`card-${hub}-bme680`), "data-timestamp");
          await waitFor(
            "see readings flow again after the reconnect",
            async () => (await page.getAttribute(byId(`card-${hub}-bme680`), "data-timestamp")) !== ts,
            30000,
          );
          assert.deepEqual(problems.errors, []);
        },
      );

      await ctx.close();
    } finally {
      await close();
      await stack.close();
    }
  },
});
