/**
 * Process figures for tests and benchmarks: find a service by its command line, and the resident set of its
 * whole process tree (the broker/hub process plus its sandbox children).
 *
 * @module
 */

/** pid of the process whose NUL-separated command line contains `needle`. */
export function pidOf(needle: string): number {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(needle)) return Number(e.name);
    } catch { /* exited */ }
  }
  throw new Error(`Cannot find a process whose command line contains ${JSON.stringify(needle)}`);
}

function parentOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** `pid` and all its descendants. */
export function tree(pid: number): number[] {
  const all: [number, number][] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      all.push([Number(e.name), parentOf(Number(e.name))]);
    } catch { /* exited */ }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of all) if (pp === out[i]) out.push(p);
  return out;
}

/** Resident set of one process in MiB. */
export function rssMb(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : 0;
}

/** Resident set of `pid` and its descendants, MiB. */
export function treeRssMb(pid: number): { total: number; main: number; children: number } {
  const pids = tree(pid);
  const main = rssMb(pid);
  const total = pids.reduce((s, p) => {
    try {
      return s + rssMb(p);
    } catch {
      return s;
    }
  }, 0);
  return { total, main, children: total - main };
}
