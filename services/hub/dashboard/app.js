// HARVESTER dashboard: loads the current state over the hub API, then follows the socket.io
// event feed. No build step, no external requests: everything comes from /assets/.
import { io } from "./vendor/socket.io.esm.min.js";
import { AdminPanel, gate, loadSession, maySee, session, wireButtons } from "./auth.js";
import { NodeBoard } from "./nodes.js";
import { HistoryView } from "./history.js";
import { EventStream, LogViewer, PluginTable } from "./panels.js";
import { formatAge, formatClock, h, setText } from "./ui.js";

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const REFRESH_MS = 4000;
const SEEN_KEEP = 4000;

let clockOffset = 0; // server time − browser time, from /api/readings
const now = () => Date.now() + clockOffset;

/** Calls the hub API; throws an Error with the hub's own message on a non-2xx answer. */
async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  // The session cookie rides along by itself; writes add the session's CSRF token.
  if (method !== "GET" && session.csrf) headers["x-csrf-token"] = session.csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    // non-JSON answer; described below
  }
  if (!res.ok) {
    const msg = data?.error ?? `HTTP ${res.status}`;
    const where = data?.field ? ` (${data.field}${data.problem ? `: ${data.problem}` : ""})` : "";
    throw new Error(`${msg}${where}`);
  }
  return data;
}

let historyView = null;
const board = new NodeBoard($("nodes"), now, setLed, (record) => {
  historyView ??= new HistoryView(api);
  historyView.open(record).catch((err) => console.warn("history:", err));
});
const stream = new EventStream($("event-list"), $("event-filter"), $("event-pause"), $("event-count"));
const plugins = new PluginTable($("plugins"), $("plugins-empty"), reloadPlugin);
const logs = new LogViewer(
  $("log-tabs"),
  $("log-lines"),
  (node) => api("GET", `/api/logs?node=${encodeURIComponent(node)}`),
);
const admin = new AdminPanel(api);
const canRead = () => session.scopes.includes("read");
const seen = new Set();
let lastEventTs = null;
let loaded = false;

// ---- connection state -------------------------------------------------------------------

function setConnection(state, text) {
  const el = $("connection");
  el.dataset.state = state;
  setText(el.querySelector(".conn-text"), text);
  const banner = $("disconnected-banner");
  banner.hidden = state !== "disconnected";
  if (state === "disconnected") setText(banner.querySelector(".banner-text"), text);
  document.body.classList.toggle("is-disconnected", state === "disconnected");
}

// ---- events -----------------------------------------------------------------------------

/** Handles one envelope from the feed or the seed; duplicates (catch-up after seed) are skipped. */
function onEvent(e, { live = true } = {}) {
  if (!e || typeof e.type !== "string") return;
  const key = e.id ?? `${e.type}|${e.ts}|${e.node}|${e.cycle}`;
  if (seen.has(key)) return;
  seen.add(key);
  if (seen.size > SEEN_KEEP) seen.delete(seen.values().next().value);
  if (!lastEventTs || e.ts > lastEventTs) lastEventTs = e.ts;
  stream.add(e);
  const d = e.data ?? {};
  switch (e.type) {
    case "reading":
      board.applyReading(d, live ? { stale: false } : {});
      break;
    case "buzzer":
      // only a buzzer that sounds now, not one from the catch-up after connecting
      if (live && now() - Date.parse(e.ts) < 5000) board.ring(d.node ?? e.node, d.pattern);
      break;
    case "led.sync":
      if (Array.isArray(d.leds)) board.setLeds(d.node ?? e.node, d.leds);
      break;
    case "node.online":
    case "node.offline":
    case "node.stale": {
      const id = d.node ?? d.id ?? e.node;
      board.setNodeStatus(id, d.status ?? e.type.slice(5));
      scheduleRefresh();
      break;
    }
    default:
      if (e.type.startsWith("plugin.") || e.type === "scheduler.mood") scheduleRefresh();
  }
  updateSummary();
}

// ---- state refresh ----------------------------------------------------------------------

let refreshTimer = null;
/** Coalesces refresh requests caused by bursts of events. */
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refresh().catch(() => {});
  }, 300);
}

