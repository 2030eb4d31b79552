/**
 * The hub: Hono API, socket.io live feed with replay, MCP, node registry, spoke ingest and
 * command forwarding. See README.md for the API and protocols.
 *
 * @module
 */
export { createHub, type Hub, type HubServer } from "./hub.ts";
export type { HubCore, HubOptions, LogLine } from "./core.ts";
export {
  NodeRegistry,
  type NodeRegistryOptions,
  type NodeRole,
  type NodeStatus,
  type NodeView,
} from "./registry.ts";
export { SpokeCommandQueue } from "./spoke_queue.ts";
export { CommandError, RequestError } from "./errors.ts";
export { LiveFeed, type LiveFeedOptions } from "./live_feed.ts";
export type { ExtraMetrics, GaugeSample } from "./metrics.ts";
export { type Clock, systemClock } from "./clock.ts";
