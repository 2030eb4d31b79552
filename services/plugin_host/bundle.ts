/**
 * Build the only code a sandbox ever receives for a plugin: resolve its module graph with
 * `deno info` (nothing is run), refuse every module outside the plugin's own folder and the
 * SDK, bundle with `deno bundle`, then check the result with {@link verifyBundle}.
 *
 * @module
 */
import { dirname, join, relative, resolve, sep as SEPARATOR } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { PluginError } from "./errors.ts";
import { verifyBundle } from "./verify.ts";

/** Where a plugin lives and what it may import. */
export interface BundleInput {
  /** Plugin id (for messages). */
  id: string;
  /** The plugin's folder. */
  dir: string;
  /** Entry module relative to `dir` (manifest `main`, default `mod.ts`). */
  main: string;
  /** The SDK folder, the only place outside `dir` a plugin may import from. */
  sdkDir: string;
}

/** Flags that keep the resolver and bundler from loading anything but local files. */
const OFFLINE = ["--no-remote", "--no-npm", "--no-config", "--no-lock"];

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}

interface InfoModule {
  specifier: string;
  error?: string;
  dependencies?: InfoDependency[];
}

async function run(args: string[], cwd: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(SEPARATOR) ? root : root + SEPARATOR);
}

async function realOrSelf(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

/** Check one import edge; returns a refusal reason or undefined. */
async function refusal(dep: InfoDependency, roots: string[]): Promise<string | undefined> {
  const spec = dep.specifier;
  if (/^(npm|jsr|node):/.test(spec)) return `npm:, jsr: and node: specifiers are not allowed`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) && !spec.startsWith("file:")) {
    return "remote imports are not allowed";
  }
  if (dep.isDynamic) return "dynamic import() is not allowed";
  if (spec.startsWith("/") || spec.startsWith("file:")) return "absolute paths are not allowed";
  const target = dep.code?.specifier;
  if (!target || !target.startsWith("file:")) return "it does not resolve to a local file";
  const real = await realOrSelf(fromFileUrl(target));
  if (!roots.some((r) => inside(real, r))) return "it is outside the plugin folder and the SDK";
  return undefined;
}

/**
 * Resolve, check and bundle a plugin.
 *
 * @param input plugin folder, entry and SDK folder
 * @returns the bundled ES module source
 * @throws {PluginError} naming file and specifier for any refused import, or the bundler's error
 */
export async function bundlePlugin(input: BundleInput): Promise<string> {
  const { id } = input;
  const dir = await realOrSelf(resolve(input.dir));
  const sdk = await realOrSelf(resolve(input.sdkDir));
  const entry = resolve(dir, input.main);
  if (!inside(entry, dir)) {
    throw new PluginError(
      id,
      `Cannot bundle plugin "${id}": main "${input.main}" is outside the plugin folder`,
    );
  }
  const realEntry = await realOrSelf(entry);
  if (!inside(realEntry, dir)) {
    throw new PluginError(
      id,
      `Cannot bundle plugin "${id}": main "${input.main}" is outside the plugin folder`,
    );
  }
  await checkGraph(id, dir, sdk, entry);
  const outDir = await Deno.makeTempDir({ prefix: "harvester-bundle-" });
  try {
    const out = join(outDir, "bundle.js");
    const r = await run([
      "bundle",
      "--quiet",
      ...OFFLINE,
      "--platform",
      "deno",
      "--format",
      "esm",
      "-o",
      out,
      entry,
    ], dir);
    if (!r.ok) {
      throw new PluginError(id, `Cannot bundle plugin "${id}": ${firstLines(r.stderr, dir)}`);
    }
    const code = await Deno.readTextFile(out);
    verifyBundle(id, code);
    return code;
  } finally {
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
}

async function checkGraph(id: string, dir: string, sdk: string, entry: string): Promise<void> {
  const r = await run(["info", "--json", ...OFFLINE, entry], dir);
  if (!r.ok) throw new PluginError(id, `Cannot resolve plugin "${id}": ${firstLines(r.stderr, dir)}`);
  const graph = JSON.parse(r.stdout) as { modules: InfoModule[] };
  const roots = [dir, sdk];
  for (const mod of graph.modules) {
    if (!mod.specifier.startsWith("file:")) continue;
    const file = fromFileUrl(mod.specifier);
    if (!roots.some((root) => inside(file, root))) continue; // refused by the edge that led here
    const name = inside(file, dir) ? relative(dir, file) : `sdk/${relative(sdk, file)}`;
    for (const dep of mod.dependencies ?? []) {
      const why = await refusal(dep, roots);
      if (why) {
        throw new PluginError(id, `Cannot bundle plugin "${id}": ${name} imports "${dep.specifier}": ${why}`);
      }
    }
    if (mod.error) {
      throw new PluginError(id, `Cannot bundle plugin "${id}": ${name}: ${mod.error.slice(0, 500)}`);
    }
  }
}

/** The bundler's message, short, with absolute paths made relative to the plugin folder. */
function firstLines(stderr: string, dir: string): string {
  return stderr.replaceAll(dirname(dir) + SEPARATOR, "").trim().split("\n").slice(0, 3).join(" ").slice(
    0,
    500,
  );
}

let bootstrap: Promise<string> | undefined;

/**
 * The worker bootstrap (worker_bootstrap.ts with the SDK), bundled once per broker process.
 *
 * @returns the bundled bootstrap module source
 * @throws {PluginError} when it cannot be bundled
 */
export function bootstrapBundle(): Promise<string> {
  bootstrap ??= (async () => {
    const entry = fromFileUrl(new URL("./worker_bootstrap.ts", import.meta.url));
    const outDir = await Deno.makeTempDir({ prefix: "harvester-bootstrap-" });
    try {
      const out = join(outDir, "bootstrap.js");
      const r = await run(
        ["bundle", "--quiet", ...OFFLINE, "--platform", "deno", "--format", "esm", "-o", out, entry],
        dirname(entry),
      );
      if (!r.ok) {
        throw new PluginError("(host)", `Cannot bundle the worker bootstrap: ${r.stderr.slice(0, 500)}`);
      }
      return await Deno.readTextFile(out);
    } finally {
      await Deno.remove(outDir, { recursive: true }).catch(() => {});
    }
  })();
  bootstrap.catch(() => (bootstrap = undefined));
  return bootstrap;
}
