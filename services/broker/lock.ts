/**
 * Exclusive ownership of the buses: one lock file per bus, held with `flock` (`Deno.FsFile.tryLockSync`)
 * on an open file for as long as the broker lives. The kernel drops the lock when its owner dies,
 * so a crashed broker leaves nothing that blocks, and a pid written in the file is only a label:
 * a reused pid cannot block start-up. A second broker on the same bus refuses to start and names
 * the holder (the pid in the file, written by the holder while it holds the lock).
 *
 * @module
 */

/** Thrown when another live process holds a bus. */
export class BusLockError extends Error {
  override name = "BusLockError";
  constructor(readonly resource: string, readonly holderPid: number, readonly lockPath: string) {
    super(
      `Cannot own ${resource}: held by broker pid ${
        holderPid > 0 ? holderPid : "(unknown)"
      } (lock ${lockPath}); stop it or choose other buses`,
    );
  }
}

/** A set of held locks; release() unlocks and removes them. */
export interface BusLocks {
  readonly paths: string[];
  release(): void;
}

function lockName(resource: string): string {
  return resource.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.-]+/g, "_") + ".lock";
}

function holder(path: string): number | null {
  try {
    const pid = JSON.parse(Deno.readTextFileSync(path)).pid;
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Whether `file` is still the file at `path` (not unlinked and replaced by a releasing owner). */
function samePath(file: Deno.FsFile, path: string): boolean {
  try {
    return file.statSync().ino === Deno.statSync(path).ino;
  } catch {
    return false;
  }
}

/** Open and flock `path`; null when another process holds it. */
function tryLock(path: string, body: Uint8Array): Deno.FsFile | null {
  for (let attempt = 0; attempt < 5; attempt++) {
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    let locked = false;
    try {
      locked = file.tryLockSync(true);
    } catch (e) {
      file.close();
      throw e;
    }
    if (!locked) {
      file.close();
      return null;
    }
    if (!samePath(file, path)) {
      // The previous owner removed it between our open and our lock: lock the new file instead.
      file.close();
      continue;
    }
    file.truncateSync(0);
    file.writeSync(body);
    return file;
  }
  return null;
}

/**
 * Take a lock for each resource (e.g. `/dev/i2c-1`, `sim:i2c-1`), all or none.
 *
 * @param resources what to own
 * @param dir where lock files live
 * @throws {BusLockError} when another process holds one of them
 */
export function acquireBusLocks(resources: string[], dir: string): BusLocks {
  Deno.mkdirSync(dir, { recursive: true });
  const held: Array<{ path: string; file: Deno.FsFile }> = [];
  const body = new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, started: new Date().toISOString() }));
  const release = () => {
    for (const { path, file } of held.splice(0)) {
      // Removed while still locked, then closed: a waiter re-checks the path (samePath).
      try {
        Deno.removeSync(path);
      } catch { /* already gone */ }
      try {
        file.close();
      } catch { /* closed */ }
    }
  };
  try {
    for (const resource of resources) {
      const path = `${dir}/${lockName(resource)}`;
      const file = tryLock(path, body);
      if (!file) throw new BusLockError(resource, holder(path) ?? -1, path);
      held.push({ path, file });
    }
  } catch (e) {
    release();
    throw e;
  }
  return { paths: held.map((h) => h.path), release };
}
