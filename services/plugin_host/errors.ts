/**
 * The plugin runtime's own error: a plugin that cannot be loaded, bundled or called.
 *
 * @module
 */

/**
 * A plugin-level failure worded for a person, e.g.
 * `Cannot bundle plugin "evil": mod.ts imports "../secret.json", which is outside the plugin folder`.
 *
 * @example
 * ```ts
 * import { PluginError } from "./errors.ts";
 * const e = new PluginError("evil", 'Cannot load plugin "evil": no manifest.json');
 * console.assert(e.plugin === "evil");
 * ```
 */
export class PluginError extends Error {
  override name = "PluginError";
  /** Id of the plugin the error is about. */
  readonly plugin: string;

  /**
   * @param plugin plugin id
   * @param message `Cannot <action>: <state>`
   * @param options cause
   */
  constructor(plugin: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.plugin = plugin;
  }
}

/**
 * A call or load that ended because a neighbour in the plugin's pooled worker failed and the
 * worker was restarted: the plugin is reloaded, and not counted as failing.
 */
export class EvictedError extends PluginError {
  override name = "EvictedError";
}
