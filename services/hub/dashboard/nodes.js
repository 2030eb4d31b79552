// Node panels: status, LED strip, virtual OLED, identity, and a card per sensor with values,
// units, age and sparklines (IAQ as a gauge).
import { createIaqGauge, createSparkline, drawIaqGauge, drawOled, drawSparkline } from "./charts.js";
import { formatAge, formatValue, h, label, setText } from "./ui.js";

/** LEDs drawn before a node's buffer length is known (the reference strip has 11). */
const LED_COUNT = 11;
const HISTORY_POINTS = 200;
/** Keys folded into another row or shown elsewhere (gauge, card title). */
const FOLDED = new Set(["iaq", "iaq_status", "memory_total_mb", "name", "creature_id"]);
/** Counters and clocks: a sparkline of them says nothing. */
const NO_SPARK = new Set(["uptime_seconds", "awakenings"]);
/** The creature's four dimensions, each 0–1: drawn as meters. */
const METERS = new Set(["warmth", "clarity", "stability", "presence"]);
/** Environment first, then the board, then the creature; other sensors by name after them. */
const SENSOR_RANK = { bme680: 0, dht22: 1, system: 2, anima: 3 };
const sortKey = (sensor) => `${SENSOR_RANK[sensor] ?? 9}|${sensor}`;

/** Renders and updates every node section inside `root`. */
export class NodeBoard {
  /**
   * @param root the `[data-testid=nodes]` container; `now()` gives server time in ms;
   * `onSetLed(node, index, "#rrggbb", outputEl)` is called when someone picks an LED colour.
   */
  constructor(root, now, onSetLed, onHistory = () => {}) {
    this.root = root;
    this.now = now;
    this.onSetLed = onSetLed;
    this.onHistory = onHistory;
    this.nodes = new Map(); // id -> { info, el, parts }
    this.cards = new Map(); // reading id -> { record, el, rows, ageEl, gauge }
    this.history = new Map(); // `${readingId}|${key}` -> [{ t, v }]
  }

  /** Node ids in display order: hubs first, then by name. */
  ids() {
    return [...this.nodes.keys()].sort((a, b) => {
      const ra = this.nodes.get(a).info.role === "hub" ? 0 : 1;
      const rb = this.nodes.get(b).info.role === "hub" ? 0 : 1;
      return ra - rb || a.localeCompare(b);
    });
  }

  /** Applies a `/api/nodes` entry (or a partial one from an event). */
  upsertNode(info) {
    let node = this.nodes.get(info.id);
    if (!node) {
      node = this.createNode(info.id);
      this.nodes.set(info.id, node);
    }
    node.info = { ...node.info, ...info };
    this.paintNode(node);
    this.order();
    return node;
  }

  /** Marks a node's status from a `node.online` / `node.offline` event. */
  setNodeStatus(id, status) {
    const node = this.nodes.get(id) ?? this.upsertNode({ id });
    node.info.status = status;
    this.paintNode(node);
  }

  /** Mirrors an LED buffer (`led.sync`). */
  setLeds(id, leds) {
    const node = this.nodes.get(id) ?? this.upsertNode({ id });
    node.info.leds = leds;
    this.paintLeds(node);
  }

  createNode(id) {
    const dot = h("span", { class: "node-dot", "aria-hidden": "true" });
    const status = h("span", { class: "badge", testid: `node-status-${id}` });
    const bell = h("span", { class: "bell", testid: `node-bell-${id}`, hidden: true, "aria-live": "polite" });
    const role = h("span", { class: "node-role" });
    const seen = h("span", { class: "node-seen muted", testid: `node-seen-${id}` });
    const pluginsInfo = h("span", { class: "node-plugins muted", testid: `node-plugins-${id}` });
    const leds = h("div", { class: "leds", testid: `leds-${id}`, role: "group", "aria-label": "LED strip" });
    // One colour input per node; a dot opens it for its own index.
    const picker = h("input", {
      type: "color",
      class: "led-picker",
      testid: `led-picker-${id}`,
      tabindex: "-1",
      "data-act": true,
    });
    const ledResult = h("output", {
      class: "result led-result",
      testid: `led-result-${id}`,
      "aria-live": "polite",
    });
    picker.addEventListener("change", () => {
      const index = Number(picker.dataset.index);
      if (Number.isInteger(index)) this.onSetLed?.(id, index, picker.value, ledResult);
    });
    this.fillLeds(leds, picker, LED_COUNT);
    const oled = h("canvas", {
      class: "oled",
      width: 128,
      height: 64,
      testid: `oled-${id}`,
      "aria-label": "OLED",
    });
    const oledWrap = h(
      "figure",
      { class: "oled-wrap", hidden: true },
      oled,
      h("figcaption", { text: "ssd1306" }),
    );
    const identity = h("span", { class: "identity muted", testid: `identity-${id}` });
    const cards = h("div", { class: "cards" });
    const el = h(
      "section",
      { class: "node", testid: `node-${id}`, "data-node": id, "aria-label": `node ${id}` },
      h("header", { class: "node-head" }, dot, h("h3", { text: id }), role, status, bell, pluginsInfo, seen),
      h(
        "div",
        { class: "node-hw" },
        h("div", { class: "leds-wrap" }, leds, picker, identity, ledResult),
        oledWrap,
      ),
      cards,
    );
    this.root.append(el);
    return {
      info: { id, status: "online" },
      el,
      parts: { status, bell, pluginsInfo, role, seen, leds, picker, oled, oledWrap, identity, cards },
    };
  }

