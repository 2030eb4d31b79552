/**
 * `LoginLimiter`: failed logins counted per client address and per account in a sliding window;
 * past the limit further attempts are refused without checking the password (so a guesser also
 * cannot make the hub burn scrypt time). Bounded in keys.
 *
 * @module
 */

/** Options of {@link LoginLimiter}. */
export interface LoginLimiterOptions {
  /** Failures allowed per client in the window. Default 20. */
  perClient?: number;
  /** Failures allowed per account in the window. Default 10. */
  perAccount?: number;
  /** Window in ms. Default 15 min. */
  windowMs?: number;
  /** Most keys tracked. Default 10 000. */
  maxKeys?: number;
  now?: () => number;
}

/** A refusal: which limit and how long until the oldest failure ages out. */
export interface Limited {
  scope: "client" | "account";
  retryAfterS: number;
}

/** Failed-login counters. */
export class LoginLimiter {
  #fails = new Map<string, number[]>();
  #o: Required<LoginLimiterOptions>;

  constructor(options: LoginLimiterOptions = {}) {
    this.#o = {
      perClient: 20,
      perAccount: 10,
      windowMs: 15 * 60_000,
      maxKeys: 10_000,
      now: () => performance.now(),
      ...options,
    };
  }

  #recent(k: string): number[] {
    const t = this.#o.now();
    const list = (this.#fails.get(k) ?? []).filter((x) => t - x < this.#o.windowMs);
    if (list.length) this.#fails.set(k, list);
    else this.#fails.delete(k);
    return list;
  }

  /** Whether a login by `client` for `account` is refused right now. */
  check(client: string, account: string): Limited | null {
    for (
      const [scope, k, limit] of [
        ["client", `c:${client}`, this.#o.perClient],
        ["account", `a:${account}`, this.#o.perAccount],
      ] as const
    ) {
      const list = this.#recent(k);
      if (list.length >= limit) {
        const retry = Math.ceil((list[0] + this.#o.windowMs - this.#o.now()) / 1000);
        return { scope, retryAfterS: Math.max(1, retry) };
      }
    }
    return null;
  }

  /** Count a failure. */
  fail(client: string, account: string): void {
    for (const k of [`c:${client}`, `a:${account}`]) {
      const list = this.#recent(k);
      list.push(this.#o.now());
      if (list.length > 1000) list.shift();
      this.#fails.delete(k);
      this.#fails.set(k, list);
    }
    while (this.#fails.size > this.#o.maxKeys) this.#fails.delete(this.#fails.keys().next().value!);
  }

  /** Forget an account's failures after a good login. */
  succeed(account: string): void {
    this.#fails.delete(`a:${account}`);
  }
}
