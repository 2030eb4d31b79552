/**
 * System monitor plugin: CPU temperature, usage, memory and uptime of this board; LED 3
 * green / orange above 60 °C / red above 75 °C, and two beeps when the CPU *enters* the
 * hot state (it leaves it only 2 °C below, so a CPU at 75 °C does not beep every poll).
 *
 * Settings (`[plugins.system-monitor]`): `led` (default 3), `warm_c` (60), `hot_c` (75).
 *
 * @module
 */
import { bestEffort, definePlugin, numberSetting, type PluginContext, type Reading } from "../sdk/mod.ts";

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

function readSettings(ctx: PluginContext): Settings {
  const s = {
    led: Math.trunc(numberSetting(ctx, "led", 3, 0, 255)),
    warmC: numberSetting(ctx, "warm_c", 60, 0, 120),
    hotC: numberSetting(ctx, "hot_c", 75, 0, 120),
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
      if (ctx.led) await bestEffort(ctx, `set LED ${s.led}`, () => ctx.led!.set(s.led, c[0], c[1], c[2]));
      if (hot && !wasHot && ctx.buzzer) {
        await bestEffort(ctx, "sound the buzzer", () => ctx.buzzer!.beepCount(2));
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
