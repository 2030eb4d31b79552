/**
 * System monitor plugin: CPU temperature, usage, memory and uptime of this board; LED 3
 * green / orange above 60 °C / red above 75 °C, and two beeps when the CPU *enters* the
 * hot state (it leaves it only 2 °C below, so a CPU at 75 °C does not beep every poll).
 *
 * Settings (`[plugins.system-monitor]`): `led` (default 3), `warm_c` (60), `hot_c` (75).
 *
 * @module
 */
import { definePlugin, type PluginContext, type Reading } from "../sdk/mod.ts";

/** How far below `hot_c` the CPU must cool before the hot state ends. */
export const HOT_BAND_C = 2;

export const SYSTEM_COLOURS = {
  hot: [255, 0, 0],
  warm: [255, 128, 0],
  normal: [0, 255, 0],
} as const;

interface Settings {
  led: number;
  warmC: number;
  hotC: number;
}

function setting(ctx: PluginContext, name: string, fallback: number, min: number, max: number): number {
  const v = ctx.settings[name] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new RangeError(
      `Cannot configure plugin "${ctx.id}": setting "${name}" must be a number in ${min}..${max}, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return v;
}

function readSettings(ctx: PluginContext): Settings {
  const s = {
    led: Math.trunc(setting(ctx, "led", 3, 0, 255)),
    warmC: setting(ctx, "warm_c", 60, 0, 120),
    hotC: setting(ctx, "hot_c", 75, 0, 120),
  };
  if (s.warmC >= s.hotC) {
    throw new RangeError(
      `Cannot configure plugin "${ctx.id}": "warm_c" (${s.warmC}) must be below "hot_c" (${s.hotC})`,
    );
  }
  return s;
}

/** A fresh plugin instance with its own hot state. */
export function createSystemMonitorPlugin() {
  let settings: Settings | null = null;
  let hot = false;

  async function courtesy(ctx: PluginContext, what: string, act: () => Promise<void>): Promise<void> {
    try {
      await act();
    } catch (e) {
      // By name: the sandbox raises its own copy of the class, not the bundled one.
      if (!(e instanceof Error) || e.name !== "CapabilityError") throw e;
      ctx.log.warn(`Cannot ${what}: ${e.message}`);
    }
  }

  return definePlugin({
    init(ctx: PluginContext) {
      if (!ctx.system) {
        throw new Error(`Cannot start plugin "${ctx.id}": the "system-info" capability is not in its world`);
      }
      settings = readSettings(ctx);
    },

    async poll(ctx: PluginContext): Promise<Reading[]> {
      const s = settings ??= readSettings(ctx);
      const sys = ctx.system!;
      const [cpuTemp, cpuUsage, memory, uptime] = await Promise.all([
        sys.cpuTemperatureC(),
        sys.cpuUsagePct(),
        sys.memory(),
        sys.uptimeSeconds(),
      ]);
      const wasHot = hot;
      hot = hot ? cpuTemp > s.hotC - HOT_BAND_C : cpuTemp > s.hotC;
      if (hot !== wasHot) ctx.log.info(`CPU ${hot ? "running hot" : "cooled down"} at ${cpuTemp} °C`);
      const c = hot ? SYSTEM_COLOURS.hot : cpuTemp > s.warmC ? SYSTEM_COLOURS.warm : SYSTEM_COLOURS.normal;
      if (ctx.led) await courtesy(ctx, `set LED ${s.led}`, () => ctx.led!.set(s.led, c[0], c[1], c[2]));
      if (hot && !wasHot && ctx.buzzer) {
        await courtesy(ctx, "sound the buzzer", () => ctx.buzzer!.beepCount(2));
      }
      return [{
        sensor: "system",
        values: {
          cpu_temp: cpuTemp,
          cpu_usage: cpuUsage,
          memory_used_mb: memory.usedMb,
          memory_total_mb: memory.totalMb,
          uptime_seconds: uptime,
        },
        units: {
          cpu_temp: "°C",
          cpu_usage: "%",
          memory_used_mb: "MiB",
          memory_total_mb: "MiB",
          uptime_seconds: "s",
        },
        timestamp: ctx.clock.now(),
      }];
    },
  });
}

export default createSystemMonitorPlugin();
