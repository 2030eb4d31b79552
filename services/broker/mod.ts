/**
 * The broker service: bus ownership, the plugin cycle, LEDs, buzzer, snapshot, commands.
 *
 * @module
 */
export * from "./broker.ts";
export * from "./leds.ts";
export * from "./buzzer.ts";
export * from "./lock.ts";
export * from "./logs.ts";
export * from "./log_format.ts";
