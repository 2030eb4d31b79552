/**
 * The write-endpoint table in services/hub/README.md is the contract: this test parses it, checks
 * that it lists exactly the app's write routes (a new endpoint cannot slip in unlisted), and walks
 * every row against a running hub — no credential, too little, from another origin, enough.
 *
 * @module
 */
import assert from "node:assert/strict";
import { makeSnapshot } from "../services/hub/_test_fakes.ts";
import { SPOKE, startAuthHub, Tab } from "./_hub_auth.ts";

const README = new URL("../services/hub/README.md", import.meta.url);
const PASSWORD = "correct horse battery";

interface Row {
  method: string;
  path: string;
  needs: string;
}

async function table(): Promise<Row[]> {
  const md = await Deno.readTextFile(README);
  const block = md.match(/<!-- write-endpoints:start -->([\s\S]*?)<!-- write-endpoints:end -->/)?.[1];
  assert.ok(block, "README has the write-endpoints table");
  return block.split("\n")
    .filter((l) => /^\|\s*(POST|PUT|PATCH|DELETE|ALL)\s*\|/.test(l))
    .map((l) => {
      const [method, path, needs] = l.split("|").slice(1, 4).map((c) => c.trim().replaceAll("`", ""));
      return { method, path, needs };
    });
}

/** A body that passes validation, so that only access decides. */
function sample(path: string): unknown {
  if (path === "/api/buzzer") return { pattern: "single" };
  if (path === "/api/leds") return { index: 0, r: 1, g: 2, b: 3 };
  if (path === "/api/name") return { name: "Ember" };
  if (path === "/api/users") return { name: "newbie", role: "viewer", password: PASSWORD };
  if (path === "/api/tokens") return { name: "walker", scopes: ["read"] };
  if (path === "/push") return { node: "pi4", snapshots: [makeSnapshot("pi4")] };
  if (path === "/push/results") return { node: "pi4", results: [{ id: "c1", ok: true }] };
  if (path === "/mcp") {
    return {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-03-26",
        capabilities: {},
        clientInfo: { name: "walker", version: "1" },
      },
    };
  }
  return {};
}

const concrete = (path: string) =>
  path.replace(":id/reload", "bme680/reload").replace(":name", "nobody").replace(":id", "nothing");

