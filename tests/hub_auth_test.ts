/**
 * Hub access against a real listening hub: first-run setup link, sessions and CSRF, login limits
 * and audit, public_read, scoped tokens and the token CLI, DNS rebinding, slow headers and the
 * per-client cap, refusing to expose a hub nobody can log in to.
 *
 * @module
 */
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { AccessConfigError } from "../services/hub/mod.ts";
import { runTokenCli } from "../services/hub/mod.ts";
import { createHub } from "../services/hub/mod.ts";
import { LocalCommandBus } from "../services/link/mod.ts";
import { makeSnapshot, TestEventLog, TestState } from "../services/hub/_test_fakes.ts";
import { rawRequest, setupTokenOf, SPOKE, startAuthHub, Tab, until } from "./_hub_auth.ts";

const PASSWORD = "correct horse battery";

/** A hub with an admin `root` (via the setup link) and a logged-in admin tab. */
async function withAdmin(access: Parameters<typeof startAuthHub>[0] = {}) {
  const h = await startAuthHub(access);
  const admin = new Tab(h.base);
  const r = await admin.request("POST", "/auth/setup", {
    token: setupTokenOf(h.lines),
    user: "root",
    password: PASSWORD,
  });
  assert.equal(r.status, 200, r.text);
  admin.csrf = String(r.json.csrf);
  return { h, admin };
}

