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

/**
 * The figures `keys` (`Pss`, `Pss_Anon`, …) of `/proc/<pid>/smaps_rollup`, in MiB, from one read.
 * PSS divides every page shared with other processes (the deno binary, libraries) among them, so
 * the PSS of a service's processes add up to what the service costs the machine.
 */
function rollupMb(pid: number, keys: string[]): number[] {
  const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  return keys.map((key) => {
    const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    if (!m) {
      throw new Error(`Cannot read ${key} of process ${pid}: no such line in /proc/${pid}/smaps_rollup`);
    }
    return Number(m[1]) / 1024;
  });
}

/** One process of a tree: its pid, what it runs (from its command line) and its PSS and RSS in MiB. */
export interface ProcessMemory {
  pid: number;
  role: string;
  pssMb: number;
  rssMb: number;
  /** The anonymous part of the PSS (heaps, stacks): what this process allocated. */
  anonMb: number;
  /** The file-backed part of the PSS (the deno binary and libraries it touched, divided among sharers). */
  fileMb: number;
}

/** PSS and RSS of `pid` and each of its descendants (processes that exit meanwhile are left out). */
export function treeMemory(pid: number, role: (cmdline: string[]) => string): ProcessMemory[] {
  const out: ProcessMemory[] = [];
  for (const p of tree(pid)) {
    try {
      const cmd = Deno.readTextFileSync(`/proc/${p}/cmdline`).split("\0").filter(Boolean);
      const [pss, anon, file] = rollupMb(p, ["Pss", "Pss_Anon", "Pss_File"]);
      out.push({ pid: p, role: role(cmd), pssMb: pss, rssMb: rssMb(p), anonMb: anon, fileMb: file });
    } catch { /* exited */ }
  }
  return out;
}
