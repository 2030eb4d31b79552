// Login, first-run setup, logout and the admin panel. The page holds no credential: the session
// is an HttpOnly cookie, and the CSRF token comes from GET /auth/session (answered only to the
// session itself), kept in memory and sent as X-CSRF-Token on writes.
import { h, setText } from "./ui.js";

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

/** The current session as /auth/session describes it. */
export const session = { authenticated: false, role: null, scopes: [], csrf: null, public_read: false };

/** Reads /auth/session and applies it to the page (body classes, badge, buttons). */
export async function loadSession() {
  const res = await fetch("/auth/session", { cache: "no-store", headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  Object.assign(session, await res.json());
  const can = (s) => session.scopes.includes(s);
  document.body.classList.toggle("can-read", can("read"));
  document.body.classList.toggle("can-act", can("act"));
  document.body.classList.toggle("can-admin", can("admin"));
  setText($("user-badge"), session.authenticated ? `${session.user} · ${session.role ?? session.kind}` : "");
  $("logout").hidden = !session.authenticated;
  $("login-open").hidden = session.authenticated;
  return session;
}

/** Whether the page may show data at all (logged in, or readings are public). */
export function maySee() {
  return session.authenticated || session.public_read;
}

async function post(path, body) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (session.csrf) headers["x-csrf-token"] = session.csrf;
  const res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  let data = null;
  try {
    data = await res.json();
  } catch {
    // described below
  }
  if (!res.ok) throw new Error(data?.error ?? `HTTP ${res.status}`);
  return data;
}

/**
 * Shows the login (or, on /setup#<token>, the first-admin) form over the page and resolves once
 * the user is in.
 */
export function gate() {
  const setupToken = location.pathname === "/setup" ? location.hash.slice(1) : "";
  document.body.classList.add("is-gated");
  $("auth-gate").hidden = false;
  $("login-form").hidden = !!setupToken;
  $("setup-form").hidden = !setupToken;
  setText($("gate-title"), setupToken ? "first run" : "log in");
  return new Promise((resolve) => {
    const done = async () => {
      if (setupToken) history.replaceState(null, "", "/");
      await loadSession();
      $("auth-gate").hidden = true;
      document.body.classList.remove("is-gated");
      resolve();
    };
    const fail = (err) => setText($("gate-error"), `✗ ${err.message}`);
    $("login-form").onsubmit = (ev) => {
      ev.preventDefault();
      post("/auth/login", { user: $("login-user").value, password: $("login-password").value })
        .then(done, fail);
    };
    $("setup-form").onsubmit = (ev) => {
      ev.preventDefault();
      post("/auth/setup", {
        token: setupToken,
        user: $("setup-user").value,
        password: $("setup-password").value,
      })
        .then(done, fail);
    };
  });
}

/** Wires the log-in / log-out buttons. */
export function wireButtons() {
  $("logout").addEventListener("click", async () => {
    await post("/auth/logout", {}).catch(() => {});
    location.replace("/");
  });
  $("login-open").addEventListener("click", () => gate().then(() => location.reload()));
}

/** The admin panel: tokens (created secrets shown once), users, audit log. */
export class AdminPanel {
  constructor(api) {
    this.api = api;
    $("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.createToken().catch((err) => setText($("token-secret"), `✗ ${err.message}`));
    });
    $("user-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.createUser().catch((err) => setText($("user-result"), `✗ ${err.message}`));
    });
  }

  async createToken() {
    const res = await this.api("POST", "/api/tokens", {
      name: $("token-name").value,
      scopes: [$("token-scope").value],
    });
    const out = $("token-secret");
    out.className = "result is-ok";
    out.dataset.token = res.token;
    setText(out, `✓ token '${res.name}' (shown once): ${res.token}`);
    await this.refresh();
  }

  async createUser() {
    const res = await this.api("POST", "/api/users", {
      name: $("user-name").value,
      password: $("user-password").value,
      role: $("user-role").value,
    });
    setText($("user-result"), `✓ user '${res.user}' (${res.role}) added`);
    $("user-password").value = "";
    await this.refresh();
  }

  async refresh() {
    if (!session.scopes.includes("admin")) return;
    const [{ tokens }, { events }] = await Promise.all([
      this.api("GET", "/api/tokens"),
      this.api("GET", "/api/audit?limit=50"),
    ]);
    $("tokens").querySelector("tbody").replaceChildren(
      ...tokens.map((t) =>
        h(
          "tr",
          { testid: `token-${t.name}` },
          h("td", { text: `${t.name} (${t.id})` }),
          h("td", { text: t.scopes.join(", ") }),
          h("td", { text: t.lastUsed ?? "never" }),
          h(
            "td",
            {},
            h("button", {
              type: "button",
              class: "btn btn-small",
              testid: `revoke-${t.name}`,
              text: "revoke",
              onclick: () =>
                this.api("DELETE", `/api/tokens/${encodeURIComponent(t.id)}`).then(() => this.refresh()),
            }),
          ),
        )
      ),
    );
    $("audit-list").replaceChildren(
      ...events.slice().reverse().map((e) =>
        h("li", {
          class: "log-line",
          testid: "audit",
          "data-type": e.type,
          text: `${e.ts} ${e.type} ${e.data?.actor ?? ""} ${e.data?.user ?? e.data?.node ?? ""}`,
        })
      ),
    );
  }
}
