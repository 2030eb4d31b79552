/**
 * Copies the dashboard's browser libraries from their npm packages (as cached by Deno) into
 * `services/hub/dashboard/vendor/`: the socket.io client (`socket.io-client@4.8.4`) and uPlot
 * (`uplot@1.6.32`, the history charts), so the dashboard works offline and loads nothing from a
 * CDN. The copied files are committed; run this again only to change a version.
 *
 *     deno run --allow-all tests/e2e/vendor.ts
 *
 * @module
 */
import { copyFile, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";

const PACKAGES: { name: string; version: string; files: string[] }[] = [
  {
    name: "socket.io-client",
    version: "4.8.4",
    files: ["dist/socket.io.esm.min.js", "dist/socket.io.esm.min.js.map", "LICENSE"],
  },
  { name: "uplot", version: "1.6.32", files: ["dist/uPlot.esm.js", "dist/uPlot.min.css", "LICENSE"] },
];
const DEST = new URL("../../services/hub/dashboard/vendor/", import.meta.url).pathname;

/** Runs `deno` with the given arguments and returns its stdout. */
async function deno(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`Cannot run "deno ${args.join(" ")}": ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

const info = JSON.parse(await deno("info", "--json")) as { npmCache: string };
await mkdir(DEST, { recursive: true });
for (const { name, version, files } of PACKAGES) {
  const pkgDir = join(info.npmCache, "registry.npmjs.org", name, version);
  if (!(await exists(join(pkgDir, files[0])))) await deno("cache", `npm:${name}@${version}`);
  for (const file of files) {
    const target = join(DEST, file === "LICENSE" ? `${name}.LICENSE` : file.split("/").pop()!);
    await copyFile(join(pkgDir, file), target);
    console.log(`copied ${name}@${version}/${file} -> ${target}`);
  }
}
