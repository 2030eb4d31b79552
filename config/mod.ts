/**
 * Configuration: the TOML schema with defaults, the loader and its search order, and
 * plugin permissions. Every problem is a {@link ConfigError} worded on one line.
 *
 * @example
 * ```ts ignore
 * import { loadConfig, loadPermissions, grantFor } from "./config/mod.ts";
 * const { config, source } = await loadConfig({ configPath: "config/host.toml" });
 * const perms = await loadPermissions("config/permissions.toml");
 * grantFor(perms, "bme680").i2c; // [0x77]
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./schema.ts";
export * from "./permissions.ts";
export * from "./loader.ts";
export * from "./hal_options.ts";
export * from "./cli.ts";
