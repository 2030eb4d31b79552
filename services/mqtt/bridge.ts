/**
 * {@link MqttBridge}: publishes every node's readings (`<base>/<node>/<sensor>/state`, JSON),
 * availability (`online`/`offline`, with a Last Will for the bridge's own node), optionally the
 * event stream, and Home Assistant discovery; takes HA's commands (`…/set`) onto the same command
 * path as the REST API.
 *
 * Robust like the Redis path: its own capped exponential reconnect with jitter, nothing queued
 * inside the client while the broker is away (states are kept latest-per-topic, events in a
 * ring bounded in count and bytes), loss counted and reported once per episode, one log line
 * when the connection goes and one when it returns.
 *
 * @module
 */
import type { IClientOptions, MqttClient } from "mqtt";
import type { EventEnvelope, EventSink } from "../events/event.ts";
import type { Snapshot } from "../shm/snapshot.ts";
import type { Command, CommandResult } from "../link/command.ts";
import {
  availabilityTopic,
  type BridgeIdentity,
  discovery,
  eventTopic,
  ledState,
  ledStateTopic,
  stateTopic,
  type TopicScheme,
} from "./discovery.ts";

/** `mqtt.connect`, once the library has been loaded by the first {@link MqttBridge.start}. */
let mqttConnect: ((url: string, options: IClientOptions) => MqttClient) | undefined;

/** One node as the bridge reports it. */
export interface NodeReport {
  node: string;
  /** The hub's view: `online`, `stale` (still available) or `offline`. */
  status: "online" | "stale" | "offline";
  snapshot: Snapshot | null;
}

/** Options for {@link MqttBridge}. */
export interface MqttBridgeOptions {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  topics: TopicScheme;
  /** Publish Home Assistant discovery configs. */
  homeassistant: boolean;
  qos: 0 | 1 | 2;
  /** Retain state messages (discovery and availability are always retained). */
  retain: boolean;
  /** Publish the event stream on `<base>/<node>/events/<type>` (chatty). */
  events: boolean;
  /** Events kept while the broker is away; older ones are dropped and counted. Default 1000. */
  bufferMax?: number;
  /** Bytes of buffered messages (events and states) while away. Default 1 MiB. */
  bufferBytes?: number;
  /** Accept commands on `…/set` topics. Default true. */
  commands?: boolean;
  bridge: BridgeIdentity;
  nodes: () => Promise<NodeReport[]>;
  send: (node: string, command: Command) => Promise<CommandResult>;
  emit: EventSink;
  log: (level: "info" | "warn" | "error", message: string) => void;
  /** Reconnect backoff bounds, ms. Default 500 .. 30 000. */
  backoffMs?: { min: number; max: number };
  /** Injected for tests; default `mqtt.connect`. */
  connect?: (url: string, options: IClientOptions) => MqttClient;
}

/** Counters and state, for `/health` and `/metrics`. */
export interface MqttBridgeStats {
  connected: boolean;
  /** `performance.now()`-based age of the current state, and why it is down. */
  since: string;
  reason: string | null;
  published: number;
  /** Messages lost while the broker was away (events past the buffer, states past the byte bound). */
  dropped: number;
  /** Of which events: each published event carries `seq`, so a reader can count the gaps itself. */
  droppedEvents: number;
  buffered: number;
  /** Bytes those buffered messages hold (never above `bufferBytes`). */
  bufferedBytes: number;
  commands: number;
  reconnects: number;
}

interface Pending {
  payload: string;
  retain: boolean;
}

const MAX_PAYLOAD = 64 * 1024;

/** The MQTT bridge. */
export class MqttBridge {
  readonly #o: MqttBridgeOptions;
  #client: MqttClient | null = null;
  #connected = false;
  #closed = false;
  #since = new Date().toISOString();
  #reason: string | null = "not connected yet";
  #published = 0;
  #dropped = 0;
  #droppedEvents = 0;
  #eventSeq = 0;
  #droppedReported = 0;
  #droppedEventsReported = 0;
  #commands = 0;
  #reconnects = 0;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Latest payload per topic while away (states, discovery, availability): newest wins. */
  #latest = new Map<string, Pending>();
  #latestBytes = 0;
  /** Events while away, oldest first. */
  #events: { topic: string; payload: string }[] = [];
  #eventBytes = 0;
  /** What was last sent per retained topic, so unchanged states are not re-sent. */
  #sent = new Map<string, string>();
  /** Discovery topics published per node (to clear entities that are gone). */
  #discovered = new Map<string, Set<string>>();
  #lostLogged = false;
  #downAt = 0;

