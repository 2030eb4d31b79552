/**
 * Resident-memory limit of one sandbox process: V8's heap cap does not count ArrayBuffers,
 * Blobs or other off-heap memory, so the host also bounds the process's resident set. Where
 * the service owns a cgroup v2 folder (systemd `Delegate=yes`, or any writable cgroup given as
 * `cgroupDir`), the sandbox gets a child cgroup with `memory.max` and the kernel enforces it;
 * everywhere, a watchdog reads `/proc/<pid>/status` and kills the process when VmRSS crosses
 * the limit. Either way the end is reported as an out-of-memory crash.
 *
 * @module
 */
import { join } from "node:path";

/** Options of {@link MemoryGuard}. */
export interface MemoryGuardOptions {
  /** Resident limit in bytes. */
  limitBytes: number;
  /** A cgroup v2 folder the service may create children in; none: watchdog only. */
  cgroupDir?: string;
  /** Watchdog period (default 100 ms). */
  periodMs?: number;
  /** Called once when the watchdog sees the limit crossed (the owner kills the process). */
  onExceeded: (residentBytes: number) => void;
}

/** Resident set of a process in bytes (VmRSS), or null when /proc has no answer. */
export async function residentBytes(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Watches (and where it can, caps) one process's resident memory. */
export class MemoryGuard {
  readonly #pid: number;
  readonly #o: MemoryGuardOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #cgroup?: string;
  #reading = false;
  #exceeded = false;
  /** Largest resident set seen, in bytes. */
  peakBytes = 0;

  constructor(pid: number, options: MemoryGuardOptions) {
    this.#pid = pid;
    this.#o = options;
    if (options.cgroupDir) this.#cgroup = this.#join(options.cgroupDir);
    this.#timer = setInterval(() => void this.#check(), options.periodMs ?? 100);
  }

  /** Whether the cgroup limit is in force (not only the watchdog). */
  get enforcedByKernel(): boolean {
    return this.#cgroup !== undefined;
  }

  /** Whether the limit was crossed (watchdog) or the kernel killed for it (cgroup). */
  get exceeded(): boolean {
    return this.#exceeded || this.#cgroupOomKills() > 0;
  }

  /** Stop watching and remove the cgroup. */
  stop(): void {
    clearInterval(this.#timer);
    if (!this.#cgroup) return;
    try {
      Deno.removeSync(this.#cgroup);
    } catch { /* still has a process, or already gone */ }
  }

  #join(base: string): string | undefined {
    const dir = join(base, `harvester-sandbox-${this.#pid}`);
    try {
      Deno.mkdirSync(dir);
      Deno.writeTextFileSync(join(dir, "memory.max"), String(this.#o.limitBytes));
      try {
        Deno.writeTextFileSync(join(dir, "memory.swap.max"), "0");
      } catch { /* no swap accounting */ }
      Deno.writeTextFileSync(join(dir, "cgroup.procs"), String(this.#pid));
      return dir;
    } catch {
      try {
        Deno.removeSync(dir);
      } catch { /* never made */ }
      return undefined;
    }
  }

  #cgroupOomKills(): number {
    if (!this.#cgroup) return 0;
    try {
      const m = Deno.readTextFileSync(join(this.#cgroup, "memory.events")).match(/^oom_kill (\d+)/m);
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  async #check(): Promise<void> {
    if (this.#reading || this.#exceeded) return;
    this.#reading = true;
    try {
      const rss = await residentBytes(this.#pid);
      if (rss === null) return;
      this.peakBytes = Math.max(this.peakBytes, rss);
      if (rss > this.#o.limitBytes) {
        this.#exceeded = true;
        this.#o.onExceeded(rss);
      }
    } finally {
      this.#reading = false;
    }
  }
}
