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
import { MemoryGuard } from "./memory_guard.ts";

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
  /** Time each tool run may take (default 60 s). */
  timeoutMs?: number;
  /** Resident memory each tool run may use in MiB (default 512). */
  memoryMb?: number;
  /** Aborting kills the tool runs (the host is stopping). */
  signal?: AbortSignal;
}

/** Limits of one resolver or bundler run. */
interface RunLimits {
  timeoutMs?: number;
  memoryMb?: number;
  signal?: AbortSignal;
}

/** Resolver/bundler runs at once in this process: a board does not bundle forty plugins at a time. */
const CONCURRENT_RUNS = 2;
let running = 0;
const queue: (() => void)[] = [];

/** Wait for a run slot (or the abort); returns the release function. */
async function slot(signal?: AbortSignal): Promise<() => void> {
  while (running >= CONCURRENT_RUNS) {
    if (signal?.aborted) throw new Error("the host is stopping");
    await new Promise<void>((resolve) => {
      const wake = () => {
        signal?.removeEventListener("abort", wake);
        const i = queue.indexOf(wake);
        if (i >= 0) queue.splice(i, 1);
        resolve();
      };
      queue.push(wake);
      signal?.addEventListener("abort", wake);
    });
  }
  running++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    running--;
    queue.shift()?.();
  };
}

/** Most bytes read from a tool's stdout (`deno info --json` of a plugin) and stderr. */
const MAX_TOOL_OUTPUT = 4 << 20;

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

/**
 * Run a Deno tool with a deadline, a resident-memory limit and bounded output.
 *
 * @throws {Error} `took longer than …`, `used more than … MB`, `wrote more than … bytes` or
 *   `the host is stopping` when the run was killed
 */
async function run(
  args: string[],
  cwd: string,
  limits: RunLimits = {},
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const timeoutMs = limits.timeoutMs ?? 60_000;
  const memoryMb = limits.memoryMb ?? 512;
  const release = await slot(limits.signal);
  try {
    return await runNow(args, cwd, timeoutMs, memoryMb, limits.signal);
  } finally {
    release();
  }
}

async function runNow(
  args: string[],
  cwd: string,
  timeoutMs: number,
  memoryMb: number,
  signal: AbortSignal | undefined,
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  if (signal?.aborted) throw new Error("the host is stopping");
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  }).spawn();
  let killed: string | undefined;
  const kill = (why: string) => {
    killed ??= why;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(() => kill(`took longer than ${timeoutMs} ms`), timeoutMs);
  const onAbort = () => kill("the host is stopping");
  signal?.addEventListener("abort", onAbort);
  const guard = new MemoryGuard(child.pid, {
    limitBytes: memoryMb * 1024 * 1024,
    onExceeded: () => kill(`used more than ${memoryMb} MB`),
  });
  try {
    const [stdout, stderr, status] = await Promise.all([
      readBounded(child.stdout, () => kill(`wrote more than ${MAX_TOOL_OUTPUT} bytes`)),
      readBounded(child.stderr, () => {}),
      child.status,
    ]);
    if (killed) throw new Error(killed);
    return { ok: status.success, stdout, stderr };
  } finally {
    clearTimeout(timer);
    guard.stop();
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Read a stream up to {@link MAX_TOOL_OUTPUT} bytes; past it, call `over` and discard the rest. */
async function readBounded(stream: ReadableStream<Uint8Array>, over: () => void): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size + chunk.length > MAX_TOOL_OUTPUT) {
      over();
      continue;
    }
    parts.push(chunk);
    size += chunk.length;
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new TextDecoder().decode(all);
}

/** Run a tool for a plugin; a killed run is that plugin's bundling error. */
async function runFor(id: string, args: string[], cwd: string, limits: RunLimits) {
  try {
    return await run(args, cwd, limits);
  } catch (e) {
    throw new PluginError(id, `Cannot bundle plugin "${id}": ${args[0]} ${(e as Error).message}`);
  }
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
  await checkGraph(id, dir, sdk, entry, input);
  const outDir = await Deno.makeTempDir({ prefix: "harvester-bundle-" });
  try {
    const out = join(outDir, "bundle.js");
    const r = await runFor(
      id,
      [
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
      ],
      dir,
      input,
    );
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

async function checkGraph(
  id: string,
  dir: string,
  sdk: string,
  entry: string,
  limits: RunLimits,
): Promise<void> {
  const r = await runFor(id, ["info", "--json", ...OFFLINE, entry], dir, limits);
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