  constructor(options: MqttBridgeOptions) {
    if (!/^(mqtts?|wss?):\/\/[^\s/]+/.test(options.url)) {
      throw new TypeError(
        `Cannot use MQTT at '${options.url}': not an mqtt://, mqtts://, ws:// or wss:// URL`,
      );
    }
    this.#o = options;
  }

  /**
   * Connect (in the background; failures are logged once and retried with backoff). The MQTT
   * client library is loaded here, on first use: a node without `[mqtt]` never pays for it.
   */
  start(): void {
    if (this.#o.connect || mqttConnect) {
      this.#connect();
      return;
    }
    import("mqtt").then((m) => {
      mqttConnect ??= m.default.connect;
      this.#connect();
    }, (e) => this.#o.log("error", `Cannot load the MQTT client library: ${(e as Error).message ?? e}`));
  }

  #connect(): void {
    if (this.#closed) return;
    const o = this.#o;
    const will = availabilityTopic(o.topics, o.bridge.node);
    const client = (o.connect ?? mqttConnect!)(o.url, {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      clean: true,
      reconnectPeriod: 0, // our own backoff
      connectTimeout: 5000,
      keepalive: 30,
      queueQoSZero: false,
      will: { topic: will, payload: "offline", qos: 1, retain: true },
    });
    this.#client = client;
    client.on("connect", () => this.#onConnect(client));
    client.on("message", (topic, payload) => void this.#onMessage(topic, payload));
    client.on("error", (e) => this.#down(client, describe(o.url, e)));
    client.on("close", () => this.#down(client, this.#reason ?? "connection closed"));
  }

  #onConnect(client: MqttClient): void {
    if (client !== this.#client) return;
    const o = this.#o;
    const wasDown = this.#downAt > 0;
    this.#connected = true;
    this.#attempt = 0;
    this.#since = new Date().toISOString();
    this.#reason = null;
    if (o.commands !== false) {
      client.subscribe([
        `${o.topics.base}/+/buzzer/set`,
        `${o.topics.base}/+/led/+/set`,
        `${o.topics.base}/+/name/set`,
      ], {
        qos: 1,
      });
    }
    const buffered = this.#latest.size + this.#events.length;
    this.#flush();
    const lost = this.#dropped - this.#droppedReported;
    if (wasDown) {
      const away = ((performance.now() - this.#downAt) / 1000).toFixed(1);
      o.log(
        "info",
        `MQTT at ${o.url} is back after ${away} s: ${buffered} buffered messages sent, ${lost} dropped`,
      );
      if (lost > 0) {
        o.emit.emit("mqtt.dropped", {
          dropped: lost,
          events: this.#droppedEvents - this.#droppedEventsReported,
          total: this.#dropped,
        });
      }
      this.#droppedReported = this.#dropped;
      this.#droppedEventsReported = this.#droppedEvents;
    } else {
      o.log("info", `MQTT connected to ${o.url} as ${o.clientId}`);
    }
    this.#downAt = 0;
    this.#lostLogged = false;
    o.emit.emit("mqtt.connected", { url: o.url });
    // Our own availability first; tick() republishes every node's.
    this.#publish(availabilityTopic(o.topics, o.bridge.node), "online", true);
  }

  #down(client: MqttClient, reason: string): void {
    if (client !== this.#client) return;
    if (this.#connected || this.#downAt === 0) {
      this.#downAt = performance.now();
      this.#since = new Date().toISOString();
    }
    const was = this.#connected;
    this.#connected = false;
    this.#reason = reason;
    if (!this.#lostLogged) {
      this.#lostLogged = true;
      this.#o.log(
        "warn",
        was
          ? `MQTT at ${this.#o.url}: connection lost (${reason}); keeping the latest states and up to ${this.#bufferMax()} events until it returns`
          : `Cannot use MQTT at ${this.#o.url}: ${reason}`,
      );
      if (was) this.#o.emit.emit("mqtt.disconnected", { url: this.#o.url, reason });
    }
    client.removeAllListeners();
    client.on("error", () => {});
    client.end(true);
    this.#client = null;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const { min, max } = this.#o.backoffMs ?? { min: 500, max: 30_000 };
    const base = Math.min(max, min * 2 ** Math.min(this.#attempt++, 16));
    const delay = base / 2 + Math.random() * base / 2;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#reconnects++;
      this.#connect();
    }, delay);
  }

  #bufferMax(): number {
    return this.#o.bufferMax ?? 1000;
  }

  #publish(topic: string, payload: string, retain: boolean): void {
    if (payload.length > MAX_PAYLOAD) {
      this.#dropped++;
      return;
    }
    const client = this.#client;
    if (this.#connected && client) {
      client.publish(topic, payload, { qos: this.#o.qos, retain }, (err) => {
        if (!err) return this.#published++;
        // Not acknowledged before the connection went: keep it for the next one unless newer data came.
        if (!this.#latest.has(topic)) this.#keep(topic, payload, retain);
      });
      return;
    }
    this.#keep(topic, payload, retain);
  }

  #keep(topic: string, payload: string, retain: boolean): void {
    const old = this.#latest.get(topic);
    this.#latestBytes += topic.length + payload.length - (old ? topic.length + old.payload.length : 0);
    this.#latest.set(topic, { payload, retain });
    this.#trim();
  }

  #publishEvent(topic: string, payload: string): void {
    if (this.#connected && this.#client) {
      this.#client.publish(topic, payload, { qos: this.#o.qos, retain: false }, (err) => {
        if (!err) return this.#published++;
        this.#queueEvent(topic, payload);
      });
      return;
    }
    this.#queueEvent(topic, payload);
  }

  #queueEvent(topic: string, payload: string): void {
    this.#events.push({ topic, payload });
    this.#eventBytes += topic.length + payload.length;
    this.#trim();
  }

