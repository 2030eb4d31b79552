/**
 * {@link FileSharedState}: one JSON file per node, `<dir>/<node>.json`. Every write goes to
 * a temp file in the same directory and is renamed over the target; `rename(2)` within one
 * filesystem is atomic, so a reader sees the old or the new snapshot, never a torn one.
 * Temp files left by a process that died mid-write are removed at open.
 *
 * @module
 */
import type { EventSink } from "../events/event.ts";
import type { Snapshot } from "./snapshot.ts";
import type { NodeSharedState } from "./node_state.ts";
import { checkNode, parseSnapshot, serializeSnapshot } from "./validate.ts";

/**
 * A directory this service owns for snapshot files: `$RUNTIME_DIRECTORY` (systemd's
 * `RuntimeDirectory=`) when set, else `harvester-<uid>` under `/dev/shm`, or under `/tmp`
 * where `/dev/shm` is missing.
 */
export function defaultShmDir(
  env: { get(k: string): string | undefined } = Deno.env,
  shm = "/dev/shm",
  tmp = "/tmp",
): string {
  const runtime = env.get("RUNTIME_DIRECTORY")?.split(":")[0];
  if (runtime) return runtime;
  const uid = Deno.uid() ?? 0;
  try {
    if (Deno.statSync(shm).isDirectory) return `${shm}/harvester-${uid}`;
  } catch { /* no tmpfs here */ }
  return `${tmp}/harvester-${uid}`;
}

/**
 * Create `dir` (0750) when missing and make sure only this service can write it: owned by this
 * user and not writable by others. `/dev/shm` itself (mode 1777) is refused: anyone could
 * pre-create or swap `<node>.json` there.
 *
 * @throws {Error} `Cannot use snapshot directory '…': …` naming the problem
 */
export function ensureOwnedDir(dir: string): void {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new Error(`Cannot use snapshot directory '${dir}': ${(e as Error).message}`, { cause: e });
  }
  const st = Deno.statSync(dir);
  if (!st.isDirectory) throw new Error(`Cannot use snapshot directory '${dir}': not a directory`);
  const uid = Deno.uid();
  if (uid !== null && st.uid !== null && st.uid !== uid) {
    throw new Error(
      `Cannot use snapshot directory '${dir}': owned by uid ${st.uid}, not this service (uid ${uid})`,
    );
  }
  if (st.mode !== null && (st.mode & 0o002) !== 0) {
    throw new Error(
      `Cannot use snapshot directory '${dir}': writable by every user (mode ${
        (st.mode & 0o7777).toString(8)
      }); use a directory the service owns, e.g. '${dir.replace(/\/+$/, "")}/harvester'`,
    );
  }
}

const TEMP = /^\.(.+)\.json\.(\d+)\.\d+\.tmp$/;

/** Options for {@link FileSharedState}. */
export interface FileSharedStateOptions {
  node: string;
  /** Directory; default {@link defaultShmDir}. Created when missing. */
  dir?: string;
  emit?: EventSink;
}

/** Shared state in files written atomically. */
export class FileSharedState implements NodeSharedState {
  readonly kind = "file";
  readonly node: string;
  readonly dir: string;
  #emit: EventSink["emit"];
  #seq = 0;

  /**
   * @throws {TypeError} When `node` is not a safe node id.
   * @throws {Deno.errors.PermissionDenied} When the directory cannot be created.
   */
  constructor(options: FileSharedStateOptions) {
    this.node = checkNode(options.node, "open shared state");
    this.dir = options.dir ?? defaultShmDir();
    this.#emit = (t, d) => options.emit?.emit(t, d);
    ensureOwnedDir(this.dir);
    this.#removeStrayTemps();
  }

  /** The file that holds `node`'s snapshot. */
  path(node = this.node): string {
    return `${this.dir}/${checkNode(node, "name snapshot file")}.json`;
  }

  /**
   * Write atomically (temp file + rename).
   *
   * @throws {TypeError} When the snapshot does not match the schema.
   * @throws {Error} When the directory is not writable (`Cannot write snapshot file …`).
   */
  async write(snapshot: Snapshot): Promise<void> {
    const text = serializeSnapshot(snapshot);
    const target = this.path(snapshot.node);
    const temp = `${this.dir}/.${snapshot.node}.json.${Deno.pid}.${this.#seq++}.tmp`;
    try {
      await Deno.writeTextFile(temp, text, { mode: 0o640, createNew: true });
      await Deno.rename(temp, target);
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw new Error(`Cannot write snapshot file '${target}': ${(err as Error).message}`, { cause: err });
    }
  }

  /** Null when missing; null plus an `error` event when the file is corrupt. */
  async read(node = this.node): Promise<Snapshot | null> {
    const file = this.path(node);
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      this.#emit("error", {
        source: "shm",
        backend: this.kind,
        node,
        message: `Cannot read '${file}': ${err}`,
      });
      return null;
    }
    const r = parseSnapshot(text);
    if (r.ok) return r.snapshot;
    this.#emit("error", {
      source: "shm",
      backend: this.kind,
      node,
      message: `Cannot read '${file}': ${r.error}`,
    });
    return null;
  }

  async nodes(): Promise<string[]> {
    const out: string[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (!e.isFile || !e.name.endsWith(".json") || e.name.startsWith(".")) continue;
      const node = e.name.slice(0, -5);
      try {
        out.push(checkNode(node));
      } catch { /* not one of ours */ }
    }
    return out.sort();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #removeStrayTemps(): void {
    for (const e of Deno.readDirSync(this.dir)) {
      const m = TEMP.exec(e.name);
      if (!m || Number(m[2]) === Deno.pid || alive(Number(m[2]))) continue;
      try {
        Deno.removeSync(`${this.dir}/${e.name}`);
      } catch { /* raced with another cleaner */ }
    }
  }
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
