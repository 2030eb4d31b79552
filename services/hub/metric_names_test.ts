import assert from "node:assert/strict";
import { readingMetric } from "./metric_names.ts";

Deno.test("readingMetric() names each quantity with its base unit and converts the value", () => {
  const cases: [string, string | undefined, unknown, string, number][] = [
    ["temperature", "°C", 21.5, "harvester_temperature_celsius", 21.5],
    ["cpu_temp", "°C", 44, "harvester_cpu_temperature_celsius", 44],
    ["humidity", "%", 45, "harvester_humidity_ratio", 0.45],
    ["cpu_usage", "%", 25.5, "harvester_cpu_usage_ratio", 0.255],
    ["pressure", "hPa", 1013.25, "harvester_pressure_pascals", 101325],
    ["gas_resistance", "Ω", 143329, "harvester_gas_resistance_ohms", 143329],
    ["memory_used_mb", "MiB", 2, "harvester_memory_used_bytes", 2 * 1024 * 1024],
    ["uptime_seconds", "s", 3610, "harvester_uptime_seconds", 3610],
    ["iaq", "IAQ", 50, "harvester_iaq", 50],
    ["warmth", undefined, 0.3, "harvester_warmth", 0.3],
    ["ok", undefined, true, "harvester_ok", 1],
  ];
  for (const [field, unit, value, name, converted] of cases) {
    const m = readingMetric(field, unit, value)!;
    assert.equal(m.name, name, field);
    assert.ok(Math.abs(m.value - converted) < 1e-9, `${field}: ${m.value}`);
    assert.match(m.name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
  }
  assert.equal(readingMetric("name", undefined, "Anima"), null);
  assert.equal(readingMetric("x", "°C", Number.NaN), null);
});