  /** Keep what waits within its bounds: oldest events go first, then the oldest states. */
  #trim(): void {
    const maxBytes = this.#o.bufferBytes ?? 1 << 20;
    while (this.#events.length > this.#bufferMax() || (this.#events.length && this.#bytes() > maxBytes)) {
      const e = this.#events.shift()!;
      this.#eventBytes -= e.topic.length + e.payload.length;
      this.#dropped++;
      this.#droppedEvents++;
    }
    for (const [topic, p] of this.#latest) {
      if (this.#bytes() <= maxBytes) break;
      this.#latest.delete(topic);
      this.#latestBytes -= topic.length + p.payload.length;
      this.#sent.delete(topic);
      this.#dropped++;
    }
  }

  #bytes(): number {
    return this.#latestBytes + this.#eventBytes;
  }

  #flush(): void {
    const latest = [...this.#latest];
    this.#latest.clear();
    this.#latestBytes = 0;
    const events = this.#events.splice(0);
    this.#eventBytes = 0;
    for (const [topic, p] of latest) this.#publish(topic, p.payload, p.retain);
    for (const e of events) this.#publishEvent(e.topic, e.payload);
  }

  #changed(topic: string, payload: string): boolean {
    if (this.#sent.get(topic) === payload) return false;
    this.#sent.set(topic, payload);
    return true;
  }

  /** Publish what changed since the last tick: availability, discovery, states, LED states. */
  async tick(): Promise<void> {
    const o = this.#o;
    const reports = await o.nodes();
    for (const r of reports) {
      const avail = availabilityTopic(o.topics, r.node);
      const status = r.status === "offline" ? "offline" : "online";
      if (this.#changed(avail, status)) this.#publish(avail, status, true);
      const s = r.snapshot;
      if (!s) continue;
      if (o.homeassistant) this.#discover(s);
      for (const reading of Object.values(s.readings)) {
        const topic = stateTopic(o.topics, s.node, reading.sensor);
        const payload = JSON.stringify({ ...reading.values, timestamp: reading.timestamp });
        if (this.#changed(topic, payload)) this.#publish(topic, payload, o.retain);
      }
      s.leds.forEach((hex, i) => {
        const topic = ledStateTopic(o.topics, s.node, i);
        const payload = JSON.stringify(ledState(hex));
        if (this.#changed(topic, payload)) this.#publish(topic, payload, true);
      });
    }
  }

  #discover(s: Snapshot): void {
    const o = this.#o;
    const messages = discovery(o.topics, o.bridge, s);
    const now = new Set(messages.map((m) => m.topic));
    const before = this.#discovered.get(s.node) ?? new Set();
    for (const m of messages) {
      const payload = JSON.stringify(m.payload);
      if (this.#changed(m.topic, payload)) this.#publish(m.topic, payload, true);
    }
    // Entities of a removed plugin (or LED) go away: an empty retained config deletes them in HA.
    for (const topic of before) {
      if (now.has(topic)) continue;
      this.#sent.delete(topic);
      this.#publish(topic, "", true);
    }
    this.#discovered.set(s.node, now);
  }

  /** An event from the stream (published only with `events = true`). */
  event(e: EventEnvelope): void {
    if (!this.#o.events) return;
    const payload = JSON.stringify({ seq: ++this.#eventSeq, ...e });
    if (payload.length > MAX_PAYLOAD) {
      this.#dropped++;
      this.#droppedEvents++;
      return;
    }
    this.#publishEvent(eventTopic(this.#o.topics, e.node, e.type), payload);
  }

  async #onMessage(topic: string, raw: Uint8Array): Promise<void> {
    const o = this.#o;
    const base = `${o.topics.base}/`;
    if (!topic.startsWith(base)) return;
    const parts = topic.slice(base.length).split("/");
    const node = parts[0];
    const text = new TextDecoder().decode(raw.subarray(0, 1024)).trim();
    let command: Command | null = null;
    let refusal: string | null = null;
    if (parts.length === 3 && parts[1] === "buzzer" && parts[2] === "set") {
      if (text === "single" || text === "triple" || text === "long") {
        command = { type: "buzzer", pattern: text };
      } else {refusal = `buzzer pattern must be single, triple or long, got ${
          JSON.stringify(text.slice(0, 32))
        }`;}
    } else if (parts.length === 4 && parts[1] === "led" && parts[3] === "set") {
      const index = Number(parts[2]);
      const led = parseLed(text);
      if (!Number.isInteger(index) || index < 0 || index > 255) {
        refusal = `LED index must be 0..255, got ${parts[2]}`;
      } else if (typeof led === "string") refusal = led;
      else command = { type: "led", index, ...led };
    } else if (parts.length === 3 && parts[1] === "name" && parts[2] === "set") {
      if (text.length >= 1 && text.length <= 64) command = { type: "set_name", name: text };
      else refusal = "name must be 1..64 characters";
    } else return;
    this.#commands++;
    const by = `mqtt:${o.clientId}`;
    if (!command) {
      o.emit.emit("command.refused", { by, node, topic, reason: refusal });
      return;
    }
    let result: CommandResult;
    try {
      result = await o.send(node, command);
    } catch (e) {
      result = { id: "", ok: false, error: (e as Error).message ?? String(e) };
    }
    o.emit.emit("command", { by, node, command: command.type, ok: result.ok, error: result.error ?? null });
  }

  /** State and counters. */
  stats(): MqttBridgeStats {
    return {
      connected: this.#connected,
      since: this.#since,
      reason: this.#reason,
      published: this.#published,
      dropped: this.#dropped,
      droppedEvents: this.#droppedEvents,
      buffered: this.#latest.size + this.#events.length,
      bufferedBytes: this.#bytes(),
      commands: this.#commands,
      reconnects: this.#reconnects,
    };
  }

  /** Say `offline` for the bridge's node (a clean stop sends no Last Will) and disconnect. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    client.removeAllListeners("close");
    client.on("error", () => {});
    if (this.#connected) {
      const topic = availabilityTopic(this.#o.topics, this.#o.bridge.node);
      await Promise.race([
        client.publishAsync(topic, "offline", { qos: 1, retain: true }).catch(() => {}),
        new Promise((r) => setTimeout(r, 1000)),
      ]);
    }
    await Promise.race([client.endAsync().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    this.#connected = false;
  }
}

/** HA's JSON-schema light command → an LED colour, or a refusal. */
function parseLed(text: string): { r: number; g: number; b: number } | string {
  let body: { state?: unknown; color?: { r?: unknown; g?: unknown; b?: unknown }; brightness?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return 'LED command must be JSON like {"state":"ON","color":{"r":255,"g":0,"b":0}}';
  }
  if (body?.state === "OFF") return { r: 0, g: 0, b: 0 };
  if (body?.state !== "ON") return "LED command 'state' must be ON or OFF";
  const c = body.color ?? { r: 255, g: 255, b: 255 };
  const byte = (
    v: unknown,
  ) => (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255 ? v : null);
  const r = byte(c.r), g = byte(c.g), b = byte(c.b);
  if (r === null || g === null || b === null) return "LED command 'color' must hold r, g, b in 0..255";
  const k = typeof body.brightness === "number" ? Math.max(0, Math.min(255, body.brightness)) / 255 : 1;
  return { r: Math.round(r * k), g: Math.round(g * k), b: Math.round(b * k) };
}

/** One plain line for a connection failure. */
function describe(url: string, e: Error & { code?: number | string }): string {
  if (e.code === 5 || e.code === 4 || /Not authorized|Bad username/i.test(e.message)) {
    return "not authorized — check [mqtt] username and password";
  }
  if (e.code === "ECONNREFUSED") return `connection refused (${e.message.replace(/^connect /, "")})`;
  if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") return `unknown host in ${url}`;
  return e.message || String(e);
}