Deno.test("first run: one setup link, valid once; the page source of GET / holds no credential", async () => {
  const h = await startAuthHub();
  try {
    assert.equal(h.lines.length, 1);
    assert.match(h.lines[0], /^harvester hub: no user yet; create the first admin within 15 min/);
    const token = setupTokenOf(h.lines);
    assert.equal(h.server.setupLink, `http://127.0.0.1:${h.server.port}/setup#${token}`);
    const page = await fetch(`${h.base}/`);
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /<title>HARVESTER<\/title>/);
    assert.ok(!html.includes(token), "no setup token in the page");
    assert.doesNotMatch(html, /harvester-token|hvt_|csrf["']?\s*[:=]|Bearer/i);
    const tab = new Tab(h.base);
    // Nothing but the page without a login (public_read is off).
    assert.equal((await tab.request("GET", "/api/readings")).status, 401);
    assert.equal((await tab.request("GET", "/api/events")).status, 401);
    const anon = await tab.request("GET", "/auth/session");
    assert.deepEqual([anon.json.authenticated, anon.json.csrf, anon.json.setup_pending], [false, null, true]);
    // Wrong token, weak password: refused, the link still works afterwards.
    let r = await tab.request("POST", "/auth/setup", { token: "guess", user: "root", password: PASSWORD });
    assert.equal(r.status, 403);
    r = await tab.request("POST", "/auth/setup", { token, user: "root", password: "short" });
    assert.deepEqual([r.status, r.json.field], [400, "password"]);
    r = await tab.request("POST", "/auth/setup", { token, user: "root", password: PASSWORD });
    assert.equal(r.status, 200, r.text);
    assert.match(
      tab.setCookie!,
      /^harvester_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    // Used: a second admin cannot be made with the same link.
    const other = new Tab(h.base);
    r = await other.request("POST", "/auth/setup", { token, user: "mallory", password: PASSWORD });
    assert.equal(r.status, 403);
    assert.match(String(r.json.error), /wrong, used or expired/);
    // The new admin's session reads, and the CSRF token comes only from its own session.
    const me = await tab.request("GET", "/auth/session");
    assert.deepEqual([me.json.user, me.json.role, me.json.setup_pending], ["root", "admin", false]);
    assert.equal(typeof me.json.csrf, "string");
    assert.equal((await tab.request("GET", "/api/readings")).status, 200);
    // Stored 0600, scrypt, no plain password.
    const file = `${h.dir}/hub-auth.json`;
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const text = await Deno.readTextFile(file);
    assert.ok(!text.includes(PASSWORD));
    assert.match(text, /"hash": "scrypt\$32768\$8\$1\$/);
  } finally {
    await h.close();
  }
  // A link expires.
  const late = await startAuthHub({ setupTtlMs: 50 });
  try {
    await new Promise((r) => setTimeout(r, 120));
    const r = await new Tab(late.base).request("POST", "/auth/setup", {
      token: setupTokenOf(late.lines),
      user: "root",
      password: PASSWORD,
    });
    assert.equal(r.status, 403);
  } finally {
    await late.close();
  }
});

Deno.test("sessions: cookie writes need the CSRF header and the same origin; roles; logout and expiry end them", async () => {
  const { h, admin } = await withAdmin();
  try {
    for (const [name, role] of [["olga", "operator"], ["vic", "viewer"]]) {
      const r = await admin.request("POST", "/api/users", { name, role, password: PASSWORD });
      assert.equal(r.status, 200, r.text);
    }
    const olga = new Tab(h.base);
    assert.equal((await olga.login("olga", PASSWORD)).status, 200);
    // Cookie alone (a forged form post): refused, nothing runs.
    let r = await olga.request("POST", "/api/buzzer", { pattern: "single" }, { "x-csrf-token": "" });
    assert.equal(r.status, 403);
    assert.match(String(r.json.error), /x-csrf-token/);
    // Right CSRF token but another origin: refused.
    r = await olga.request("POST", "/api/buzzer", { pattern: "single" }, { origin: "http://evil.example" });
    assert.equal(r.status, 403);
    assert.deepEqual(h.ran, []);
    r = await olga.request("POST", "/api/buzzer", { pattern: "single" });
    assert.equal(r.status, 200, r.text);
    assert.equal(h.ran.length, 1);
    // An operator acts but does not administer.
    r = await olga.request("POST", "/api/tokens", { name: "x", scopes: ["read"] });
    assert.deepEqual([r.status, r.json.error], [
      403,
      "Cannot create tokens: user 'olga' (operator) lacks the 'admin' scope",
    ]);
    // A viewer reads and is refused acting.
    const vic = new Tab(h.base);
    await vic.login("vic", PASSWORD);
    assert.equal((await vic.request("GET", "/api/plugins")).status, 200);
    r = await vic.request("POST", "/api/leds", { index: 0, r: 1, g: 2, b: 3 });
    assert.deepEqual([r.status, r.json.error], [
      403,
      "Cannot act on devices: user 'vic' (viewer) lacks the 'act' scope",
    ]);
    assert.equal(h.ran.length, 1);
    // Audit events for admins only.
    assert.equal(((await vic.request("GET", "/api/events?type=audit.")).json.events as unknown[]).length, 0);
    assert.equal((await vic.request("GET", "/api/audit")).status, 403);
    const audit = (await admin.request("GET", "/api/audit")).json.events as Array<
      { type: string; data: Record<string, unknown> }
    >;
    const buzz = audit.find((e) => e.type === "audit.buzzer");
    assert.deepEqual([buzz?.data.actor, buzz?.data.ok], ["user:olga", true]);
    assert.ok(
      audit.some((e) =>
        e.type === "audit.user.create" && e.data.user === "vic" && e.data.actor === "user:root"
      ),
    );
    // Logout ends the session at once.
    const cookie = olga.cookie;
    r = await olga.request("POST", "/auth/logout", {});
    assert.equal(r.status, 200);
    olga.cookie = cookie;
    assert.equal((await olga.request("GET", "/api/plugins")).status, 401);
    // An admin ends one session by its id (from the list, which holds no cookie).
    const extra = new Tab(h.base);
    await extra.login("vic", PASSWORD);
    const listed = (await admin.request("GET", "/api/sessions")).json.sessions as Array<
      { id: string; user: string }
    >;
    assert.ok(!JSON.stringify(listed).includes(extra.cookie!.split("=")[1]));
    const vics = listed.filter((x) => x.user === "vic");
    assert.equal(vics.length, 2);
    assert.equal((await admin.request("DELETE", `/api/sessions/${vics[1].id}`)).status, 200);
    assert.equal((await extra.request("GET", "/api/plugins")).status, 401, "the revoked session");
    assert.equal((await vic.request("GET", "/api/plugins")).status, 200, "the other one lives");
    // Deleting a user ends its sessions.
    assert.equal((await admin.request("DELETE", "/api/users/vic")).status, 200);
    assert.equal((await vic.request("GET", "/api/plugins")).status, 401);
    // The last admin stays.
    assert.equal((await admin.request("DELETE", "/api/users/root")).status, 409);
  } finally {
    await h.close();
  }
});

Deno.test("sessions expire after session_hours", async () => {
  const { h, admin } = await withAdmin({ sessionTtlMs: 1000 });
  try {
    assert.equal((await admin.request("GET", "/api/plugins")).status, 200);
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal((await admin.request("GET", "/api/plugins")).status, 401);
    assert.equal((await admin.request("GET", "/auth/session")).json.authenticated, false);
  } finally {
    await h.close();
  }
});

Deno.test("sessions survive a hub restart (hashed, 0600), logins do not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hub-auth-restart-" });
  try {
    const { h, admin } = await withAdmin({ stateDir: dir });
    await h.close();
    const file = `${dir}/hub-sessions.json`;
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.ok(!(await Deno.readTextFile(file)).includes(admin.cookie!.split("=")[1]), "cookie is not stored");
    const again = await startAuthHub({ stateDir: dir });
    try {
      assert.equal(again.lines.length, 0, "no setup link once a user exists");
      const tab = new Tab(again.base);
      tab.cookie = admin.cookie;
      tab.csrf = admin.csrf;
      assert.equal((await tab.request("GET", "/api/plugins")).status, 200);
      assert.equal((await tab.request("POST", "/api/buzzer", { pattern: "single" })).status, 200);
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("100 wrong passwords: rate-limited per account and per client, audited, no scrypt per refused guess", async () => {
  const { h, admin } = await withAdmin();
  try {
    await admin.request("POST", "/api/users", { name: "olga", role: "operator", password: PASSWORD });
    const guesser = new Tab(h.base);
    const statuses: number[] = [];
    const t0 = performance.now();
    let retryAfter = "";
    for (let i = 0; i < 100; i++) {
      const r = await guesser.login("root", `wrong-${i}-password`);
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get("retry-after") ?? "";
        assert.match(
          String(r.json.error),
          /^Cannot log in: too many failed attempts for this account; try again in \d+ s$/,
        );
      }
    }
    const ms = performance.now() - t0;
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.deepEqual(statuses.slice(10), Array(90).fill(429));
    assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= 900, `Retry-After ${retryAfter}`);
    // Even the right password waits while the account is limited.
    assert.equal((await guesser.login("root", PASSWORD)).status, 429);
    const failed = h.log.events.filter((e) => e.type === "audit.login.failed");
    const limited = h.log.events.filter((e) => e.type === "audit.login.limited");
    assert.equal(failed.length, 10);
    assert.equal(limited.length, 91);
    assert.deepEqual([failed[0].data.user, failed[0].data.actor], ["root", "anonymous"]);
    // The client limit (20) catches a guesser that switches accounts.
    for (let i = 0; i < 10; i++) assert.equal((await guesser.login("olga", `nope-${i}-nope`)).status, 401);
    const r = await guesser.login("someone-else", "whatever-whatever");
    assert.equal(r.status, 429);
    assert.match(String(r.json.error), /for this client/);
    // Another client still logs in as root.
    console.log(`100 wrong passwords answered in ${ms.toFixed(0)} ms`);
  } finally {
    await h.close();
  }
});

Deno.test("public_read: readings and their feed are public, everything else needs auth", async () => {
  for (const publicRead of [true, false]) {
    const { h, admin } = await withAdmin({ publicRead });
    try {
      const anon = new Tab(h.base);
      const expect: Array<[string, number]> = [
        ["/", 200],
        ["/assets/app.js", 200],
        ["/health", 200],
        ["/api/readings", publicRead ? 200 : 401],
        ["/api/nodes", publicRead ? 200 : 401],
        ["/api/plugins", 401],
        ["/api/logs?node=hub", 401],
        ["/api/events", 401],
        ["/metrics", 401],
        ["/api/audit", 401],
        ["/api/tokens", 401],
      ];
      for (const [path, status] of expect) {
        assert.equal(
          (await anon.request("GET", path)).status,
          status,
          `${path} with public_read=${publicRead}`,
        );
      }
      assert.equal((await anon.request("POST", "/api/buzzer", { pattern: "single" })).status, 401);
      // The feed: anonymous gets readings only; a read token everything but audit; admin all.
      const read = h.mint("wall", ["read"]);
      const adminToken = h.mint("ops", ["admin"]);
      const got: Record<string, string[]> = { anon: [], read: [], admin: [] };
      const sockets = [];
      for (const [who, token] of [["anon", null], ["read", read], ["admin", adminToken]] as const) {
        const s = io(h.base, {
          transports: ["websocket"],
          reconnection: false,
          auth: token ? { token } : {},
          extraHeaders: token ? { authorization: `Bearer ${token}` } : {},
        });
        sockets.push(s);
        s.on("event", (e: { type: string }) => got[who].push(e.type));
        const ok = await new Promise<boolean>((resolve) => {
          s.once("connect", () => resolve(true));
          s.once("connect_error", () => resolve(false));
        });
        assert.equal(ok, who !== "anon" || publicRead, `${who} connects with public_read=${publicRead}`);
      }
      for (const g of Object.values(got)) g.length = 0;
      h.log.emit("reading", { id: "hub:bme680" });
      h.log.emit("plugin.error", { plugin: "oled" });
      await admin.request("POST", "/api/buzzer", { pattern: "single" });
      await until("admin sees the audit event", () => got.admin.includes("audit.buzzer"));
      await until("reader sees the plugin error", () => got.read.includes("plugin.error"));
      for (const s of sockets) s.close();
      assert.ok(!got.read.includes("audit.buzzer"));
      if (publicRead) {
        await until("anonymous sees the reading", () => got.anon.includes("reading"));
        assert.deepEqual(got.anon, ["reading"]);
      }
    } finally {
      await h.close();
    }
  }
});

Deno.test("scoped tokens: push:<node> pushes only for its node, metrics token reads only /metrics; revocation is immediate", async () => {
  const { h, admin } = await withAdmin({ metricsToken: "prom-secret" });
  try {
    const made = await admin.request("POST", "/api/tokens", { name: "pi5-push", scopes: ["push:pi5"] });
    assert.equal(made.status, 200, made.text);
    const token = String(made.json.token);
    assert.match(token, /^hvt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    // Shown once: the list has no secret, and the file holds only its hash.
    const listed = (await admin.request("GET", "/api/tokens")).json.tokens as Array<Record<string, unknown>>;
    assert.ok(!JSON.stringify(listed).includes(token.slice("hvt_000000000000_".length)));
    assert.ok(
      !(await Deno.readTextFile(`${h.dir}/hub-auth.json`)).includes(token.slice("hvt_000000000000_".length)),
    );
    const push = (node: string, t: string) =>
      fetch(`${h.base}/push`, {
        method: "POST",
        headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
        body: JSON.stringify({
          node,
          snapshots: [makeSnapshot(node)],
        }),
      }).then(async (r) => [r.status, await r.text()] as const);
    const [ok, okText] = await push("pi5", token);
    assert.equal(ok, 200, okText);
    assert.equal((await push("pi4", token))[0], 401, "a push token is bound to its node");
    assert.equal((await push("pi4", SPOKE))[0], 200, "cluster.spoke_tokens still work per node");
    const bearer = (t: string, path: string) =>
      fetch(`${h.base}${path}`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal((await bearer(token, "/api/plugins")).status, 403);
    assert.equal((await bearer("prom-secret", "/metrics")).status, 200);
    assert.equal((await bearer("prom-secret", "/api/plugins")).status, 403);
    // last-used is visible
    const after = (await admin.request("GET", "/api/tokens")).json.tokens as Array<
      { name: string; lastUsed: string | null }
    >;
    assert.ok(after.find((t) => t.name === "pi5-push")?.lastUsed);
    // Revoke: the very next request fails.
    assert.equal((await admin.request("DELETE", `/api/tokens/${made.json.id}`)).status, 200);
    assert.equal((await push("pi5", token))[0], 401);
    const audit = h.log.events.filter((e) => e.type.startsWith("audit.token."));
    assert.deepEqual(audit.map((e) => [e.type, e.data.actor]), [
      ["audit.token.create", "user:root"],
      ["audit.token.revoke", "user:root"],
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("token CLI: create prints the secret once, the running hub accepts it, list shows it, revoke stops it", async () => {
  const h = await startAuthHub();
  try {
    const out: string[] = [];
    const err: string[] = [];
    const cli = (...args: string[]) =>
      runTokenCli(args, { state: { dir: h.dir } }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    assert.equal(await cli("create", "ci", "--scope", "act"), 0);
    const token = out.pop()!;
    assert.match(token, /^hvt_/);
    assert.match(err.pop()!, /^created token [0-9a-f]{12} 'ci' \(act\); it is shown once:$/);
    const buzz = () =>
      fetch(`${h.base}/api/buzzer`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: '{"pattern":"single"}',
      }).then(async (r) => (await r.body?.cancel(), r.status));
    await until("the hub picks up the CLI's token", async () => (await buzz()) === 200, 5000);
    assert.equal(await cli("list"), 0);
    assert.match(out.at(-1)!, /\tci\tact\t/);
    assert.equal(await cli("revoke", "ci"), 0);
    await until("the hub drops the revoked token", async () => (await buzz()) === 401, 5000);
    assert.equal(await cli("revoke", "ci"), 1);
    assert.equal(await cli("create", "bad name!"), 2);
    assert.equal(await cli("create", "x", "--scope", "root"), 2);
    assert.equal(await cli("frobnicate"), 2);
  } finally {
    await h.close();
  }
});

Deno.test("DNS rebinding: a foreign Host is refused for HTTP and for the engine.io handshake", async () => {
  const { h, admin } = await withAdmin({ publicRead: true });
  try {
    const port = h.server.port;
    const get = (host: string, path: string, extra = "") =>
      rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
    for (const path of ["/api/readings", "/", "/socket.io/?EIO=4&transport=polling"]) {
      const evil = await get(`evil.example:${port}`, path);
      assert.match(evil.reply, /^HTTP\/1\.1 (421|403|400)/, `${path}: ${evil.reply.slice(0, 80)}`);
      assert.doesNotMatch(evil.reply, /"readings"|"sid"/);
    }
    // Even with a valid session cookie: the name is what counts.
    const withCookie = await get("evil.example", "/api/plugins", `Cookie: ${admin.cookie}\r\n`);
    assert.match(withCookie.reply, /^HTTP\/1\.1 421/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const ok = await get(host, "/api/readings");
      assert.match(ok.reply, /^HTTP\/1\.1 200/, host);
    }
  } finally {
    await h.close();
  }
  // A configured name is allowed.
  const named = await startAuthHub({ publicRead: true, allowedHosts: ["hub.example.lan"] });
  try {
    const r = await rawRequest(
      named.server.port,
      `GET /api/readings HTTP/1.1\r\nHost: hub.example.lan\r\nConnection: close\r\n\r\n`,
    );
    assert.match(r.reply, /^HTTP\/1\.1 200/);
  } finally {
    await named.close();
  }
});

Deno.test("after a keep-alive answer, the next request's headers are due within the header timeout", async () => {
  const h = await startAuthHub({
    publicRead: true,
    net: { headerTimeoutMs: 500, requestTimeoutMs: 30_000, idleTimeoutMs: 30_000 },
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.server.port });
    await conn.write(new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const buf = new Uint8Array(64 * 1024);
    const n = await conn.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
    const t0 = performance.now();
    const closedAt = await new Promise<number>((resolve) => {
      (async () => {
        try {
          while ((await conn.read(buf)) !== null) { /* drain the rest of the answer */ }
        } catch {
          // reset by the server
        }
        resolve(performance.now() - t0);
      })();
      setTimeout(() => resolve(-1), 10_000);
    });
    try {
      conn.close();
    } catch {
      // closed
    }
    assert.ok(
      closedAt >= 0 && closedAt < 8000,
      `silent keep-alive client cut after ${closedAt.toFixed(0)} ms`,
    );
    assert.equal(h.server.net.headerTimeouts, 1);
    assert.equal(h.server.net.requestTimeouts, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a connection that goes silent mid-request is cut after the idle timeout", async () => {
  const h = await startAuthHub({
    publicRead: true,
    net: { idleTimeoutMs: 400, headerTimeoutMs: 20_000, requestTimeoutMs: 20_000 },
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.server.port });
    const t0 = performance.now();
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    const closedAt = await new Promise<number>((resolve) => {
      const buf = new Uint8Array(1024);
      (async () => {
        try {
          while ((await conn.read(buf)) !== null) { /* drain */ }
        } catch {
          // reset by the server
        }
        resolve(performance.now() - t0);
      })();
      setTimeout(() => resolve(-1), 10_000);
    });
    try {
      conn.close();
    } catch {
      // closed
    }
    assert.ok(closedAt >= 300 && closedAt < 8000, `silent client cut after ${closedAt.toFixed(0)} ms`);
    assert.equal(h.server.net.headerTimeouts, 0, "cut as idle, not by the header timeout");
    // A client that keeps talking is not idle: a keep-alive request every 150 ms for 1 s.
    const live = await Deno.connect({ hostname: "127.0.0.1", port: h.server.port });
    try {
      const buf = new Uint8Array(64 * 1024);
      for (let i = 0; i < 7; i++) {
        await live.write(new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        const n = await live.read(buf);
        assert.ok(n !== null && n > 0, `request ${i} answered on the same connection`);
        await new Promise((r) => setTimeout(r, 150));
      }
    } finally {
      live.close();
    }
  } finally {
    await h.close();
  }
});

Deno.test("slow headers are cut after the header timeout; one client holds at most its connection cap", async () => {
  const h = await startAuthHub({ publicRead: true, net: { headerTimeoutMs: 600, maxPerClient: 4 } });
  try {
    // A slowloris: one header line every 100 ms, never finishing.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.server.port });
    const t0 = performance.now();
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    const drip = setInterval(
      () => conn.write(new TextEncoder().encode("X-Slow: 1\r\n")).catch(() => {}),
      100,
    );
    const closedAt = await new Promise<number>((resolve) => {
      const buf = new Uint8Array(1024);
      const loop = async () => {
        try {
          while ((await conn.read(buf)) !== null) { /* drain */ }
        } catch {
          // reset by the server
        }
        resolve(performance.now() - t0);
      };
      loop();
      setTimeout(() => resolve(-1), 10_000);
    });
    clearInterval(drip);
    try {
      conn.close();
    } catch {
      // closed
    }
    assert.ok(closedAt >= 500 && closedAt < 5000, `slow client cut after ${closedAt.toFixed(0)} ms`);
    assert.equal(h.server.net.headerTimeouts, 1);
    // Four idle connections are held; the fifth is closed at once.
    const held = await Promise.all(
      Array.from({ length: 4 }, () => Deno.connect({ hostname: "127.0.0.1", port: h.server.port })),
    );
    await new Promise((r) => setTimeout(r, 100));
    const fifth = await rawRequest(h.server.port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 3000);
    assert.equal(fifth.closed, true);
    assert.equal(fifth.reply, "");
    assert.ok(h.server.net.refusedOverCap >= 1);
    for (const c of held) c.close();
    // Once they are gone the client is served again.
    await until("served again", async () => {
      const r = await rawRequest(
        h.server.port,
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        3000,
      );
      return r.reply.startsWith("HTTP/1.1 200");
    });
  } finally {
    await h.close();
  }
});

Deno.test("a hub bound beyond loopback with no user or token refuses to start, naming what to set", async () => {
  const log = new TestEventLog();
  const make = (write: string | null) =>
    createHub({
      node: "hub",
      state: new TestState(),
      events: log,
      emit: log,
      commands: new LocalCommandBus(),
      tokens: { write, spokes: {} },
      access: { log: () => {} },
    });
  const bare = make(null);
  await assert.rejects(() => bare.listen(0, "0.0.0.0"), (e: Error) => {
    assert.ok(e instanceof AccessConfigError);
    assert.equal(
      e.message,
      'Cannot start hub on 0.0.0.0: no user or token exists; set [hub] token, run "main.ts token create <name> --scope admin", or bind [hub] host = "127.0.0.1" and open the setup link',
    );
    return true;
  });
  const withToken = make("configured-secret");
  const s = await withToken.listen(0, "0.0.0.0");
  assert.ok(s.port > 0);
  await withToken.close();
});

Deno.test("python-socketio: the handshake needs a token; with a read token events arrive", async () => {
  // Debian's python3-socketio lives under /usr/bin/python3 (a pyenv shim on PATH may not see it).
  let python = "";
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    const probe = await new Deno.Command(candidate, { args: ["-c", "import socketio"], stderr: "null" })
      .output()
      .catch(() => null);
    if (probe?.success) {
      python = candidate;
      break;
    }
  }
  // tests/setup.sh installs it: a missing client is a failure, never a silent skip.
  assert.ok(python, "python3-socketio is missing: run tests/setup.sh (apt-get install python3-socketio)");
  const h = await startAuthHub();
  try {
    const token = h.mint("py", ["read"]);
    const script = `
import sys, socketio, time
url, token = sys.argv[1], sys.argv[2]
def attempt(headers, auth):
    sio = socketio.Client(reconnection=False)
    got = []
    sio.on("event", lambda e, *_offset: got.append(e["type"]))
    try:
        sio.connect(url, headers=headers, auth=auth, transports=["polling"], wait_timeout=5)
    except Exception as e:
        return "refused"
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        time.sleep(0.05)
    sio.disconnect()
    return "ok:" + ",".join(got[:3])
print(attempt({}, {}))
print(attempt({"Authorization": "Bearer nope"}, {"token": "nope"}))
print(attempt({"Authorization": "Bearer " + token}, {"token": token}))
`;
    // Readings keep coming while the client is connected (and one is in the catch-up).
    h.log.emit("reading", { id: "hub:bme680" });
    const ticker = setInterval(() => h.log.emit("reading", { id: "hub:bme680" }), 100);
    const out = await new Deno.Command(python, {
      args: ["-c", script, h.base, token],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    clearInterval(ticker);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    assert.deepEqual(lines.slice(0, 2), ["refused", "refused"], new TextDecoder().decode(out.stderr));
    assert.match(lines[2], /^ok:.*reading/);
  } finally {
    await h.close();
  }
});

Deno.test("TLS: [hub] tls_cert/tls_key serve HTTPS on the same port, and session cookies are Secure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hub-tls-" });
  try {
    // A throw-away CA and a leaf for localhost signed by it (rustls refuses a CA used as the server's cert).
    const openssl = async (...args: string[]) => {
      const r = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
        .output();
      assert.ok(r.success, `openssl ${args[0]}: ${new TextDecoder().decode(r.stderr)}`);
    };
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    await openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=test-ca",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    );
    await openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "key.pem",
      "-out",
      "leaf.csr",
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "leaf.ext",
      "-out",
      "cert.pem",
    );
    const ca = await Deno.readTextFile(`${dir}/ca.pem`);
    const cert = await Deno.readTextFile(`${dir}/cert.pem`);
    const key = await Deno.readTextFile(`${dir}/key.pem`);
    const h = await startAuthHub({ tls: { cert, key }, net: { headerTimeoutMs: 500 } });
    const client = Deno.createHttpClient({ caCerts: [ca] });
    try {
      assert.equal(h.server.protocol, "https");
      assert.match(h.server.setupLink ?? "", /^https:\/\/127\.0\.0\.1:\d+\/setup#/);
      const base = `https://localhost:${h.server.port}`;
      const health = await fetch(`${base}/health`, { client });
      assert.equal(health.status, 200);
      await health.body?.cancel();
      const res = await fetch(`${base}/auth/setup`, {
        client,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: setupTokenOf(h.lines), user: "root", password: PASSWORD }),
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.match(res.headers.get("set-cookie") ?? "", /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
      // A request whose body takes longer than the header timeout still completes over TLS.
      const tls = await Deno.connectTls(
        {
          hostname: "127.0.0.1",
          port: h.server.port,
          caCerts: [ca],
          serverName: "localhost",
        } as Deno.ConnectTlsOptions,
      );
      const body = JSON.stringify({ user: "root", password: "wrong password here" });
      const enc = new TextEncoder();
      await tls.write(
        enc.encode(
          `POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
      );
      for (const part of [body.slice(0, 10), body.slice(10, 20), body.slice(20)]) {
        await new Promise((r) => setTimeout(r, 300));
        await tls.write(enc.encode(part));
      }
      let reply = "";
      const buf = new Uint8Array(4096);
      for (let n = await tls.read(buf); n !== null; n = await tls.read(buf).catch(() => null)) {
        reply += new TextDecoder().decode(buf.subarray(0, n));
      }
      tls.close();
      assert.match(reply, /^HTTP\/1\.1 401/, "the slow-bodied request was answered, not cut");
      // Plain HTTP on the TLS port gets no API answer.
      const plain = await rawRequest(h.server.port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 3000);
      assert.doesNotMatch(plain.reply, /"ok":true/);
    } finally {
      client.close();
      await h.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("live feed by session cookie: logging out (or losing the user) disconnects the socket at once", async () => {
  const { h, admin } = await withAdmin();
  try {
    await admin.request("POST", "/api/users", { name: "vic", role: "viewer", password: PASSWORD });
    const tabs = [admin, new Tab(h.base)];
    await tabs[1].login("vic", PASSWORD);
    // Polling: Deno's WebSocket client drops a Cookie header (Chromium's is covered in tests/e2e).
    const sockets = tabs.map((t) =>
      io(h.base, { transports: ["polling"], reconnection: false, extraHeaders: { cookie: t.cookie! } })
    );
    for (const s of sockets) {
      await new Promise<void>((resolve, reject) => {
        s.once("connect", () => resolve());
        s.once("connect_error", reject);
      });
    }
    const reasons = sockets.map((s) => new Promise<string>((resolve) => s.once("disconnect", resolve)));
    // vic's user is deleted: vic's socket goes, the admin's stays.
    assert.equal((await admin.request("DELETE", "/api/users/vic")).status, 200);
    assert.equal(await reasons[1], "io server disconnect");
    assert.equal(sockets[0].connected, true);
    // The admin logs out: its socket goes too.
    const oldCookie = tabs[0].cookie!;
    assert.equal((await admin.request("POST", "/auth/logout", {})).status, 200);
    assert.equal(await reasons[0], "io server disconnect");
    // And the old cookie opens no new one.
    const again = io(h.base, {
      transports: ["polling"],
      reconnection: false,
      extraHeaders: { cookie: oldCookie },
    });
    await new Promise((resolve) => again.once("connect_error", resolve));
    again.close();
    for (const s of sockets) s.close();
  } finally {
    await h.close();
  }
});