async function refresh() {
  const [r, n, p] = await Promise.all([
    api("GET", "/api/readings"),
    api("GET", "/api/nodes"),
    canRead() ? api("GET", "/api/plugins") : { plugins: [] },
  ]);
  const serverTs = Date.parse(r.timestamp);
  if (Number.isFinite(serverTs)) clockOffset = serverTs - Date.now();
  board.retain((n.nodes ?? []).map((node) => node.id));
  for (const node of n.nodes ?? []) board.upsertNode(node);
  for (const rec of r.readings ?? []) board.applyReading(rec, { stale: !!rec.stale });
  board.applyStale(r.readings ?? []);
  plugins.update(p.plugins ?? [], now(), (id) => board.nodes.get(id)?.info.status ?? "online");
  board.setPlugins(p.plugins ?? []);
  const ids = board.ids();
  if (canRead()) logs.setNodes(ids);
  fillNodeSelect(ids);
  updateSummary();
  $("nodes-empty").hidden = ids.length > 0;
}

/** Fills the sparklines: the last 30 minutes from the hub's recorder, else recent reading events. */
async function seedHistory() {
  let fromRecorder = false;
  try {
    const ids = [...board.cards.keys()];
    const answers = await Promise.all(
      ids.map((id) =>
        api("GET", `/api/history?sensor=${encodeURIComponent(id)}&from=-30m`).catch(() => null)
      ),
    );
    answers.forEach((a, i) => {
      for (const f of a?.fields ?? []) {
        fromRecorder = true;
        const [node, sensor] = ids[i].split(":");
        for (const b of f.buckets) {
          board.pushHistory({ id: ids[i], node, sensor, values: { [f.field]: b.mean } }, b.t);
        }
      }
    });
  } catch {
    // no recorder on this hub: the event log below
  }
  if (!fromRecorder && canRead()) {
    const { events } = await api("GET", "/api/events?type=reading&limit=1000");
    for (const e of events ?? []) onEvent(e, { live: false });
  }
  board.redraw();
}

async function load() {
  try {
    await loadSession();
    if (!maySee() || location.pathname === "/setup") await gate();
    await refresh();
    admin.refresh().catch(() => {});
    await seedHistory();
    loaded = true;
    $("loading").hidden = true;
    connect();
  } catch (err) {
    const el = $("loading");
    el.classList.add("is-error");
    setText(el, `Cannot load from the hub: ${err.message}. Retrying…`);
    setTimeout(load, 3000);
  }
}

// ---- live feed --------------------------------------------------------------------------

