/**
 * Health of a node's components, reported into one {@link Health} and read by `/health`,
 * `/metrics`, the snapshot and the broker's control socket.
 *
 * @module
 */
export {
  type ComponentHealth,
  type ComponentStatus,
  Health,
  type HealthOptions,
  type HealthReport,
} from "./health.ts";
export { probeWritable, StorageFaults, type StorageFaultsOptions } from "./storage.ts";
