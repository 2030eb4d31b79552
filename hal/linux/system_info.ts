/**
 * CPU temperature, usage, memory and uptime from procfs/sysfs (roots injectable for tests).
 *
 * @module
 */
import { HalError } from "../errors.ts";
import type { MemoryInfo, SystemInfo } from "../drivers.ts";

/** Where the files live. */
export interface LinuxSystemInfoOptions {
  /** Default `/proc`. */
  proc?: string;
  /** Default `/sys/class/thermal/thermal_zone0`. */
  thermalZone?: string;
}

/** {@link SystemInfo} for Linux. */
export class LinuxSystemInfo implements SystemInfo {
  readonly #proc: string;
  readonly #zone: string;
  #last: { busy: number; total: number } | undefined;

  constructor(options: LinuxSystemInfoOptions = {}) {
    this.#proc = options.proc ?? "/proc";
    this.#zone = options.thermalZone ?? "/sys/class/thermal/thermal_zone0";
  }

  /** Thermal zone 0 in °C (sysfs reports m°C). */
  async cpuTemperatureC(): Promise<number> {
    return parse(await read(`${this.#zone}/temp`, "CPU temperature"), `${this.#zone}/temp`) / 1000;
  }

  /** Busy share of all CPUs since the previous call (since boot on the first). */
  async cpuUsagePct(): Promise<number> {
    const path = `${this.#proc}/stat`;
    const line = (await read(path, "CPU usage")).split("\n").find((l) => l.startsWith("cpu "));
    if (!line) throw new HalError("io", `Cannot read CPU usage: ${path} has no 'cpu' line`);
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0); // idle + iowait
    const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
    const now = { busy: total - idle, total };
    const prev = this.#last ?? { busy: 0, total: 0 };
    this.#last = now;
    const dt = now.total - prev.total;
    return dt > 0 ? Math.round(((now.busy - prev.busy) / dt) * 1000) / 10 : 0;
  }

  /** From `/proc/meminfo` (MemTotal, MemAvailable), MiB. */
  async memory(): Promise<MemoryInfo> {
    const path = `${this.#proc}/meminfo`;
    const text = await read(path, "memory");
    const kb = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text);
      if (!m) throw new HalError("io", `Cannot read memory: ${path} has no ${key}`);
      return Number(m[1]);
    };
    const total = kb("MemTotal") / 1024, available = kb("MemAvailable") / 1024;
    const r = (x: number) => Math.round(x * 10) / 10;
    return { totalMb: r(total), usedMb: r(total - available), availableMb: r(available) };
  }

  /** First field of `/proc/uptime`. */
  async uptimeSeconds(): Promise<number> {
    const path = `${this.#proc}/uptime`;
    return parse((await read(path, "uptime")).split(/\s+/)[0], path);
  }
}

async function read(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    const code = e instanceof Deno.errors.NotFound
      ? "not_found"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission"
      : "io";
    throw new HalError(code, `Cannot read ${what} from ${path}`, { cause: e });
  }
}

function parse(text: string, path: string): number {
  const v = Number(text.trim());
  if (!Number.isFinite(v)) throw new HalError("io", `Cannot parse ${path}: '${text.trim()}' is not a number`);
  return v;
}
