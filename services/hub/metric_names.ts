/**
 * Prometheus names for reading fields: one metric per quantity with its base unit in the name
 * (`harvester_temperature_celsius`, `harvester_pressure_pascals`, `harvester_humidity_ratio`,
 * `harvester_memory_used_bytes`), values converted to that unit, labels `node` and `sensor`.
 *
 * @module
 */

/** Unit → metric suffix and the factor to the base unit Prometheus expects. */
const UNITS: Record<string, { suffix: string; factor: number }> = {
  "°C": { suffix: "celsius", factor: 1 },
  "%": { suffix: "ratio", factor: 0.01 },
  hPa: { suffix: "pascals", factor: 100 },
  Pa: { suffix: "pascals", factor: 1 },
  "Ω": { suffix: "ohms", factor: 1 },
  MiB: { suffix: "bytes", factor: 1024 * 1024 },
  KiB: { suffix: "bytes", factor: 1024 },
  B: { suffix: "bytes", factor: 1 },
  s: { suffix: "seconds", factor: 1 },
  ms: { suffix: "seconds", factor: 0.001 },
  V: { suffix: "volts", factor: 1 },
  W: { suffix: "watts", factor: 1 },
};

/** Field-name endings that restate the unit, and abbreviations spelled out. */
const STRIP = [/_(mb|kb|bytes|seconds|secs|ms|pct|percent)$/, /_c$/];
const SPELL: Record<string, string> = { temp: "temperature", cpu_temp: "cpu_temperature" };

/** The metric name and converted value of one reading field, or null when it has no number. */
export function readingMetric(
  field: string,
  unit: string | undefined,
  value: unknown,
): { name: string; value: number } | null {
  const num = typeof value === "number" ? value : typeof value === "boolean" ? Number(value) : null;
  if (num === null || !Number.isFinite(num)) return null;
  let base = field.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  for (const re of STRIP) base = base.replace(re, "");
  base = SPELL[base] ?? base;
  const u = unit ? UNITS[unit] : undefined;
  const suffix = u && !base.endsWith(`_${u.suffix}`) ? `_${u.suffix}` : "";
  const factor = u?.factor ?? 1;
  return { name: `harvester_${base}${suffix}`, value: num * factor };
}
