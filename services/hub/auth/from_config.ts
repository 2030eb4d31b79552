/**
 * The hub's access options from the `[hub]` config table (structurally typed: services do not
 * import config). Reads the TLS files when set.
 *
 * @module
 */
import type { HubAccessOptions } from "../core.ts";

/** The `[hub]` keys this reads. */
export interface HubAccessConfig {
  public_read: boolean;
  allowed_hosts: string[];
  tls_cert?: string;
  tls_key?: string;
  metrics_token?: string;
  session_hours: number;
  header_timeout_ms: number;
  request_timeout_ms: number;
  idle_timeout_ms: number;
  max_connections_per_client: number;
  host: string;
}

/**
 * Build {@link HubAccessOptions}.
 *
 * @param stateDir absolute state dir (users and token hashes go to `hub-auth.json` there)
 * @throws {Error} `Cannot read hub.tls_cert …` when a TLS file is unreadable
 */
export async function hubAccessOptions(hub: HubAccessConfig, stateDir: string): Promise<HubAccessOptions> {
  let tls: HubAccessOptions["tls"];
  if (hub.tls_cert && hub.tls_key) {
    const read = async (key: "tls_cert" | "tls_key") => {
      try {
        return await Deno.readTextFile(hub[key]!);
      } catch (e) {
        throw new Error(`Cannot read hub.${key} '${hub[key]}': ${(e as Error).message}`);
      }
    };
    tls = { cert: await read("tls_cert"), key: await read("tls_key") };
  }
  await Deno.mkdir(stateDir, { recursive: true });
  return {
    stateDir,
    publicRead: hub.public_read,
    allowedHosts: [...hub.allowed_hosts, ...(hub.host === "0.0.0.0" || hub.host === "::" ? [] : [hub.host])],
    metricsToken: hub.metrics_token,
    sessionTtlMs: hub.session_hours * 3600_000,
    tls,
    net: {
      headerTimeoutMs: hub.header_timeout_ms,
      requestTimeoutMs: hub.request_timeout_ms,
      idleTimeoutMs: hub.idle_timeout_ms,
      maxPerClient: hub.max_connections_per_client,
    },
  };
}
