/**
 * The Host/Origin allowlist that refuses DNS rebinding: a page on `evil.example` that re-points
 * its name at the hub still sends `Host: evil.example`, which is not on the list. Defaults: the
 * configured names, `localhost`, the loopback addresses, this machine's host name (and
 * `<name>.local`) and every address of its interfaces.
 *
 * @module
 */
import { hostname, networkInterfaces } from "node:os";

/** The host part of a `Host` header or URL authority, lower-case, without port or brackets. */
export function hostPart(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith("[")) return a.slice(1, a.indexOf("]") > 0 ? a.indexOf("]") : undefined);
  const colons = a.split(":").length - 1;
  if (colons === 1) return a.slice(0, a.indexOf(":"));
  return a; // a bare name, or a bare IPv6 address
}

/** Host names the hub answers to. */
export class HostAllowlist {
  #names = new Set<string>();
  #any: boolean;

  /**
   * @param extra configured names (`hub.allowed_hosts`, hosts of `cors_origins`, the bind host);
   *   `"*"` turns the check off (behind a reverse proxy that checks it)
   */
  constructor(extra: string[] = []) {
    this.#any = extra.includes("*");
    const names = ["localhost", "127.0.0.1", "::1", ...extra];
    try {
      const h = hostname();
      names.push(h, `${h}.local`);
    } catch {
      // No host name: addresses still work.
    }
    try {
      for (const list of Object.values(networkInterfaces())) {
        for (const i of list ?? []) names.push(i.address);
      }
    } catch {
      // Interfaces unreadable: configured names still work.
    }
    for (const n of names) if (n && n !== "0.0.0.0" && n !== "::") this.#names.add(hostPart(n));
  }

  /** The last allowed `Host` value: every request of a client repeats it. */
  #lastAllowed: string | null = null;

  /** Whether a `Host` header value names this hub (`*.localhost` counts as loopback). */
  allows(host: string | null | undefined): boolean {
    if (this.#any) return true;
    if (!host) return false;
    if (host === this.#lastAllowed) return true;
    const h = hostPart(host);
    const ok = this.#names.has(h) || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h);
    if (ok) this.#lastAllowed = host;
    return ok;
  }

  /** Names on the list (for messages). */
  names(): string[] {
    return [...this.#names];
  }
}