  order() {
    const ids = this.ids();
    ids.forEach((id, i) => {
      const el = this.nodes.get(id).el;
      if (this.root.children[i] !== el) this.root.insertBefore(el, this.root.children[i] ?? null);
    });
  }

  paintNode(node) {
    const { info, el, parts } = node;
    const status = info.status ?? "online";
    el.dataset.status = status;
    setText(parts.status, status);
    parts.status.className = `badge badge-${status}`;
    setText(parts.role, info.role ?? "");
    if (info.identity?.name) {
      setText(parts.identity, `${info.identity.name} · awakened ${info.identity.awakenings ?? 0}×`);
    }
    this.paintLeds(node);
    if (typeof info.oled === "string" && info.oled.length > 0) {
      parts.oledWrap.hidden = false;
      if (parts.oled.dataset.src !== info.oled) {
        drawOled(parts.oled, info.oled);
        parts.oled.dataset.src = info.oled;
      }
    } else {
      parts.oledWrap.hidden = true;
    }
    for (const card of this.cards.values()) {
      if (card.record.node === info.id) this.paintCardStatus(card);
    }
    this.tickNode(node);
  }

  /** (Re)creates `count` LED dots, each a button opening the colour picker for its index. */
  fillLeds(strip, picker, count) {
    const dots = [];
    for (let i = 0; i < count; i++) {
      const dot = h("button", {
        type: "button",
        class: "led off",
        testid: "led",
        "data-index": i,
        "data-color": "#000000",
        "aria-label": `LED ${i}: off; set colour`,
      });
      dot.addEventListener("click", () => {
        picker.dataset.index = String(i);
        picker.value = dot.dataset.color;
        try {
          picker.showPicker();
        } catch {
          picker.click(); // older browsers
        }
      });
      dots.push(dot);
    }
    strip.replaceChildren(...dots);
  }

  paintLeds(node) {
    const leds = Array.isArray(node.info.leds) ? node.info.leds : [];
    // The strip is as long as the node's buffer (`[leds] count`); 11 until it is known.
    if (leds.length > 0 && leds.length !== node.parts.leds.children.length) {
      this.fillLeds(node.parts.leds, node.parts.picker, leds.length);
    }
    const dots = node.parts.leds.children;
    for (let i = 0; i < dots.length; i++) {
      const color = /^#[0-9a-f]{6}$/i.test(leds[i] ?? "") ? leds[i].toLowerCase() : "#000000";
      const dot = dots[i];
      if (dot.dataset.color === color) continue;
      dot.dataset.color = color;
      dot.title = `LED ${i}: ${color} (click to set)`;
      dot.setAttribute("aria-label", `LED ${i}: ${color}; set colour`);
      const off = color === "#000000";
      dot.classList.toggle("off", off);
      dot.style.backgroundColor = off ? "" : color;
      dot.style.boxShadow = off ? "" : `0 0 6px 1px ${color}, 0 0 14px 2px ${color}66`;
    }
  }

  /** Repaints every card (after the history seed filled the sparklines). */
  redraw() {
    for (const card of this.cards.values()) this.paintCard(card);
  }

