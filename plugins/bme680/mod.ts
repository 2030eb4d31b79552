/**
 * BME680 plugin: temperature, humidity, pressure, gas resistance and IAQ over the generic
 * I2C capability, LED 2 showing the air-quality band, and the buzzer when the air is bad.
 *
 * Settings (`[plugins.bme680]`): `address` (0x76/0x77, default 0x77), `led` (default 2),
 * `heater_temp_c` (200..400, default 320), `heater_ms` (1..4032, default 150),
 * `burn_in_seconds` (default 180), `alarm_repeat_seconds` (default 300).
 *
 * @module
 */
import { bestEffort, definePlugin, numberSetting, type PluginContext, type Reading } from "../sdk/mod.ts";
import { Bme680 } from "./driver.ts";
import {
  freshIaqState,
  IAQ_COLOURS,
  IAQ_DEFAULTS,
  type IaqOptions,
  type IaqState,
  type IaqStatus,
  isIaqState,
  updateIaq,
} from "./iaq.ts";

/** Key of the persisted IAQ state. */
export const STATE_KEY = "iaq";

const UNITS = {
  temperature: "°C",
  humidity: "%",
  pressure: "hPa",
  gas_resistance: "Ω",
  iaq: "IAQ",
};

/** Parsed settings. */
interface Settings {
  address: number;
  led: number;
  heaterTempC: number;
  heaterMs: number;
  alarmRepeatMs: number;
  iaq: IaqOptions;
}

function readSettings(ctx: PluginContext): Settings {
  const address = ctx.settings.address ?? 0x77;
  if (address !== 0x76 && address !== 0x77) {
    throw new RangeError(
      `Cannot configure plugin "${ctx.id}": setting "address" must be 0x76 (118) or 0x77 (119), got ${
        JSON.stringify(address)
      }`,
    );
  }
  return {
    address,
    led: Math.trunc(numberSetting(ctx, "led", 2, 0, 255)),
    heaterTempC: numberSetting(ctx, "heater_temp_c", 320, 200, 400),
    heaterMs: numberSetting(ctx, "heater_ms", 150, 1, 4032),
    alarmRepeatMs: numberSetting(ctx, "alarm_repeat_seconds", 300, 0, 86400) * 1000,
    iaq: { ...IAQ_DEFAULTS, burnInMs: numberSetting(ctx, "burn_in_seconds", 180, 0, 86400) * 1000 },
  };
}

/**
 * A fresh plugin instance (module state of its own; tests make one per simulated start).
 */
export function createBme680Plugin() {
  let settings: Settings;
  let sensor: Bme680 | null = null;
  let iaqState: IaqState = freshIaqState();
  let last: { iaq: number; status: IaqStatus } = { iaq: 0, status: "calibrating" };
  let alarmStatus: IaqStatus | null = null;
  let lastAlarmAt = -Infinity;

  /** LED and buzzer are courtesies: a refused grant is logged, the reading still goes out. */

  async function indicate(ctx: PluginContext, status: IaqStatus): Promise<void> {
    const [r, g, b] = IAQ_COLOURS[status];
    if (ctx.led) await bestEffort(ctx, `set LED ${settings.led}`, () => ctx.led!.set(settings.led, r, g, b));
    const now = ctx.clock.now();
    if (
      status === "bad" && ctx.buzzer && (alarmStatus !== "bad" || now - lastAlarmAt >= settings.alarmRepeatMs)
    ) {
      lastAlarmAt = now;
      await bestEffort(ctx, "sound the buzzer", () => ctx.buzzer!.beep("triple"));
    }
    alarmStatus = status;
  }

  return definePlugin({
    async init(ctx: PluginContext) {
      settings = readSettings(ctx);
      if (!ctx.i2c) {
        throw new Error(`Cannot start plugin "${ctx.id}": the "i2c" capability is not in its world`);
      }
      const saved = await ctx.state?.get(STATE_KEY);
      if (saved !== undefined && !isIaqState(saved)) ctx.log.warn("Discarding a malformed saved IAQ state");
      iaqState = isIaqState(saved) ? saved : freshIaqState();
      const dev = ctx.i2c.device(settings.address);
      const chip = new Bme680(dev, ctx.clock, {
        heaterTempC: settings.heaterTempC,
        heaterMs: settings.heaterMs,
      });
      await chip.init();
      sensor = chip;
      // Purple from the start of a burn-in; with a saved baseline the first poll sets the colour.
      if (iaqState.baseline === null) await indicate(ctx, "calibrating");
    },

    async poll(ctx: PluginContext): Promise<Reading[]> {
      if (!sensor) throw new Error(`Cannot poll plugin "${ctx.id}": init() has not completed`);
      const m = await sensor.measure();
      if (m.gasResistanceOhm !== null) {
        const r = updateIaq(iaqState, m.gasResistanceOhm, m.humidityPct, ctx.clock.now(), settings.iaq);
        iaqState = r.state;
        last = { iaq: r.iaq, status: r.status };
        await ctx.state?.set(STATE_KEY, iaqState);
      } else {
        ctx.log.warn("BME680 gas conversion not heat-stable: IAQ not updated");
      }
      await indicate(ctx, last.status);
      return [{
        sensor: "bme680",
        values: {
          temperature: m.temperatureC,
          humidity: Math.round(m.humidityPct * 100) / 100,
          pressure: Math.round(m.pressureHpa * 100) / 100,
          gas_resistance: m.gasResistanceOhm,
          iaq: last.iaq,
          iaq_status: last.status,
        },
        units: UNITS,
        timestamp: ctx.clock.now(),
      }];
    },
  });
}

export default createBme680Plugin();
