// The plugin table, the live event stream (filter + pause) and the per-node log viewer.
import { formatAge, formatClock, formatMs, h, setText, summarize } from "./ui.js";

const STREAM_KEEP = 1000;
const STREAM_SHOW = 200;

/** The plugin table with a reload button per plugin. */
export class PluginTable {
  constructor(table, empty, onReload) {
    this.body = table.querySelector("tbody");
    this.table = table;
    this.empty = empty;
    this.onReload = onReload;
    this.rows = new Map();
  }

  /** Replaces the table content with `/api/plugins` (rows are reused, not rebuilt). */
  update(plugins, now, nodeStatus = () => "online") {
    const keep = new Set();
    const sorted = [...plugins].sort((a, b) => a.node.localeCompare(b.node) || a.id.localeCompare(b.id));
    for (const p of sorted) {
      const key = `${p.node}/${p.id}`;
      keep.add(key);
      let row = this.rows.get(key);
      if (!row) {
        row = this.createRow(p);
        this.rows.set(key, row);
      }
      this.paintRow(row, p, now, nodeStatus(p.node));
      this.body.append(row.el); // keeps order
    }
    for (const [key, row] of this.rows) {
      if (!keep.has(key)) {
        row.el.remove();
        this.rows.delete(key);
      }
    }
    this.empty.hidden = plugins.length > 0;
    this.table.hidden = plugins.length === 0;
  }

  createRow(p) {
    const cell = (lbl, cls, ...kids) => h("td", { "data-label": lbl, class: cls }, ...kids);
    const parts = {
      version: h("small", { class: "muted" }),
      status: h("span", { class: "badge", testid: `plugin-status-${p.node}-${p.id}` }),
      restarts: h("span", { testid: `plugin-restarts-${p.node}-${p.id}` }),
      mood: h("span", { class: "mood" }),
      energyFill: h("span", { class: "meter-fill" }),
      energyText: h("small", { class: "muted" }),
      inbox: h("span"),
      cadence: h("span"),
      error: h("span", { class: "error-text", testid: `plugin-error-${p.node}-${p.id}` }),
      errorAt: h("small", { class: "muted" }),
      button: h("button", {
        type: "button",
        class: "btn btn-small",
        testid: `reload-${p.node}-${p.id}`,
        "data-act": true,
        text: "↻ reload",
        "aria-label": `reload ${p.id} on ${p.node}`,
      }),
    };
    parts.button.addEventListener("click", () => this.onReload(p.node, p.id, parts.button));
    const el = h(
      "tr",
      { testid: `plugin-${p.node}-${p.id}`, "data-node": p.node, "data-plugin": p.id },
      cell(
        "plugin",
        "plugin-name",
        h("b", { text: p.id }),
        " ",
        parts.version,
        h("small", { class: "plugin-node muted", text: `@${p.node}` }),
      ),
      cell("status", "", parts.status),
      cell("restarts", "num", parts.restarts),
      cell("mood", "", parts.mood),
      cell(
        "energy",
        "energy",
        h("span", { class: "meter", "aria-hidden": "true" }, parts.energyFill),
        " ",
        parts.energyText,
      ),
      cell("inbox", "num", parts.inbox),
      cell("cadence", "num", parts.cadence),
      cell("last error", "err", parts.error, " ", parts.errorAt),
      cell("", "actions", parts.button),
    );
    return { el, parts };
  }

