/**
 * Exclusive ownership of the buses: one lock file per bus, holding the owner's pid. A second
 * broker on the same bus refuses to start and names the holder, instead of corrupting transfers.
 *
 * @module
 */

/** Thrown when another live process holds a bus. */
export class BusLockError extends Error {
  override name = "BusLockError";
  constructor(readonly resource: string, readonly holderPid: number, readonly lockPath: string) {
    super(
      `Cannot own ${resource}: held by broker pid ${holderPid} (lock ${lockPath}); stop it or choose other buses`,
    );
  }
}

/** A set of held locks; release() removes them. */
export interface BusLocks {
  readonly paths: string[];
  release(): void;
}

function alive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function lockName(resource: string): string {
  return resource.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.-]+/g, "_") + ".lock";
}

function tryCreate(path: string, body: string): boolean {
  try {
    const f = Deno.openSync(path, { createNew: true, write: true });
    f.writeSync(new TextEncoder().encode(body));
    f.close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
}

function holder(path: string): number | null {
  try {
    const pid = JSON.parse(Deno.readTextFileSync(path)).pid;
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Take a lock for each resource (e.g. `/dev/i2c-1`, `sim:i2c-1`), all or none.
 *
 * @param resources what to own
 * @param dir where lock files live
 * @throws {BusLockError} when a live process holds one of them
 */
export function acquireBusLocks(resources: string[], dir: string): BusLocks {
  Deno.mkdirSync(dir, { recursive: true });
  const held: string[] = [];
  const body = JSON.stringify({ pid: Deno.pid, started: new Date().toISOString() });
  const release = () => {
    for (const p of held.splice(0)) {
      if (holder(p) === Deno.pid) {
        try {
          Deno.removeSync(p);
        } catch { /* already gone */ }
      }
    }
  };
  try {
    for (const resource of resources) {
      const path = `${dir}/${lockName(resource)}`;
      if (!tryCreate(path, body)) {
        const pid = holder(path);
        if (pid !== null && pid !== Deno.pid && alive(pid)) throw new BusLockError(resource, pid, path);
        // Stale lock from a crashed broker (or our own): take it over.
        Deno.removeSync(path);
        if (!tryCreate(path, body)) {
          throw new BusLockError(resource, holder(path) ?? -1, path);
        }
      }
      held.push(path);
    }
  } catch (e) {
    release();
    throw e;
  }
  return { paths: [...held], release };
}
