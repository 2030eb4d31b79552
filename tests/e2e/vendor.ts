/**
 * Copies the socket.io browser client from the npm package `socket.io-client@4.8.4` (as cached by
 * Deno) into `services/hub/dashboard/vendor/`, so the dashboard works offline and loads nothing
 * from a CDN. The copied files are committed; run this again only to change the version.
 *
 *     deno run --allow-all tests/e2e/vendor.ts
 *
 * @module
 */
import { copyFile, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";

const PACKAGE = "socket.io-client";
const VERSION = "4.8.4";
const FILES = ["dist/socket.io.esm.min.js", "dist/socket.io.esm.min.js.map", "LICENSE"];
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
const pkgDir = join(info.npmCache, "registry.npmjs.org", PACKAGE, VERSION);
if (!(await exists(join(pkgDir, FILES[0])))) {
  await deno("cache", `npm:${PACKAGE}@${VERSION}`);
}
await mkdir(DEST, { recursive: true });
for (const file of FILES) {
  const target = join(DEST, file === "LICENSE" ? "socket.io-client.LICENSE" : file.split("/").pop()!);
  await copyFile(join(pkgDir, file), target);
  console.log(`copied ${PACKAGE}@${VERSION}/${file} -> ${target}`);
}
