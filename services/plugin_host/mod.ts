/**
 * The plugin runtime — the product's security boundary. Plugins are bundled from their own
 * folder plus the SDK, checked, and run in permission-less workers inside sandbox child
 * processes; every capability call is checked by the broker against the plugin's grant.
 *
 * @module
 */
export { PluginHost } from "./host.ts";
export type {
  HostTimers,
  PluginChange,
  PluginHostOptions,
  PluginHostStatus,
  PluginSettings,
  SandboxInfo,
} from "./host.ts";
export type { HostServices } from "./capabilities.ts";
export { effectiveGrant, emptyGrant } from "./grant.ts";
export type { EffectiveGrant, PluginGrant } from "./grant.ts";
export { PluginError } from "./errors.ts";
export { backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";
export type { BackoffOptions } from "./backoff.ts";
export { DEFAULT_THROTTLE } from "./throttle.ts";
export type { ThrottleLimits } from "./throttle.ts";
export { bundlePlugin } from "./bundle.ts";
export { verifyBundle } from "./verify.ts";
export { RUNTIME_ALLOWANCE_MB, sandboxArgs } from "./sandbox.ts";
export { checkReadings, DEFAULT_READING_LIMITS, sensorOwner } from "./readings.ts";
export type { ReadingLimits } from "./readings.ts";
export { clampManifest, DEFAULT_MANIFEST_POLICY } from "./clamp.ts";
export type { ManifestPolicy } from "./clamp.ts";
export { checkPluginFolder, DEFAULT_FOLDER_LIMITS } from "./folder_check.ts";
export type { FolderLimits } from "./folder_check.ts";
export { DEFAULT_LOG_BUDGET } from "./capabilities.ts";
export type { RateBudget } from "./budget.ts";
