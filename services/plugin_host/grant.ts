/**
 * Grants: what config/permissions.toml allows a plugin, intersected with the world its
 * manifest imports. The broker checks every capability call against the resulting
 * {@link EffectiveGrant}; the sandbox only gets a copy to shape the plugin's context.
 *
 * @module
 */
import type { CapabilityName } from "../../plugins/sdk/mod.ts";

/** Permissions of one plugin, as `config/permissions.ts` `grantFor(perms, id)` returns them. */
export interface PluginGrant {
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
  /** GPIO lines a DHT22 may be read on. */
  dht22: number[];
  systemInfo: boolean;
  state: boolean;
}

/** A grant that allows nothing: the default for a plugin config does not mention. */
export function emptyGrant(): PluginGrant {
  return {
    i2c: [],
    gpio: [],
    leds: [],
    buzzer: false,
    spi: false,
    uart: [],
    dht22: [],
    systemInfo: false,
    state: false,
  };
}

/** Grant ∩ world: what a plugin may actually use, plus the world itself. */
export interface EffectiveGrant extends PluginGrant {
  /** Capabilities the manifest imports (they appear on the plugin's context). */
  world: CapabilityName[];
}

/**
 * Intersect a permission grant with a manifest's world imports.
 *
 * @param world capabilities the manifest imports
 * @param grant permissions from config, or undefined for none
 * @returns the effective grant; a capability outside the world is empty/false
 * @example
 * ```ts
 * import { effectiveGrant, emptyGrant } from "./grant.ts";
 * const g = effectiveGrant(["log"], { ...emptyGrant(), i2c: [0x77] });
 * console.assert(g.i2c.length === 0);
 * ```
 */
export function effectiveGrant(
  world: readonly CapabilityName[],
  grant: PluginGrant | undefined,
): EffectiveGrant {
  const g = grant ?? emptyGrant();
  const has = (c: CapabilityName) => world.includes(c);
  return {
    world: [...world],
    i2c: has("i2c") ? [...g.i2c] : [],
    gpio: has("gpio") ? [...g.gpio] : [],
    leds: has("led") ? [...g.leds] : [],
    buzzer: has("buzzer") && g.buzzer,
    spi: has("spi") && g.spi,
    uart: has("uart") ? [...g.uart] : [],
    dht22: has("dht22") ? [...g.dht22] : [],
    systemInfo: has("system-info") && g.systemInfo,
    state: has("state") && g.state,
  };
}
