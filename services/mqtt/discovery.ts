/**
 * Topics and Home Assistant MQTT discovery payloads for one node: a `sensor` per reading field,
 * `button`s for the buzzer patterns, a `light` per LED (JSON schema, RGB) and a `text` for the
 * creature's name. Pure functions: the bridge decides when to publish.
 *
 * @module
 */
import type { ReadingRecord, Snapshot } from "../shm/snapshot.ts";

/** Where things go: `<base>/<node>/…` and `<prefix>/<component>/<node>/<object>/config`. */
export interface TopicScheme {
  /** Default `harvester`. */
  base: string;
  /** Home Assistant's discovery prefix, default `homeassistant`. */
  discoveryPrefix: string;
}

/** The node the bridge runs on (its Last Will covers every node it reports). */
export interface BridgeIdentity {
  node: string;
  swVersion: string;
}

/** One retained discovery message. */
export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

/** Topic of a sensor's JSON state. */
export const stateTopic = (t: TopicScheme, node: string, sensor: string) =>
  `${t.base}/${node}/${sensor}/state`;
/** `online` / `offline`. */
export const availabilityTopic = (t: TopicScheme, node: string) => `${t.base}/${node}/availability`;
/** One event type's topic. */
export const eventTopic = (t: TopicScheme, node: string, type: string) => `${t.base}/${node}/events/${type}`;
/** Buzzer command: payload `single`, `triple` or `long`. */
export const buzzerSetTopic = (t: TopicScheme, node: string) => `${t.base}/${node}/buzzer/set`;
/** LED command (JSON schema light). */
export const ledSetTopic = (t: TopicScheme, node: string, i: number) => `${t.base}/${node}/led/${i}/set`;
/** LED state (JSON schema light). */
export const ledStateTopic = (t: TopicScheme, node: string, i: number) => `${t.base}/${node}/led/${i}/state`;
/** Name command: the new name as plain text. */
export const nameSetTopic = (t: TopicScheme, node: string) => `${t.base}/${node}/name/set`;

/** What Home Assistant should call a field: unit → device class (and units HA expects). */
interface FieldClass {
  device_class?: string;
  state_class?: "measurement" | "total_increasing";
  unit?: string;
}

/** Device classes by unit, with field-name refinements (Home Assistant's sensor device classes). */
export function classify(field: string, unit: string | undefined, value: unknown): FieldClass {
  if (typeof value !== "number") return {};
  const measured: FieldClass = { state_class: "measurement", ...(unit ? { unit } : {}) };
  switch (unit) {
    case "°C":
      return { ...measured, device_class: "temperature" };
    case "%":
      return field.includes("humidity") ? { ...measured, device_class: "humidity" } : measured;
    case "hPa":
      return { ...measured, device_class: "atmospheric_pressure" };
    case "MiB":
      return { ...measured, device_class: "data_size" };
    case "s":
      return { ...measured, device_class: "duration" };
    default:
      break;
  }
  if (field === "awakenings") return { state_class: "total_increasing" };
  return measured;
}

function title(text: string): string {
  const words = text.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Home Assistant's `device` block for a node (spokes name the hub they come through). */
export function device(
  node: string,
  snapshot: Snapshot | null,
  bridge: BridgeIdentity,
): Record<string, unknown> {
  const name = snapshot?.identity?.name ? `${node} (${snapshot.identity.name})` : node;
  return {
    identifiers: [`harvester_${node}`],
    name,
    manufacturer: "HARVESTER",
    model: "HARVESTER node",
    sw_version: bridge.swVersion,
    ...(node !== bridge.node ? { via_device: `harvester_${bridge.node}` } : {}),
  };
}

function availability(t: TopicScheme, node: string, bridge: BridgeIdentity): Record<string, unknown> {
  const topics = node === bridge.node ? [node] : [node, bridge.node];
  return {
    availability: topics.map((n) => ({ topic: availabilityTopic(t, n) })),
    availability_mode: "all",
  };
}

function objectId(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]+/g, "_");
}

