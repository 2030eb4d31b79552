/**
 * The hub: Hono API, socket.io live feed with replay, MCP, node registry, spoke ingest and
 * command forwarding. See README.md for the API and protocols.
 *
 * @module
 */
export { AccessConfigError, createHub, type Hub, type HubServer, isLoopback, LOOPBACK_HINT } from "./hub.ts";
export type { HubAccessOptions, HubCore, HubOptions, LogLine } from "./core.ts";
export { hubAccessOptions, runTokenCli } from "./auth/mod.ts";
export {
  NodeRegistry,
  type NodeRegistryOptions,
  type NodeRole,
  type NodeStatus,
  type NodeView,
} from "./registry.ts";
export { SpokeCommandQueue } from "./spoke_queue.ts";
export { CommandError, RequestError } from "./errors.ts";
export { actAs } from "./act_as.ts";
export type { HistoryStore } from "./history_api.ts";
export { type FeedCredential, type FeedLevel, LiveFeed, type LiveFeedOptions } from "./live_feed.ts";
export type { ExtraMetrics, GaugeSample } from "./metrics.ts";
export { type Clock, systemClock } from "./clock.ts";
