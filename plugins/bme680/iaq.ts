/**
 * Indoor air quality from gas resistance and humidity, the way the old plugin did it:
 * a burn-in period whose mean gas resistance becomes the clean-air baseline (then tracked
 * slowly), and a score of 75 % gas (ratio to baseline) and 25 % humidity (distance from the
 * ideal 40 %RH) on a 0–500 scale where lower is better.
 *
 * @module
 */

/** Humidity the score treats as ideal, %RH. */
export const IDEAL_HUMIDITY = 40;
/** Share of the score from gas. */
export const GAS_WEIGHT = 0.75;
/** Share of the score from humidity. */
export const HUMIDITY_WEIGHT = 0.25;

/** What is persisted in the plugin's state so burn-in survives restarts. */
export interface IaqState {
  /** Clean-air gas resistance (Ω) once burn-in is done, else null. */
  baseline: number | null;
  burnInStartedAt: number | null;
  burnInSum: number;
  burnInCount: number;
}

/** Quality bands, with the LED colour each shows. */
export type IaqStatus = "calibrating" | "excellent" | "good" | "moderate" | "poor" | "bad";

/** IAQ settings. */
export interface IaqOptions {
  /** Burn-in length in ms. */
  burnInMs: number;
  /** Fewest samples a burn-in needs, however long it took. */
  burnInMinSamples: number;
  /** Per-sample pull of the baseline towards cleaner air (higher resistance). */
  trackUp: number;
  /** Per-sample pull of the baseline towards dirtier air: slow, so pollution does not become normal. */
  trackDown: number;
}

export const IAQ_DEFAULTS: IaqOptions = {
  burnInMs: 180_000,
  burnInMinSamples: 5,
  trackUp: 0.05,
  trackDown: 0.001,
};

/** A fresh state: burn-in not started. */
export function freshIaqState(): IaqState {
  return { baseline: null, burnInStartedAt: null, burnInSum: 0, burnInCount: 0 };
}

/** Whether `v` is a usable persisted {@link IaqState}. */
export function isIaqState(v: unknown): v is IaqState {
  const s = v as IaqState;
  return typeof s === "object" && s !== null &&
    (s.baseline === null || (typeof s.baseline === "number" && s.baseline > 0)) &&
    (s.burnInStartedAt === null || typeof s.burnInStartedAt === "number") &&
    typeof s.burnInSum === "number" && typeof s.burnInCount === "number";
}

/** Score 0..500 (lower is better) for a gas resistance against a baseline, and humidity. */
export function iaqScore(gasOhm: number, baselineOhm: number, humidityPct: number): number {
  const ratio = Math.min(1, Math.max(0, gasOhm / baselineOhm));
  const gasBad = 1 - ratio;
  const offset = humidityPct - IDEAL_HUMIDITY;
  const humBad = offset > 0
    ? Math.min(1, offset / (100 - IDEAL_HUMIDITY))
    : Math.min(1, -offset / IDEAL_HUMIDITY);
  return Math.round((GAS_WEIGHT * gasBad + HUMIDITY_WEIGHT * humBad) * 500 * 10) / 10;
}

/** Band of a score. */
export function iaqStatus(score: number): Exclude<IaqStatus, "calibrating"> {
  if (score <= 50) return "excellent";
  if (score <= 100) return "good";
  if (score <= 150) return "moderate";
  if (score <= 200) return "poor";
  return "bad";
}

/** LED colour per band (calibrating purple, then green … red). */
export const IAQ_COLOURS: Record<IaqStatus, [number, number, number]> = {
  calibrating: [128, 0, 128],
  excellent: [0, 255, 0],
  good: [128, 255, 0],
  moderate: [255, 255, 0],
  poor: [255, 128, 0],
  bad: [255, 0, 0],
};

/**
 * Feed one heat-stable gas sample; returns the new state and the score (0 while calibrating).
 *
 * @example
 * ```ts
 * import { freshIaqState, updateIaq, IAQ_DEFAULTS } from "./iaq.ts";
 * const r = updateIaq(freshIaqState(), 100_000, 40, 0, IAQ_DEFAULTS);
 * console.assert(r.status === "calibrating" && r.iaq === 0);
 * ```
 */
export function updateIaq(
  state: IaqState,
  gasOhm: number,
  humidityPct: number,
  now: number,
  options: IaqOptions,
): { state: IaqState; iaq: number; status: IaqStatus } {
  if (state.baseline === null) {
    const started = state.burnInStartedAt ?? now;
    const next = {
      baseline: null,
      burnInStartedAt: started,
      burnInSum: state.burnInSum + gasOhm,
      burnInCount: state.burnInCount + 1,
    };
    if (now - started < options.burnInMs || next.burnInCount < options.burnInMinSamples) {
      return { state: next, iaq: 0, status: "calibrating" };
    }
    const baseline = next.burnInSum / next.burnInCount;
    return finish({ ...next, baseline }, gasOhm, humidityPct);
  }
  const pull = gasOhm > state.baseline ? options.trackUp : options.trackDown;
  const baseline = state.baseline + pull * (gasOhm - state.baseline);
  return finish({ ...state, baseline }, gasOhm, humidityPct);
}

function finish(state: IaqState, gasOhm: number, humidityPct: number) {
  const iaq = iaqScore(gasOhm, state.baseline as number, humidityPct);
  return { state, iaq, status: iaqStatus(iaq) as IaqStatus };
}