/** One `sensor` entity per field of a reading. */
export function sensorEntities(
  t: TopicScheme,
  bridge: BridgeIdentity,
  snapshot: Snapshot,
  reading: ReadingRecord,
): DiscoveryMessage[] {
  const node = snapshot.node;
  const out: DiscoveryMessage[] = [];
  for (const [field, value] of Object.entries(reading.values)) {
    if (value === null || typeof value === "object") continue;
    const cls = classify(field, reading.units[field], value);
    const object = objectId(`${reading.sensor}_${field}`);
    out.push({
      topic: `${t.discoveryPrefix}/sensor/${node}/${object}/config`,
      payload: {
        name: `${title(reading.sensor)} ${title(field).toLowerCase()}`,
        unique_id: `harvester_${node}_${object}`,
        object_id: `${node}_${object}`,
        state_topic: stateTopic(t, node, reading.sensor),
        value_template: `{{ value_json.${field} }}`,
        ...(cls.device_class ? { device_class: cls.device_class } : {}),
        ...(cls.state_class ? { state_class: cls.state_class } : {}),
        ...(cls.unit ? { unit_of_measurement: cls.unit } : {}),
        ...availability(t, node, bridge),
        device: device(node, snapshot, bridge),
      },
    });
  }
  return out;
}

/** Buzzer buttons, one light per LED, and the name as a text entity (when anima runs). */
export function actuatorEntities(
  t: TopicScheme,
  bridge: BridgeIdentity,
  snapshot: Snapshot,
): DiscoveryMessage[] {
  const node = snapshot.node;
  const common = { ...availability(t, node, bridge), device: device(node, snapshot, bridge) };
  const out: DiscoveryMessage[] = [];
  for (const pattern of ["single", "triple", "long"]) {
    out.push({
      topic: `${t.discoveryPrefix}/button/${node}/buzzer_${pattern}/config`,
      payload: {
        name: `Beep ${pattern}`,
        unique_id: `harvester_${node}_buzzer_${pattern}`,
        object_id: `${node}_buzzer_${pattern}`,
        command_topic: buzzerSetTopic(t, node),
        payload_press: pattern,
        ...common,
      },
    });
  }
  snapshot.leds.forEach((_, i) => {
    out.push({
      topic: `${t.discoveryPrefix}/light/${node}/led_${i}/config`,
      payload: {
        name: `LED ${i}`,
        unique_id: `harvester_${node}_led_${i}`,
        object_id: `${node}_led_${i}`,
        schema: "json",
        command_topic: ledSetTopic(t, node, i),
        state_topic: ledStateTopic(t, node, i),
        supported_color_modes: ["rgb"],
        ...common,
      },
    });
  });
  const anima = Object.values(snapshot.readings).find((r) => r.plugin === "anima" && "name" in r.values);
  if (anima) {
    out.push({
      topic: `${t.discoveryPrefix}/text/${node}/name/config`,
      payload: {
        name: "Creature name",
        unique_id: `harvester_${node}_name`,
        object_id: `${node}_name`,
        command_topic: nameSetTopic(t, node),
        state_topic: stateTopic(t, node, anima.sensor),
        value_template: "{{ value_json.name }}",
        min: 1,
        max: 64,
        ...common,
      },
    });
  }
  return out;
}

/** Every discovery message for a node's snapshot. */
export function discovery(t: TopicScheme, bridge: BridgeIdentity, snapshot: Snapshot): DiscoveryMessage[] {
  return [
    ...Object.values(snapshot.readings).flatMap((r) => sensorEntities(t, bridge, snapshot, r)),
    ...actuatorEntities(t, bridge, snapshot),
  ];
}

/** `#rrggbb` → the JSON-schema light state. */
export function ledState(hex: string): Record<string, unknown> {
  const n = Number.parseInt(hex.replace(/^#/, ""), 16) || 0;
  const color = { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 };
  return { state: n === 0 ? "OFF" : "ON", color_mode: "rgb", color };
}
