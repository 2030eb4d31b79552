/**
 * MQTT: a bridge that publishes readings, availability and (opt-in) events, announces every
 * entity to Home Assistant through MQTT discovery, and takes HA's commands onto the command path.
 *
 * @module
 */
export * from "./discovery.ts";
export * from "./bridge.ts";
