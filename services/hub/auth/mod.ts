/**
 * Hub access: accounts (scrypt), sessions, scoped API tokens, login limits, CSRF, the
 * Host allowlist, connection guard, audit events, and the `token` CLI.
 *
 * @module
 */
export { Access, type AccessOptions, expandScopes, type Principal } from "./access.ts";
export { AUTH_FILE, AuthStore, type Role, ROLES, type TokenView } from "./store.ts";
export { type HubAccessConfig, hubAccessOptions } from "./from_config.ts";
export { type CliIo, runTokenCli } from "./token_cli.ts";
export { HostAllowlist } from "./host_check.ts";
export { guardConnections, type NetGuardStats, type NetLimits } from "./net_guard.ts";
export { hashPassword, verifyPassword } from "./passwords.ts";