let socket = null;
function connect() {
  // Same origin: the session cookie authenticates the handshake (no token in the page).
  // batch: the hub sends each short window's events as one `events` array (fewer writes).
  socket = io({ reconnectionDelayMax: 4000, auth: { batch: true } });
  setConnection("connecting", "connecting…");
  socket.on("connect", () => {
    authRetries = 0;
    setConnection("connected", "live");
    refresh().catch(() => {});
  });
  socket.on("event", (e) => onEvent(e));
  socket.on("events", (list) => {
    for (const e of Array.isArray(list) ? list : []) onEvent(e);
  });
  socket.on("lagging", () => setConnection("connected", "live (falling behind; the hub will reconnect us)"));
  socket.on("feed_error", (e) => console.warn("live feed:", e?.error));
  socket.on("disconnect", (reason) => {
    setConnection("disconnected", `disconnected (${reason}); reconnecting…`);
    // The server dropped us on purpose (e.g. lagging): socket.io will not retry by itself.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  let authRetries = 0;
  socket.on("connect_error", (err) => {
    setConnection("disconnected", `cannot connect: ${err.message}; retrying…`);
    // A refusal by the hub's auth middleware is final for socket.io (socket.active is false):
    // the session ended (logout elsewhere, expiry, revoked user): ask again, log in if needed.
    if (!socket.active) {
      const delay = Math.min(10000, 1000 * 2 ** authRetries++);
      setTimeout(async () => {
        await loadSession().catch(() => {});
        if (!maySee()) await gate();
        socket.connect();
      }, delay);
    }
  });
  socket.io.on("reconnect_attempt", (n) => setConnection("disconnected", `reconnecting (attempt ${n})…`));
}

// ---- controls ---------------------------------------------------------------------------

function fillNodeSelect(ids) {
  const select = $("buzzer-node");
  const want = ["", ...ids].join();
  if ([...select.options].map((o) => o.value).join() === want) return;
  const current = select.value;
  select.replaceChildren(
    h("option", { value: "", text: "buzzer owner (auto)" }),
    ...ids.map((id) => h("option", { value: id, text: id })),
  );
  if (ids.includes(current)) select.value = current;
}

const PATTERN_NAMES = { single: "beep", triple: "beep ×3", long: "long beep" };

async function buzz(pattern, button) {
  const out = $("buzzer-result");
  const node = $("buzzer-node").value;
  button.disabled = true;
  out.className = "result is-pending";
  setText(out, `sending ${PATTERN_NAMES[pattern]}…`);
  try {
    const res = await api("POST", "/api/buzzer", node ? { pattern, node } : { pattern });
    out.className = res?.ok === false ? "result is-error" : "result is-ok";
    out.dataset.outcome = res?.ok === false ? "error" : "ok";
    setText(
      out,
      `${res?.ok === false ? "✗" : "✓"} ${PATTERN_NAMES[pattern]} on ${res?.node ?? (node || "hub")} · ${
        formatClock(new Date().toISOString())
      }${describeResult(res?.result)}`,
    );
  } catch (err) {
    out.className = "result is-error";
    out.dataset.outcome = "error";
    setText(out, `✗ ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

/** `POST /api/leds` from a colour picked for one LED dot. */
async function setLed(node, index, hex, out) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  out.className = "result led-result is-pending";
  setText(out, `setting LED ${index} to ${hex}…`);
  try {
    await api("POST", "/api/leds", { index, r, g, b, node });
    out.className = "result led-result is-ok";
    out.dataset.outcome = "ok";
    setText(out, `✓ LED ${index} ← ${hex}`);
    scheduleRefresh();
  } catch (err) {
    out.className = "result led-result is-error";
    out.dataset.outcome = "error";
    setText(out, `✗ LED ${index}: ${err.message}`);
  }
}

function describeResult(result) {
  if (result == null || result === true) return "";
  if (typeof result === "string") return ` · ${result}`;
  if (typeof result === "object" && typeof result.error === "string") return ` · ${result.error}`;
  return "";
}

async function reloadPlugin(node, id, button) {
  const out = $("plugin-result");
  button.disabled = true;
  setText(out, `reloading ${id} on ${node}…`);
  out.className = "result is-pending";
  try {
    await api("POST", `/api/plugins/${encodeURIComponent(id)}/reload`, { node });
    out.className = "result is-ok";
    out.dataset.outcome = "ok";
    setText(out, `✓ reload of ${id} on ${node} requested · ${formatClock(new Date().toISOString())}`);
    scheduleRefresh();
  } catch (err) {
    out.className = "result is-error";
    out.dataset.outcome = "error";
    setText(out, `✗ ${id}: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

for (const button of document.querySelectorAll("[data-pattern]")) {
  button.addEventListener("click", () => buzz(button.dataset.pattern, button));
}

// ---- summary and clocks -----------------------------------------------------------------

function updateSummary() {
  const ids = board.ids();
  const offline = ids.filter((id) => board.nodes.get(id).info.status !== "online").length;
  setText($("summary-nodes"), offline ? `${ids.length - offline}/${ids.length} up` : `${ids.length}`);
  $("summary-nodes").classList.toggle("warn-text", offline > 0);
  setText($("summary-readings"), String(board.cards.size));
  const bad = [...plugins.rows.values()].filter((r) => r.el.dataset.status !== "running").length;
  setText(
    $("summary-plugins"),
    bad ? `${plugins.rows.size} (${bad} not running)` : String(plugins.rows.size),
  );
  $("summary-plugins").classList.toggle("warn-text", bad > 0);
  setText($("summary-last"), lastEventTs ? formatAge(now() - Date.parse(lastEventTs)) : "–");
}

setInterval(() => {
  board.tick();
  setText($("summary-last"), lastEventTs ? formatAge(now() - Date.parse(lastEventTs)) : "–");
  setText($("clock"), formatClock(new Date(now()).toISOString()));
}, 1000);

setInterval(() => {
  if (!loaded) return;
  refresh().catch(() => {});
  if (canRead()) logs.refresh();
  admin.refresh().catch(() => {});
}, REFRESH_MS);

wireButtons();
load();