  paintRow(row, p, now, nodeStatus) {
    const { parts, el } = row;
    el.dataset.status = p.status;
    // A node that stopped reporting: what we show is its last known state.
    el.dataset.nodeStatus = nodeStatus;
    el.title = nodeStatus === "online" ? "" : `${p.node} is ${nodeStatus}: last known state`;
    el.classList.toggle("has-error", !!p.lastError);
    setText(parts.version, p.version ? `v${p.version}` : "");
    setText(parts.status, p.status);
    parts.status.className = `badge badge-${p.status}`;
    setText(parts.restarts, String(p.restarts ?? 0));
    parts.restarts.className = p.restarts > 0 ? "warn-text" : "";
    const s = p.scheduler;
    setText(parts.mood, s?.mood ?? "—");
    parts.mood.className = `mood mood-${s?.mood ?? "none"}`;
    const energy = typeof s?.energy === "number" ? (s.energy > 1 ? s.energy / 100 : s.energy) : null;
    parts.energyFill.style.width = energy == null
      ? "0%"
      : `${Math.round(Math.max(0, Math.min(1, energy)) * 100)}%`;
    setText(parts.energyText, energy == null ? "—" : `${Math.round(energy * 100)}%`);
    setText(parts.inbox, s ? String(s.inboxDepth) : "—");
    setText(parts.cadence, s ? formatMs(s.cadenceMs) : "—");
    setText(parts.error, p.lastError ?? "—");
    parts.error.title = p.lastError ?? "";
    parts.error.classList.toggle("muted", !p.lastError);
    setText(parts.errorAt, p.lastErrorAt ? formatAge(now - Date.parse(p.lastErrorAt)) : "");
  }
}

/**
 * Does event type `type` pass filter `filter`? `""` = all, `"plugin."` = a family,
 * `"-cycle."` = all but a family, else one exact type.
 */
export function matches(filter, type) {
  if (!filter) return true;
  if (filter.startsWith("-")) return !type.startsWith(filter.slice(1));
  return filter.endsWith(".") ? type.startsWith(filter) : type === filter;
}

/** The live event stream: newest first, a type filter, pause (buffering while paused). */
export class EventStream {
  constructor(list, select, pauseBtn, countEl) {
    this.list = list;
    this.select = select;
    this.pauseBtn = pauseBtn;
    this.countEl = countEl;
    this.events = [];
    this.types = new Set();
    this.paused = false;
    this.pending = 0;
    this.filter = select.value;
    this.renderTimer = null;
    select.addEventListener("change", () => {
      this.filter = select.value;
      this.render();
    });
    pauseBtn.addEventListener("click", () => this.setPaused(!this.paused));
  }

  setPaused(paused) {
    this.paused = paused;
    this.pauseBtn.setAttribute("aria-pressed", String(paused));
    this.pauseBtn.textContent = paused ? "▶ resume" : "❚❚ pause";
    this.list.classList.toggle("is-paused", paused);
    if (!paused) {
      this.pending = 0;
      this.render();
    } else this.count();
  }

  /**
   * Adds one event (already de-duplicated by the caller). Live events are the newest and are
   * prepended; an older one (the catch-up after the history seed) is slotted in by time.
   */
  add(event) {
    const last = this.events[this.events.length - 1];
    const inOrder = !last || event.ts >= last.ts;
    if (inOrder) this.events.push(event);
    else {
      let i = this.events.length - 1;
      while (i > 0 && this.events[i - 1].ts > event.ts) i--;
      this.events.splice(i, 0, event);
    }
    if (this.events.length > STREAM_KEEP) this.events.splice(0, this.events.length - STREAM_KEEP);
    this.addType(event.type);
    if (!matches(this.filter, event.type)) return this.count();
    if (this.paused) {
      this.pending++;
      return this.count();
    }
    if (!inOrder) return this.scheduleRender();
    const item = this.item(event);
    item.classList.add("is-new");
    this.list.prepend(item);
    while (this.list.children.length > STREAM_SHOW) this.list.lastElementChild.remove();
    this.count();
  }

