/**
 * The hub's history: an embedded SQLite recorder with raw, 1-minute and 1-hour tiers, fed from the
 * event flow, answering bounded range queries.
 *
 * @module
 */
export * from "./recorder.ts";
export * from "./feed.ts";
export * from "./writer.ts";
