/**
 * Reading and validating `plugins/<id>/manifest.json`.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { CAPABILITY_NAMES, PLUGIN_ID, PLUGIN_ID_RULE } from "../../plugins/sdk/mod.ts";
import type { PluginManifest } from "../../plugins/sdk/mod.ts";
import { PluginError } from "./errors.ts";

export { PLUGIN_ID };

const ManifestSchema = z.object({
  id: z.string().regex(PLUGIN_ID, `must be ${PLUGIN_ID_RULE}`),
  version: z.string().min(1),
  main: z.string().regex(
    /^(?!\/)(?!.*\.\.)[\w./-]+\.(ts|js|mts|mjs)$/,
    "must be a relative .ts/.js path inside the folder",
  )
    .optional(),
  world: z.object({
    imports: z.array(z.enum(CAPABILITY_NAMES as [string, ...string[]])),
    exports: z.array(z.enum(["poll", "update", "render", "onEvent"])),
  }),
  cadence_seconds: z.number().positive(),
  priority: z.number().min(0).max(1),
  depends_on: z.array(z.string()).optional(),
  deadline_ms: z.number().int().positive().optional(),
  description: z.string().optional(),
});

/**
 * Read and validate one plugin's manifest; its `id` must match the folder name.
 *
 * @param dir the plugin folder
 * @param id the folder name
 * @returns the manifest
 * @throws {PluginError} naming the file, the key and the problem
 */
export async function readManifest(dir: string, id: string): Promise<PluginManifest> {
  const file = join(dir, "manifest.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new PluginError(id, `Cannot read manifest of plugin "${id}": ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PluginError(
      id,
      `Cannot read manifest of plugin "${id}": ${file}: ${
        issue.path.join(".") || "(root)"
      }: ${issue.message}`,
    );
  }
  if (parsed.data.id !== id) {
    throw new PluginError(
      id,
      `Cannot read manifest of plugin "${id}": ${file}: id: must equal the folder name "${id}", got "${parsed.data.id}"`,
    );
  }
  return parsed.data as PluginManifest;
}
