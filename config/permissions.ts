/**
 * `config/permissions.toml`: what each plugin may be granted, narrowing its manifest's world.
 * A plugin without a table gets nothing.
 *
 * @module
 */
import { z } from "zod";
import {
  bool,
  i2cAddress,
  keyedTable,
  list,
  num,
  PLUGIN_ID,
  PLUGIN_ID_RULE,
  str,
  table,
  validate,
} from "./_validate.ts";
import { readToml } from "./_toml.ts";

const pin = () => num({ min: 0, max: 255, int: true });

/** One plugin's `[<id>]` table. */
export const pluginPermissionsSchema = table({
  allow_i2c: list(i2cAddress()).default([]),
  allow_gpio: list(pin()).default([]),
  leds: list(num({ min: 0, max: 1023, int: true })).default([]),
  buzzer: bool().default(false),
  spi: bool().default(false),
  uart: list(str()).default([]),
  dht22: list(pin()).default([]),
  system_info: bool().default(false),
  state: bool().default(false),
});

/** The whole file: one table per plugin id. */
export const permissionsSchema = keyedTable(
  PLUGIN_ID,
  "plugin id",
  pluginPermissionsSchema,
  PLUGIN_ID_RULE,
);

/** Validated permissions, keyed by plugin id. */
export type Permissions = z.output<typeof permissionsSchema>;

/** What one plugin may be granted, in the broker's words. */
export interface Grant {
  /** I2C addresses. */
  i2c: number[];
  /** GPIO lines. */
  gpio: number[];
  /** LED indexes. */
  leds: number[];
  buzzer: boolean;
  spi: boolean;
  /** UART device paths. */
  uart: string[];
  /** GPIO pins with a DHT22. */
  dht22: number[];
  systemInfo: boolean;
  state: boolean;
}

/**
 * Validate parsed permissions TOML.
 *
 * @throws {ConfigError} naming file, key path and problem on one line
 */
export function parsePermissions(data: unknown, file: string): Permissions {
  return validate(permissionsSchema, data, file);
}

/**
 * Read and validate a permissions file.
 *
 * @param path file to read (named as given in errors)
 * @throws {ConfigError} when the file is missing, is not TOML, or is invalid
 */
export async function loadPermissions(path: string): Promise<Permissions> {
  return parsePermissions(await readToml(path), path);
}

/**
 * What plugin `id` may be granted; all empty / false for an id without a table.
 *
 * @example
 * ```ts
 * import { grantFor, parsePermissions } from "./permissions.ts";
 * const perms = parsePermissions({ oled: { allow_i2c: [0x3c] } }, "inline");
 * console.assert(grantFor(perms, "oled").i2c[0] === 0x3c && grantFor(perms, "x").i2c.length === 0);
 * ```
 */
export function grantFor(perms: Permissions, id: string): Grant {
  const p = Object.hasOwn(perms, id) ? perms[id] : undefined;
  return {
    i2c: [...(p?.allow_i2c ?? [])],
    gpio: [...(p?.allow_gpio ?? [])],
    leds: [...(p?.leds ?? [])],
    buzzer: p?.buzzer ?? false,
    spi: p?.spi ?? false,
    uart: [...(p?.uart ?? [])],
    dht22: [...(p?.dht22 ?? [])],
    systemInfo: p?.system_info ?? false,
    state: p?.state ?? false,
  };
}
