/**
 * DHT22 plugin: room temperature and humidity through the host driver, alarms with a
 * deadband so a reading hovering at a threshold does not flicker, LED 1 for the room, and
 * three beeps when the room *enters* the hot alarm (not on every poll).
 *
 * Settings (`[plugins.dht22]`): `pin` (default 4), `led` (default 1), `high_temp` (30),
 * `low_temp` (15), `band` (2), `high_humidity` (70), `low_humidity` (25).
 *
 * @module
 */
import { bestEffort, definePlugin, numberSetting, type PluginContext, type Reading } from "../sdk/mod.ts";

/** A two-sided alarm with hysteresis: enters at a threshold, clears only `band` past it. */
export class Deadband {
  #high = false;
  #low = false;

  constructor(readonly highAt: number, readonly lowAt: number, readonly band: number) {}

  /** Feed one value; returns the alarm state after it. */
  update(value: number): "high" | "low" | "normal" {
    if (this.#high) this.#high = value >= this.highAt - this.band;
    else this.#high = value >= this.highAt;
    if (this.#low) this.#low = value <= this.lowAt + this.band;
    else this.#low = value <= this.lowAt;
    return this.#high ? "high" : this.#low ? "low" : "normal";
  }
}

/** LED colours for the room. */
export const DHT22_COLOURS = {
  hot: [255, 0, 0],
  cold: [0, 0, 255],
  warm: [255, 128, 0],
  normal: [0, 255, 0],
} as const;

/** Above this the room shows orange (without an alarm). */
export const WARM_C = 25;

interface Settings {
  pin: number;
  led: number;
  temp: Deadband;
  humidity: Deadband;
}

function readSettings(ctx: PluginContext): Settings {
  const band = numberSetting(ctx, "band", 2, 0, 20);
  const highT = numberSetting(ctx, "high_temp", 30, -40, 80);
  const lowT = numberSetting(ctx, "low_temp", 15, -40, 80);
  const highH = numberSetting(ctx, "high_humidity", 70, 0, 100);
  const lowH = numberSetting(ctx, "low_humidity", 25, 0, 100);
  if (lowT + band >= highT - band || lowH + band >= highH - band) {
    throw new RangeError(
      `Cannot configure plugin "${ctx.id}": low and high thresholds overlap once the band of ${band} is applied`,
    );
  }
  return {
    pin: numberSetting(ctx, "pin", 4, 0, 63, true),
    led: numberSetting(ctx, "led", 1, 0, 255, true),
    temp: new Deadband(highT, lowT, band),
    humidity: new Deadband(highH, lowH, band),
  };
}

/** A fresh plugin instance with its own alarm state. */
export function createDht22Plugin() {
  let settings: Settings | null = null;
  let tempAlarm: "high" | "low" | "normal" = "normal";

  return definePlugin({
    init(ctx: PluginContext) {
      if (!ctx.dht22) {
        throw new Error(`Cannot start plugin "${ctx.id}": the "dht22" capability is not in its world`);
      }
      settings = readSettings(ctx);
    },

    async poll(ctx: PluginContext): Promise<Reading[]> {
      const s = settings ??= readSettings(ctx);
      const { temperatureC, humidityPct } = await ctx.dht22!.read(s.pin);
      const t = s.temp.update(temperatureC);
      const h = s.humidity.update(humidityPct);
      const alarms = [
        ...(t === "high" ? ["hot"] : t === "low" ? ["cold"] : []),
        ...(h === "high" ? ["humid"] : h === "low" ? ["dry"] : []),
      ];
      const entering = t === "high" && tempAlarm !== "high";
      if (t !== tempAlarm) ctx.log.info(`Room temperature alarm ${tempAlarm} → ${t} at ${temperatureC} °C`);
      tempAlarm = t;
      const colour = t === "high"
        ? DHT22_COLOURS.hot
        : t === "low"
        ? DHT22_COLOURS.cold
        : temperatureC > WARM_C
        ? DHT22_COLOURS.warm
        : DHT22_COLOURS.normal;
      if (ctx.led) {
        await bestEffort(ctx, `set LED ${s.led}`, () => ctx.led!.set(s.led, colour[0], colour[1], colour[2]));
      }
      if (entering && ctx.buzzer) await bestEffort(ctx, "sound the buzzer", () => ctx.buzzer!.beep("triple"));
      return [{
        sensor: "dht22",
        values: {
          temperature: temperatureC,
          humidity: humidityPct,
          alarm: alarms.length ? alarms.join(",") : "none",
        },
        units: { temperature: "°C", humidity: "%" },
        timestamp: ctx.clock.now(),
      }];
    },
  });
}

export default createDht22Plugin();