  /** Summarises a node's plugins in its header: all fine, or which ones are not running. */
  setPlugins(plugins) {
    for (const [id, node] of this.nodes) {
      const mine = plugins.filter((p) => p.node === id);
      const el = node.parts.pluginsInfo;
      const bad = mine.filter((p) => p.status !== "running");
      el.classList.toggle("warn-text", bad.length > 0);
      el.classList.toggle("error-text", bad.some((p) => p.status === "quarantined"));
      el.classList.toggle("muted", bad.length === 0);
      if (mine.length === 0) setText(el, "");
      else if (bad.length === 0) setText(el, `${mine.length} plugins running`);
      else {
        const names = bad.slice(0, 3).map((p) => `${p.id} ${p.status}`).join(", ");
        setText(
          el,
          `${mine.length - bad.length}/${mine.length} running · ${names}${bad.length > 3 ? " …" : ""}`,
        );
      }
    }
  }

  /** Shows for a moment that the node's buzzer sounded. */
  ring(id, pattern) {
    const node = this.nodes.get(id);
    if (!node) return;
    const bell = node.parts.bell;
    bell.textContent = `♪ ${pattern ?? "beep"}`;
    bell.hidden = false;
    clearTimeout(node.bellTimer);
    node.bellTimer = setTimeout(() => (bell.hidden = true), pattern === "long" ? 4000 : 2500);
  }

  /** Updates relative times (called every second). */
  tick() {
    for (const node of this.nodes.values()) this.tickNode(node);
    for (const card of this.cards.values()) {
      const t = Date.parse(card.record.timestamp);
      setText(card.ageEl, formatAge(this.now() - t));
    }
  }

  tickNode(node) {
    const { info, parts } = node;
    const seen = info.lastSeen ? formatAge(this.now() - Date.parse(info.lastSeen)) : "";
    const text = [seen && `seen ${seen}`, info.cycle != null && `cycle ${info.cycle}`].filter(Boolean).join(
      " · ",
    );
    setText(parts.seen, text);
  }

  /** Adds one reading record (from `/api/readings`, the event seed or a live `reading` event). */
  applyReading(record, { stale } = {}) {
    if (!record || typeof record.id !== "string" || !record.values) return;
    const node = record.node ?? record.id.split(":")[0];
    if (!this.nodes.has(node)) this.upsertNode({ id: node });
    let card = this.cards.get(record.id);
    const prevTs = card ? Date.parse(card.record.timestamp) : -Infinity;
    const t = Date.parse(record.timestamp);
    this.pushHistory(record, t);
    if (card && t < prevTs) return; // an older reading from the seed; history only
    if (!card) {
      card = this.createCard({ ...record, node });
      this.cards.set(record.id, card);
    }
    card.record = { ...record, node, stale: stale ?? (t > prevTs ? false : card.record.stale) };
    this.paintCard(card);
  }

  /** Records numeric values of a reading into the sparkline history. */
  pushHistory(record, t) {
    if (!Number.isFinite(t)) return;
    for (const [key, v] of Object.entries(record.values)) {
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      const hk = `${record.id}|${key}`;
      let list = this.history.get(hk);
      if (!list) this.history.set(hk, list = []);
      const last = list[list.length - 1];
      if (last && t === last.t) last.v = v;
      else if (!last || t > last.t) list.push({ t, v });
      else {
        // out of order (seed after live): insert in place, once
        const i = list.findIndex((p) => p.t >= t);
        if (list[i].t !== t) list.splice(i, 0, { t, v });
      }
      if (list.length > HISTORY_POINTS) list.splice(0, list.length - HISTORY_POINTS);
    }
  }

  createCard(record) {
    const ageEl = h("span", { class: "age", testid: `age-${record.id.replace(":", "-")}` });
    const historyBtn = h("button", {
      type: "button",
      class: "card-history",
      testid: `history-${record.node}-${record.sensor}`,
      title: "history: charts over 1 h … 1 y",
      "aria-label": `history of ${record.sensor}`,
      text: "⌁ history",
      onclick: () => this.onHistory(this.cards.get(record.id)?.record ?? record),
    });
    const subtitle = h("span", { class: "card-sub muted" });
    const metrics = h("ul", { class: "metrics" });
    const el = h(
      "article",
      { class: "card", testid: `card-${record.node}-${record.sensor}`, "data-sort": sortKey(record.sensor) },
      h(
        "header",
        { class: "card-head" },
        h("h4", { text: record.sensor }),
        subtitle,
        h("span", { class: "stamp", "aria-hidden": "true" }),
        ageEl,
        historyBtn,
      ),
      metrics,
    );
    const card = { record, el, rows: new Map(), ageEl, subtitle, metrics, gauge: null };
    const nodeEl = this.nodes.get(record.node).parts.cards;
    // a stable layout: cards in a fixed order whatever order the readings arrive in
    const after = [...nodeEl.children].find((c) => c.dataset.sort > el.dataset.sort);
    nodeEl.insertBefore(el, after ?? null);
    return card;
  }

