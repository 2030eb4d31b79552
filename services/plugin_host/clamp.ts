/**
 * A manifest may ask, config decides: what a plugin grants itself in its manifest (priority,
 * cadence, deadline, free-text fields) is clamped to the host's policy unless config set the
 * value, and every clamp is named so the host can report it at start.
 *
 * @module
 */
import type { PluginManifest } from "../../plugins/sdk/mod.ts";
import { PLUGIN_ID } from "./manifest.ts";

/** What a manifest may ask for without config's say-so. */
export interface ManifestPolicy {
  /** Highest priority a manifest may give itself (above 0.8 is never deferred). */
  maxPriority: number;
  /** Shortest cadence in seconds. */
  minCadenceSeconds: number;
  /** Longest call deadline in ms. */
  maxDeadlineMs: number;
  /** Longest `version`. */
  maxVersionChars: number;
  /** Longest `description`. */
  maxDescriptionChars: number;
  /** Most `depends_on` entries. */
  maxDependsOn: number;
}

/** Defaults of {@link ManifestPolicy}. */
export const DEFAULT_MANIFEST_POLICY: ManifestPolicy = {
  maxPriority: 0.8,
  minCadenceSeconds: 1,
  maxDeadlineMs: 10_000,
  maxVersionChars: 32,
  maxDescriptionChars: 200,
  maxDependsOn: 16,
};

/** What config sets for the plugin (those values are not clamped: config decides). */
export interface ConfigOverrides {
  priority?: number;
  cadence_seconds?: number;
  deadline_ms?: number;
}

/**
 * Clamp a manifest to the policy.
 *
 * @returns the clamped manifest and one line per clamp (empty when nothing was clamped)
 * @example
 * ```ts
 * import { clampManifest, DEFAULT_MANIFEST_POLICY } from "./clamp.ts";
 * const m = { id: "x", version: "1", world: { imports: [], exports: [] }, cadence_seconds: 0.01, priority: 1 };
 * const { clamps } = clampManifest(m, DEFAULT_MANIFEST_POLICY, {});
 * console.assert(clamps.length === 2);
 * ```
 */
export function clampManifest(
  m: PluginManifest,
  policy: ManifestPolicy,
  config: ConfigOverrides,
): { manifest: PluginManifest; clamps: string[] } {
  const clamps: string[] = [];
  const out: PluginManifest = {
    ...m,
    world: { imports: [...m.world.imports], exports: [...m.world.exports] },
  };
  if (config.priority === undefined && m.priority > policy.maxPriority) {
    clamps.push(`priority ${m.priority} → ${policy.maxPriority}`);
    out.priority = policy.maxPriority;
  }
  if (config.cadence_seconds === undefined && m.cadence_seconds < policy.minCadenceSeconds) {
    clamps.push(`cadence_seconds ${m.cadence_seconds} → ${policy.minCadenceSeconds}`);
    out.cadence_seconds = policy.minCadenceSeconds;
  }
  if (
    config.deadline_ms === undefined && m.deadline_ms !== undefined && m.deadline_ms > policy.maxDeadlineMs
  ) {
    clamps.push(`deadline_ms ${m.deadline_ms} → ${policy.maxDeadlineMs}`);
    out.deadline_ms = policy.maxDeadlineMs;
  }
  if (m.version.length > policy.maxVersionChars) {
    clamps.push(`version cut from ${m.version.length} to ${policy.maxVersionChars} characters`);
    out.version = (" " + m.version.slice(0, policy.maxVersionChars)).slice(1);
  }
  if (m.description !== undefined && m.description.length > policy.maxDescriptionChars) {
    clamps.push(`description cut from ${m.description.length} to ${policy.maxDescriptionChars} characters`);
    out.description = (" " + m.description.slice(0, policy.maxDescriptionChars)).slice(1);
  }
  if (m.depends_on !== undefined) {
    const deps = [...new Set(m.depends_on.filter((d) => PLUGIN_ID.test(d) && d !== m.id))];
    if (deps.length > policy.maxDependsOn || deps.length !== m.depends_on.length) {
      clamps.push(
        `depends_on kept ${Math.min(deps.length, policy.maxDependsOn)} of ${m.depends_on.length} entries`,
      );
    }
    out.depends_on = deps.slice(0, policy.maxDependsOn);
  }
  return { manifest: out, clamps };
}
