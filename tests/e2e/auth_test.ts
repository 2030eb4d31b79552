/**
 * Hub access in a real browser (Debian's Chromium through playwright-core) against the real
 * service (`main.ts start`, sim HAL, a fresh state dir, `public_read = false`): the first-run
 * setup link → create the admin → readings → beep → an API token made and revoked in the admin
 * panel → log out → refused; a viewer sees readings, no action buttons, and is refused when it
 * tries; a page on another origin cannot act with the admin's cookie; the unauthenticated page
 * source holds no credential.
 *
 *     deno test --allow-all tests/e2e/auth_test.ts
 *
 * @module
 */
import assert from "node:assert/strict";
import { runTokenCli } from "../../services/hub/mod.ts";
import { freePort, launchBrowser, startService, waitFor } from "./_helpers.ts";

const byId = (id: string) => `[data-testid="${id}"]`;
const ADMIN = { user: "first-admin", password: "a long admin password" };
const VIEWER = { user: "wall", password: "a long viewer password" };

function toml(port: number, stateDir: string): string {
  return `
[polling]
interval_seconds = 0.5
[hal]
backend = "sim"
[cluster]
role = "standalone"
node_id = "authhub"
[shm]
backend = "memory"
[hub]
port = ${port}
host = "127.0.0.1"
public_read = false
[buzzer]
min_interval_ms = 0
[state]
dir = "${stateDir}"
`;
}