  paintCard(card) {
    const r = card.record;
    const prefix = `${r.node}-${r.sensor}`;
    const plugin = r.plugin && r.plugin !== r.sensor ? r.plugin : "";
    const name = typeof r.values.name === "string" ? r.values.name : "";
    setText(card.subtitle, [name, plugin].filter(Boolean).join(" · "));
    card.el.dataset.timestamp = r.timestamp;
    if (typeof r.values.iaq === "number") {
      if (!card.gauge) {
        card.gauge = createIaqGauge(`iaq-${r.node}`);
        card.el.insertBefore(h("div", { class: "gauge-wrap" }, card.gauge), card.metrics);
      }
      drawIaqGauge(card.gauge, r.values.iaq, r.values.iaq_status);
    }
    for (const [key, value] of Object.entries(r.values)) {
      if (FOLDED.has(key)) continue;
      let row = card.rows.get(key);
      if (!row) {
        row = this.createRow(card, key, prefix, typeof value === "number");
        card.rows.set(key, row);
      }
      let { text, unit } = formatValue(key, value, r.units?.[key]);
      if (key === "memory_used_mb" && typeof r.values.memory_total_mb === "number") {
        text = String(Math.round(value));
        unit = `/ ${Math.round(r.values.memory_total_mb)} ${r.units?.memory_used_mb ?? "MB"}`;
        row.meter ??= this.addMeter(row);
        row.meter.style.width = `${Math.min(100, (100 * value) / r.values.memory_total_mb).toFixed(1)}%`;
      } else if (METERS.has(key) && typeof value === "number" && value >= 0 && value <= 1) {
        row.meter ??= this.addMeter(row);
        row.meter.style.width = `${(value * 100).toFixed(1)}%`;
      }
      setText(row.value, text);
      row.value.title = typeof value === "string" ? value : "";
      setText(row.unit, unit);
      row.el.classList.toggle(
        "alarm",
        key === "alarm" && value !== false && value !== "none" && value !== null,
      );
      if (row.spark) drawSparkline(row.spark, this.history.get(`${r.id}|${key}`) ?? [], r.units?.[key]);
    }
    this.paintCardStatus(card);
    setText(card.ageEl, formatAge(this.now() - Date.parse(r.timestamp)));
  }

  createRow(card, key, prefix, numeric) {
    const value = h("b", { class: "metric-value", testid: `value-${prefix}-${key}` });
    const unit = h("small", { class: "metric-unit" });
    const spark = numeric && !NO_SPARK.has(key) ? createSparkline(`spark-${prefix}-${key}`) : null;
    const el = h(
      "li",
      { class: "metric", "data-key": key },
      h("span", { class: "metric-label", text: label(key) }),
      h("span", { class: "metric-reading" }, value, unit),
      spark,
    );
    card.metrics.append(el);
    return { el, value, unit, spark, meter: null };
  }

  addMeter(row) {
    const fill = h("span", { class: "meter-fill" });
    row.el.append(h("span", { class: "meter", "aria-hidden": "true" }, fill));
    return fill;
  }

  paintCardStatus(card) {
    const nodeStatus = this.nodes.get(card.record.node)?.info.status ?? "online";
    const status = nodeStatus === "offline"
      ? "offline"
      : nodeStatus === "stale" || card.record.stale
      ? "stale"
      : "online";
    card.el.dataset.status = status;
    card.el.querySelector(".stamp").textContent = status === "online" ? "" : status;
  }

  /** Forgets nodes the hub no longer knows (e.g. after a hub restart). */
  retain(ids) {
    const keep = new Set(ids);
    for (const [id, node] of this.nodes) {
      if (keep.has(id)) continue;
      node.el.remove();
      this.nodes.delete(id);
      for (const [rid, card] of this.cards) {
        if (card.record.node === id) this.cards.delete(rid);
      }
      for (const key of this.history.keys()) {
        if (key.startsWith(`${id}:`)) this.history.delete(key);
      }
    }
  }

  /** Marks readings stale/fresh from a `/api/readings` answer. */
  applyStale(records) {
    for (const r of records) {
      const card = this.cards.get(r.id);
      if (card && card.record.stale !== r.stale) {
        card.record.stale = !!r.stale;
        this.paintCardStatus(card);
      }
    }
  }
}