Deno.test("every write route of the app is in the README table, and each row holds against a running hub", async () => {
  const rows = await table();
  assert.ok(rows.length >= 10, `parsed ${rows.length} rows`);
  const h = await startAuthHub();
  try {
    // 1. The table lists exactly the write routes the app has.
    const routes = new Set(
      h.hub.app.routes
        .filter((r) => !["GET", "HEAD", "OPTIONS"].includes(r.method) && r.path !== "*" && r.path !== "/*")
        .map((r) => `${r.method} ${r.path}`),
    );
    const listed = new Set(rows.map((r) => `${r.method} ${r.path}`));
    assert.deepEqual(
      [...routes].filter((r) => !listed.has(r)),
      [],
      "write routes missing from the README table",
    );
    assert.deepEqual([...listed].filter((r) => !routes.has(r)), [], "README rows without a route");

    // 2. Principals of every kind.
    const admin = new Tab(h.base);
    const setup = h.lines.join("").match(/#(\S+)/)![1];
    assert.equal(
      (await admin.request("POST", "/auth/setup", { token: setup, user: "root", password: PASSWORD })).status,
      200,
    );
    await admin.login("root", PASSWORD);
    for (const [name, role] of [["olga", "operator"], ["vic", "viewer"]]) {
      assert.equal(
        (await admin.request("POST", "/api/users", { name, role, password: PASSWORD })).status,
        200,
      );
    }
    const operator = new Tab(h.base);
    await operator.login("olga", PASSWORD);
    const viewer = new Tab(h.base);
    await viewer.login("vic", PASSWORD);
    const tokens = {
      read: h.mint("t-read", ["read"]),
      act: h.mint("t-act", ["act"]),
      admin: h.mint("t-admin", ["admin"]),
      push: h.mint("t-push", ["push:elsewhere"]),
    };
    const withToken = (token: string | null, method: string, path: string, body: unknown) =>
      fetch(`${h.base}${path}`, {
        method: method === "ALL" ? "POST" : method,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      }).then(async (r) => (await r.body?.cancel(), r.status));
    const asTab = (
      tab: Tab,
      method: string,
      path: string,
      body: unknown,
      extra: Record<string, string> = {},
    ) => tab.request(method === "ALL" ? "POST" : method, path, body, extra).then((r) => r.status);
    const refused = (s: number) => s === 401 || s === 403;

    // 3. Walk each row.
    for (const row of rows) {
      const path = concrete(row.path);
      const body = sample(row.path);
      const at = `${row.method} ${row.path} (needs ${row.needs})`;
      const anon = await withToken(null, row.method, path, body);
      switch (row.needs) {
        case "act":
        case "admin": {
          assert.equal(anon, 401, `${at}: anonymous`);
          const tooLittle = row.needs === "act" ? [tokens.read, tokens.push] : [tokens.read, tokens.act];
          for (const t of tooLittle) {
            assert.equal(await withToken(t, row.method, path, body), 403, `${at}: too little`);
          }
          const weakTab = row.needs === "act" ? viewer : operator;
          assert.equal(await asTab(weakTab, row.method, path, body), 403, `${at}: weak session`);
          const strongTab = row.needs === "act" ? operator : admin;
          // A session cookie from another origin, or without the CSRF header, cannot act.
          assert.equal(
            await asTab(strongTab, row.method, path, body, { origin: "http://evil.example" }),
            403,
            `${at}: cross-origin`,
          );
          assert.equal(
            await asTab(strongTab, row.method, path, body, { "x-csrf-token": "" }),
            403,
            `${at}: no CSRF`,
          );
          const ok1 = await asTab(strongTab, row.method, path, body);
          assert.ok(!refused(ok1), `${at}: allowed session got ${ok1}`);
          const ok2 = await withToken(
            row.needs === "act" ? tokens.act : tokens.admin,
            row.method,
            path,
            body,
          );
          assert.ok(!refused(ok2), `${at}: allowed token got ${ok2}`);
          break;
        }
        case "push:node": {
          assert.equal(anon, 401, `${at}: anonymous`);
          for (const t of [tokens.read, tokens.admin, tokens.push]) {
            assert.ok(refused(await withToken(t, row.method, path, body)), `${at}: not a pi4 push token`);
          }
          const ok = await withToken(SPOKE, row.method, path, body);
          assert.ok(!refused(ok), `${at}: spoke token got ${ok}`);
          break;
        }
        case "read": {
          assert.equal(anon, 401, `${at}: anonymous`);
          assert.equal(await withToken(tokens.push, row.method, path, body), 403, `${at}: push token`);
          assert.equal(await asTab(admin, row.method, path, body), 403, `${at}: a session is not a token`);
          const ok = await withToken(tokens.read, row.method, path, body);
          assert.ok(!refused(ok), `${at}: read token got ${ok}`);
          break;
        }
        case "public":
        case "setup link": {
          const foreign = await asTab(new Tab(h.base), row.method, path, body, {
            origin: "http://evil.example",
          });
          assert.equal(foreign, 403, `${at}: foreign origin`);
          if (row.needs === "setup link") assert.equal(anon, 400, `${at}: used/absent link`);
          break;
        }
        case "session": {
          const tab = new Tab(h.base);
          await tab.login("vic", PASSWORD);
          assert.equal(
            await asTab(tab, row.method, path, body, { "x-csrf-token": "" }),
            403,
            `${at}: no CSRF`,
          );
          assert.equal(await asTab(tab, row.method, path, body), 200, `${at}: own session`);
          break;
        }
        default:
          assert.fail(`${at}: unknown requirement '${row.needs}' in the README table`);
      }
    }
  } finally {
    await h.close();
  }
});