Deno.test({
  name:
    "access in Chromium: setup link, admin, beep, tokens, logout; viewer; cross-origin; clean page source",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stateDir = await Deno.makeTempDir({ prefix: "harvester-e2e-auth-" });
    const port = freePort();
    const hub = await startService({ name: "auth-hub", port, toml: toml(port, stateDir) });
    const { browser, close } = await launchBrowser().catch(async (err) => {
      await hub.stop();
      throw err;
    });
    // A page on another origin (another port: same site, so SameSite alone would not stop it).
    const evilPort = freePort();
    const evil = Deno.serve({ hostname: "127.0.0.1", port: evilPort, onListen: () => {} }, () =>
      new Response(
        `<!doctype html><form id="f" method="POST" action="${hub.url}/api/buzzer" enctype="text/plain">` +
          `<input name='{"pattern":"long","x":"' value='"}'></form><script>
            fetch("${hub.url}/api/buzzer", { method: "POST", credentials: "include", mode: "no-cors",
              headers: { "content-type": "text/plain" }, body: '{"pattern":"long"}' })
              .finally(() => { document.title = "sent"; document.getElementById("f").submit(); });
          </script>`,
        { headers: { "content-type": "text/html" } },
      ));
    // An admin token for looking at the hub from the test (the CLI writes; the hub picks it up).
    const out: string[] = [];
    await runTokenCli(["create", "e2e-observer", "--scope", "admin"], { state: { dir: stateDir } }, {
      out: (l) => out.push(l),
      err: () => {},
    });
    const observer = { authorization: `Bearer ${out[0]}` };
    const audits = async () => {
      const res = await fetch(`${hub.url}/api/audit?limit=1000`, { headers: observer });
      return ((await res.json()).events as Array<{ type: string; data: Record<string, unknown> }>)
        .filter((e) => e.type === "audit.buzzer");
    };
    const buzzerEvents = async () => {
      const res = await fetch(`${hub.url}/api/events?type=buzzer&limit=1000`, { headers: observer });
      assert.equal(res.status, 200);
      return ((await res.json()).events as unknown[]).length;
    };
    try {
      const link = await waitFor(
        "see the setup link on the console",
        () => hub.output().match(/(http:\/\/\S+\/setup#\S+)/)?.[1],
      );
      const setupToken = String(link).split("#")[1];
      await waitFor(
        "the hub accepts the CLI's token",
        async () => (await fetch(`${hub.url}/api/plugins`, { headers: observer })).ok,
      );

      await t.step("the page source of an unauthenticated GET / holds no credential", async () => {
        const res = await fetch(`${hub.url}/`);
        const html = await res.text();
        assert.equal(res.status, 200);
        for (const secret of [setupToken, out[0], out[0].slice("hvt_000000000000_".length)]) {
          assert.ok(!html.includes(secret));
        }
        assert.doesNotMatch(html, /harvester-token|hvt_|csrf|Bearer/i);
        const session = await (await fetch(`${hub.url}/auth/session`)).json();
        assert.deepEqual([session.authenticated, session.csrf], [false, null]);
        assert.equal((await fetch(`${hub.url}/api/readings`)).status, 401);
      });

      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));

      await t.step("the setup link creates the first admin, who then sees readings", async () => {
        await page.goto(String(link));
        await page.waitForSelector(byId("setup-form"), { state: "visible", timeout: 20000 });
        assert.equal(await page.isVisible(byId("login-form")), false);
        await page.fill(byId("setup-user"), ADMIN.user);
        await page.fill(byId("setup-password"), ADMIN.password);
        await page.click(byId("setup-submit"));
        await page.waitForSelector(`${byId("connection")}[data-state="connected"]`, { timeout: 20000 });
        await page.waitForSelector(`${byId("node-authhub")} .card`, { timeout: 20000 });
        assert.equal(new URL(page.url()).pathname, "/", "the link leaves the address bar");
        assert.match(await page.textContent(byId("user-badge")) ?? "", /first-admin · admin/);
        // The session cookie is HttpOnly: the page's script cannot read it.
        assert.equal(await page.evaluate("document.cookie"), "");
        // The link was single use.
        const again = await fetch(`${hub.url}/auth/setup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: setupToken, user: "late", password: "another long password" }),
        });
        assert.equal(again.status, 403);
      });

      await t.step("the admin beeps; it is audited with who did it", async () => {
        const before = await buzzerEvents();
        await page.click(byId("buzz-single"));
        await page.waitForSelector(`${byId("buzzer-result")}[data-outcome]`, { timeout: 10000 });
        assert.equal(await page.getAttribute(byId("buzzer-result"), "data-outcome"), "ok");
        await waitFor("a buzzer event", async () => (await buzzerEvents()) > before);
        await page.waitForSelector(`${byId("audit-list")} ${byId("audit")}[data-type="audit.buzzer"]`, {
          timeout: 10000,
        });
        assert.match(
          await page.textContent(`${byId("audit-list")} ${byId("audit")}[data-type="audit.buzzer"]`) ?? "",
          /user:first-admin/,
        );
      });

      await t.step(
        "the admin panel makes a token (shown once) and a viewer; revoking the token stops it",
        async () => {
          await page.fill(byId("token-name"), "script");
          await page.selectOption(byId("token-scope"), "act");
          await page.click(byId("token-create"));
          await page.waitForSelector(`${byId("token-secret")}[data-token]`, { timeout: 10000 });
          const token = await page.getAttribute(byId("token-secret"), "data-token");
          assert.match(token ?? "", /^hvt_/);
          const act = () =>
            fetch(`${hub.url}/api/leds`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({ index: 0, r: 1, g: 2, b: 3 }),
            }).then(async (r) => (await r.body?.cancel(), r.status));
          assert.equal(await act(), 200);
          await page.waitForSelector(byId("token-script"), { timeout: 10000 });
          await page.click(byId("revoke-script"));
          await waitFor("the revoked token refused", async () => (await act()) === 401, 5000);
          await page.fill(byId("user-name"), VIEWER.user);
          await page.fill(byId("user-password"), VIEWER.password);
          await page.selectOption(byId("user-role"), "viewer");
          await page.click(byId("user-create"));
          await page.waitForSelector(`${byId("user-result")}:has-text("added")`, { timeout: 10000 });
        },
      );

      await t.step("a page on another origin cannot act with the admin's cookie", async () => {
        const before = await buzzerEvents();
        const auditBefore = (await audits()).length;
        const other = await ctx.newPage();
        await other.goto(`http://127.0.0.1:${evilPort}/`);
        await waitFor("the foreign page sent its requests", async () => {
          try {
            return other.url().startsWith(hub.url) || (await other.title()) === "sent";
          } catch {
            return false; // navigating
          }
        }, 10000);
        await other.waitForLoadState().catch(() => {});
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(await buzzerEvents(), before, "no buzzer event from the foreign page");
        assert.deepEqual((await audits()).slice(auditBefore), [], "no buzzer request got past access");
        await other.close();
      });

      await t.step("log out: the page asks for a login and actions are refused", async () => {
        await page.click(byId("logout"));
        await page.waitForSelector(byId("login-form"), { state: "visible", timeout: 10000 });
        const status = await page.evaluate(async () =>
          (await fetch("/api/buzzer", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: '{"pattern":"single"}',
          })).status
        );
        assert.equal(status, 401);
        assert.equal(await page.evaluate(async () => (await fetch("/api/readings")).status), 401);
      });
      await ctx.close();

      await t.step("a viewer sees readings, no action buttons, and is refused when it tries", async () => {
        const vctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const v = await vctx.newPage();
        await v.goto(hub.url);
        await v.waitForSelector(byId("login-form"), { state: "visible", timeout: 20000 });
        await v.fill(byId("login-user"), VIEWER.user);
        await v.fill(byId("login-password"), VIEWER.password);
        await v.click(byId("login-submit"));
        await v.waitForSelector(`${byId("connection")}[data-state="connected"]`, { timeout: 20000 });
        await v.waitForSelector(`${byId("node-authhub")} .card`, { timeout: 20000 });
        await v.waitForSelector(byId("reload-authhub-bme680"), { state: "attached", timeout: 20000 });
        for (
          const id of [
            "buzz-single",
            "buzz-long",
            "reload-authhub-bme680",
            "admin-panel",
            "led-picker-authhub",
          ]
        ) {
          assert.equal(await v.isVisible(byId(id)), false, `${id} hidden for a viewer`);
        }
        const before = await buzzerEvents();
        const tried = await v.evaluate(async () => {
          const { csrf } = await (await fetch("/auth/session")).json();
          const res = await fetch("/api/buzzer", {
            method: "POST",
            headers: { "content-type": "application/json", "x-csrf-token": csrf },
            body: '{"pattern":"single"}',
          });
          return [res.status, (await res.json()).error];
        });
        assert.deepEqual(tried, [403, "Cannot act on devices: user 'wall' (viewer) lacks the 'act' scope"]);
        assert.equal(await buzzerEvents(), before);
        await vctx.close();
      });
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await evil.shutdown();
      await hub.stop();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
});
