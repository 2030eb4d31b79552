/**
 * Redis trouble spoken once: every {@link RedisConnection} of the process reports into one board
 * per URL, which logs one plain line when Redis refuses or disappears and one when it returns,
 * however many connections (writer, log, subscriber, state, commands) see it, and tells
 * subscribers (health) the current state and reason.
 *
 * @module
 */

/** Where one Redis stands, as the process sees it. */
export interface RedisUrlStatus {
  /** The URL without its password. */
  url: string;
  up: boolean;
  /** The plain reason while down (`Cannot use Redis at …: NOAUTH … — set the password in REDIS_URL`). */
  reason: string | null;
  /** Times it went down since start. */
  outages: number;
  /** Sentinel targets: the master's `host:port` last connected to (null for one fixed server). */
  master: string | null;
  /** Sentinel targets: failovers followed (the master moved) since start. */
  failovers: number;
}

/** A URL with its password (and user) masked, for logs. */
export function maskUrl(url: string): string {
  return url.replace(
    /^([a-z+]+:\/\/)([^@/]*)@/,
    (_m, scheme, auth: string) => `${scheme}${auth ? "***" : ""}@`,
  ).replace(/#sentinel-password=.*$/, "#sentinel-password=***");
}

/** Turn a node-redis error message into a sentence with the fix, where there is an obvious one. */
export function explain(url: string, message: string): string {
  const m = message.trim().replace(/\.$/, "");
  let hint = "";
  if (/^NOAUTH/i.test(m)) hint = " — set the password in REDIS_URL";
  else if (/WRONGPASS|invalid password|invalid username-password/i.test(m)) {
    hint = " — check the password in REDIS_URL";
  } else if (/ECONNREFUSED|connection refused/i.test(m)) hint = " — is redis-server running?";
  return `Cannot use Redis at ${maskUrl(url)}: ${m}${hint}`;
}

interface Board {
  status: RedisUrlStatus;
  /** Connections of this URL and whether each is ready. */
  members: Map<symbol, boolean>;
}

/** The process-wide board of Redis URLs. */
export class RedisStatusBoard {
  #boards = new Map<string, Board>();
  #listeners = new Set<(s: RedisUrlStatus) => void>();
  /** Where the lines go (default `console.error`); tests capture them. */
  log: (line: string) => void = (l) => console.error(l);

  /** Register one connection; returns its reporter. */
  join(
    url: string,
  ): { ready(): void; failed(message: string): void; master(addr: string): void; leave(): void } {
    const key = maskUrl(url);
    let b = this.#boards.get(key);
    if (!b) {
      b = {
        status: { url: key, up: false, reason: null, outages: 0, master: null, failovers: 0 },
        members: new Map(),
      };
      this.#boards.set(key, b);
    }
    const board = b;
    const id = Symbol(key);
    board.members.set(id, false);
    return {
      ready: () => {
        board.members.set(id, true);
        if (!board.status.up && [...board.members.values()].some((r) => r)) {
          const wasDown = board.status.reason !== null;
          board.status = { ...board.status, up: true, reason: null };
          if (wasDown) this.log(`Redis at ${key} is reachable again`);
          this.#tell(board.status);
        }
      },
      failed: (message: string) => {
        board.members.set(id, false);
        const reason = explain(url, message);
        if ([...board.members.values()].some((r) => r)) return; // others still work: not an outage
        if (board.status.up || board.status.reason === null) {
          // A transition (up → down, or never up → down): one line.
          board.status = { ...board.status, up: false, reason, outages: board.status.outages + 1 };
          this.log(reason);
          this.#tell(board.status);
        } else if (board.status.reason !== reason) {
          board.status = { ...board.status, reason };
          this.#tell(board.status);
        }
      },
      master: (addr: string) => {
        const was = board.status.master;
        if (was === addr) return;
        board.status = { ...board.status, master: addr, failovers: board.status.failovers + (was ? 1 : 0) };
        if (was) this.log(`Redis master of ${key} moved from ${was} to ${addr}: failover followed`);
        this.#tell(board.status);
      },
      leave: () => {
        board.members.delete(id);
        if (board.members.size === 0) this.#boards.delete(key);
      },
    };
  }

  /** Every known URL's status. */
  list(): RedisUrlStatus[] {
    return [...this.#boards.values()].map((b) => ({ ...b.status }));
  }

  /** Each target as metrics: up, outages, and for Sentinel the master and the failovers followed. */
  gauges(): Array<{ name: string; help: string; value: number; labels: Record<string, string> }> {
    type Gauge = { name: string; help: string; value: number; labels: Record<string, string> };
    return this.list().flatMap((s): Gauge[] => {
      const labels = { target: s.url };
      const out: Gauge[] = [
        { name: "harvester_redis_up", help: "1 while Redis answers.", value: s.up ? 1 : 0, labels },
        {
          name: "harvester_redis_outages_total",
          help: "Times Redis went away since start.",
          value: s.outages,
          labels,
        },
      ];
      if (s.master) {
        out.push(
          {
            name: "harvester_redis_failovers_total",
            help: "Sentinel failovers followed (the master moved) since start.",
            value: s.failovers,
            labels,
          },
          {
            name: "harvester_redis_master",
            help: "The master a Sentinel target points at now (value 1).",
            value: 1,
            labels: { ...labels, master: s.master },
          },
        );
      }
      return out;
    });
  }

  /** Follow transitions (and reason changes); returns an unsubscribe function. */
  subscribe(listener: (s: RedisUrlStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #tell(s: RedisUrlStatus): void {
    for (const l of this.#listeners) {
      try {
        l({ ...s });
      } catch { /* a listener must not break reporting */ }
    }
  }
}

/** The board every {@link RedisConnection} of this process reports into. */
export const redisStatus: RedisStatusBoard = new RedisStatusBoard();