  scheduleRender() {
    if (this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.render();
    }, 50);
  }

  addType(type) {
    const family = type.includes(".") ? `${type.slice(0, type.indexOf("."))}.` : null;
    for (const value of [family, type]) {
      if (!value || this.types.has(value)) continue;
      this.types.add(value);
      const opt = h("option", { value, text: value.endsWith(".") ? `${value}* (all)` : value });
      const after = [...this.select.options].slice(2).find((o) => o.value > value);
      this.select.insertBefore(opt, after ?? null);
    }
  }

  item(e) {
    // The node an event is about: a spoke's reading is emitted by the hub but belongs to the spoke.
    const node = typeof e.data?.node === "string" ? e.data.node : e.node ?? "";
    return h(
      "li",
      { class: `ev ev-${e.type.split(".")[0]}`, testid: "event", "data-type": e.type, "data-node": node },
      h("time", { datetime: e.ts, text: formatClock(e.ts) }),
      h("span", { class: "ev-type", text: e.type }),
      h("span", { class: "ev-node", text: node, title: node === e.node ? "" : `via ${e.node}` }),
      h("span", { class: "ev-msg", text: summarize(e) }),
    );
  }

  render() {
    const shown = [];
    for (let i = this.events.length - 1; i >= 0 && shown.length < STREAM_SHOW; i--) {
      if (matches(this.filter, this.events[i].type)) shown.push(this.item(this.events[i]));
    }
    this.list.replaceChildren(...shown);
    this.count();
  }

  count() {
    const parts = [`${this.list.children.length} shown · ${this.events.length} received`];
    if (this.paused) parts.push(`paused${this.pending ? ` · ${this.pending} new` : ""}`);
    setText(this.countEl, parts.join(" · "));
  }
}

function toggleExpanded(ev) {
  ev.currentTarget.classList.toggle("is-expanded");
}

/** Log viewer: one tab per node, polling the selected node's log while it is shown. */
export class LogViewer {
  constructor(tabs, lines, fetchLogs) {
    this.tabs = tabs;
    this.lines = lines;
    this.fetchLogs = fetchLogs;
    this.node = null;
    this.nodes = [];
  }

  setNodes(ids) {
    if (ids.join() === this.nodes.join()) return;
    this.nodes = ids;
    this.tabs.replaceChildren(
      ...ids.map((id) => {
        const tab = h("button", {
          type: "button",
          role: "tab",
          class: "tab",
          testid: `log-tab-${id}`,
          text: id,
          "aria-selected": String(id === this.node),
        });
        tab.addEventListener("click", () => this.select(id));
        tab.addEventListener("keydown", (ev) => this.onKey(ev, id));
        return tab;
      }),
    );
    if (!this.node || !ids.includes(this.node)) this.select(ids[0]);
  }

  /** Arrow keys, Home and End move between tabs (WAI-ARIA tabs pattern). */
  onKey(ev, id) {
    const i = this.nodes.indexOf(id);
    const n = this.nodes.length;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1 + n, Home: 0, End: n - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    const next = this.nodes[to % n];
    this.select(next);
    [...this.tabs.children].find((t) => t.textContent === next)?.focus();
  }

  select(id) {
    if (!id) return;
    this.node = id;
    for (const tab of this.tabs.children) {
      const on = tab.textContent === id;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    this.lines.replaceChildren(h("li", { class: "muted", text: `loading ${id} log…` }));
    this.lines.dataset.node = id;
    this.refresh();
  }

  async refresh() {
    const node = this.node;
    if (!node) return;
    let data;
    try {
      data = await this.fetchLogs(node);
    } catch (err) {
      if (node === this.node) {
        this.lines.replaceChildren(h("li", { class: "error-text", text: String(err.message) }));
      }
      return;
    }
    if (node !== this.node) return;
    const stick = this.lines.scrollHeight - this.lines.scrollTop - this.lines.clientHeight < 24;
    const lines = data.lines ?? [];
    if (lines.length === 0) {
      this.lines.replaceChildren(
        h("li", { class: "muted", testid: "log-empty", text: `no log lines from ${node} yet` }),
      );
      return;
    }
    this.lines.replaceChildren(
      ...lines.map((l) =>
        h(
          "li",
          {
            class: `log-line lvl-${l.level}`,
            testid: "log-line",
            title: "click to expand",
            onclick: toggleExpanded,
          },
          h("time", { text: l.ts ? formatClock(l.ts) : "" }),
          h("span", { class: "lvl", text: l.level }),
          h("span", { class: "src", text: l.source }),
          h("span", { class: "msg", text: l.message }),
        )
      ),
    );
    if (stick) this.lines.scrollTop = this.lines.scrollHeight;
  }
}
